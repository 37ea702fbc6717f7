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

__all__ = ["EXTRACTOR_VERSION", "ClaimFeatures", "PassageLike", "extract"]

# What the stored claim features were made by, recorded in the manifest (``Manifest.extractor``): bump
# it whenever extraction stores something different for the same text, so an index extracted by an
# older version is told to re-extract (``claims reindex``), as a model change is. 2: canonical speaker
# and organisation names (``index.intel.names``); 3: death tolls named earlier in the sentence are
# casualties, a year before words and a noun ("Feb 2015 Suicide bomber") is no count.
EXTRACTOR_VERSION = "3"


def extract(*args, **kwargs):
    """See :func:`index.intel.pipeline.extract`."""
    from index.intel.pipeline import extract as _extract

    return _extract(*args, **kwargs)
