"""The dense leg: cosine top-k from the FAISS store, passage and article-field vectors folded per passage."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

Run = list[tuple[int, float]]


def semantic_run(
    searcher, vector: np.ndarray, depth: int, allowed: set[int] | None, floor: float | None = None
) -> Run:
    """Top ``depth`` passages by cosine, best first, among ``allowed`` passage ids (None: all).

    A match on an article field vector (``--embed-field``) scores the article's first passage; each
    passage keeps its best score. ``floor``: candidates below this cosine are dropped (the minimum
    similarity of a semantic hit, ``search.options.semantic_floor``).
    """
    from index.ids import FIELD_SHIFT, PID_MASK, field_vector_id

    n_fields = len(searcher.manifest.embed_fields)
    if allowed is not None and n_fields:
        allowed = allowed | {field_vector_id(p, f) for p in allowed for f in range(1, n_fields + 1)}
    raw = searcher.dense.search(vector, depth * (1 + n_fields), allowed=allowed)
    best: dict[int, float] = {}
    for i, score in raw:
        pid = i & PID_MASK if i >> FIELD_SHIFT else i
        if score > best.get(pid, -2.0):
            best[pid] = score
    run = sorted(best.items(), key=lambda x: (-x[1], x[0]))[:depth]
    if floor is not None:
        run = [(i, s) for i, s in run if s >= floor]
    return run


def cosines(searcher, vector: np.ndarray, pids: Iterable[int]) -> dict[int, float]:
    """The cosine of ``vector`` with each passage of ``pids`` (its best over its field vectors)."""
    pids = set(pids)
    if not pids:
        return {}
    return dict(semantic_run(searcher, vector, len(pids), pids))
