"""Claim features at ingest: the extraction stage (``index.intel``) over a window's passages.

:func:`extract_window` parses every passage of a window of planned articles in ONE ``nlp.pipe`` and
returns one ``ClaimFeatures`` per passage (check-worthiness left None: it needs the vectors);
:class:`Beside` runs it in a thread while the window is embedded (spaCy and torch both release the
GIL in their kernels). :func:`score_checkworthy` adds the check-worthiness from the passages' vectors
when the index's model is the one its weights were trained on. The catalog stores the result
(``claim_features`` and ``passage_entities``, keyed by passage id).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from index.intel.records import PLACE_LABELS, ClaimFeatures

# Whether ingest and reindex extract when the caller does not say (``extract=None``). The unit test tier
# turns it off: spaCy imports torch, which that tier forbids (tests/unit/conftest.py).
DEFAULT = True


def enabled(extract: bool | None) -> bool:
    """``extract``, or ``DEFAULT`` when None."""
    return DEFAULT if extract is None else bool(extract)


# an entity label -> its facet class (gazetteer classes other than ``base`` are weapons and units)
_CLASSES = {"PERSON": "person", "ORG": "org", "NORP": "nationality", **dict.fromkeys(PLACE_LABELS, "place")}


def entity_class(label: str) -> str:
    """``person``, ``org``, ``nationality``, ``place`` (GPE, LOC, FAC, gazetteer bases) or ``weapon``
    (every other gazetteer class: aircraft, missile, tank, ship, unit...)."""
    return _CLASSES.get(label, "weapon")


def extract_window(
    items: Sequence[tuple[Sequence, str, object]], batch_size: int = 64
) -> list[list[ClaimFeatures]]:
    """Claim features of several articles' passages, all parsed in one ``nlp.pipe``.

    Args:
        items: ``(passages, article text, article date)`` per article (passages with ``start``, ``end``,
            ``text`` into the article text).
    Returns:
        Per article, one ``ClaimFeatures`` per passage in order (``checkworthy`` None).
    """
    from index.intel.pipeline import extract, parse_for_claims

    texts = [p.text for passages, _, _ in items for p in passages]
    docs = parse_for_claims(texts, batch_size=batch_size) if texts else []
    out, k = [], 0
    for passages, text, date in items:
        n = len(passages)
        out.append(extract(passages, text, date, embedder=False, docs=docs[k : k + n]) if n else [])
        k += n
    return out


def checkworthy_applies(model_name: str) -> bool:
    """Whether the shipped check-worthiness weights fit vectors of ``model_name``."""
    from index.intel.checkworthy import load_model

    return load_model().get("embedding_model") == model_name


def score_checkworthy(features: Sequence[ClaimFeatures], texts: Sequence[str], vectors: np.ndarray) -> None:
    """Set ``checkworthy`` (rounded to 4 places) from the passages' ``(n, 384)`` MiniLM vectors, in place."""
    if not features:
        return
    from index.intel.checkworthy import score

    for f, s in zip(features, score(list(texts), vectors), strict=True):
        f.checkworthy = round(float(s), 4)


class Beside:
    """One background thread that extracts a window while the caller embeds it."""

    def __init__(self):
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="claims-extract")

    def submit(self, items: Sequence[tuple[Sequence, str, object]]) -> Future:
        return self.pool.submit(extract_window, items)

    def close(self) -> None:
        self.pool.shutdown(wait=True)
