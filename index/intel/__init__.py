"""Claim intelligence, the extraction stage: who said it (speaker, cue, mode, hedging), what it names
(entities with a military gazetteer in front of spaCy's NER), its numbers and event dates, and whether
it is worth checking.

One entry point, :func:`extract` (``index.intel.pipeline.extract``): passages of one article ->
one :class:`~index.intel.records.ClaimFeatures` per passage. spaCy and the embedding model load
lazily on the first call, so importing this package costs nothing. Not yet wired into ingest, the
catalog, search filters or facets.
"""

from __future__ import annotations

from index.intel.records import ClaimFeatures, PassageLike

__all__ = ["ClaimFeatures", "PassageLike", "extract"]


def extract(*args, **kwargs):
    """See :func:`index.intel.pipeline.extract`."""
    from index.intel.pipeline import extract as _extract

    return _extract(*args, **kwargs)
