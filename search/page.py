"""Page assembly: a fused ranking -> the ``Hit`` rows of one page (grouping, clusters, highlights, explain).

Catalog rows are read only for the page shown, or for every candidate when rows must be grouped by
article or clustered (both need every candidate's row).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from search.hits import Hit
from search.options import SearchOptions, described, semantic_floor
from search.ranker import answered_by

Run = list[tuple[int, float]]


@dataclass
class SearchResult:
    """One page of hits, best first, (with ``opts.explain``) how they were ranked, and notes for the
    user (e.g. why ``--around auto`` found no date)."""

    hits: list[Hit]
    explain: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _hit(pid: int, score: float, row: dict[str, Any], runs: dict[str, Run], leg_rank, leg_score) -> Hit:
    return Hit(
        passage_id=pid,
        article_id=row["article_id"],
        score=float(score),
        scores={leg: leg_score[leg][pid] for leg in runs if pid in leg_score[leg]},
        ranks={leg: leg_rank[leg][pid] for leg in runs if pid in leg_rank[leg]},
        text=row["text"],
        title=row["title"],
        date=row["date"],
        source=row["source"],
        url=row["url"],
        start=row["start"],
        end=row["end"],
        metadata=row["metadata"],
    )


def assemble(
    searcher, fused: Run, runs: dict[str, Run], opts: SearchOptions, q, vector, query_text: str, depth: int
) -> SearchResult:
    """The page ``opts.offset : opts.offset + opts.limit`` of ``fused`` as ``Hit`` records.

    Args:
        searcher: The ``Searcher`` (catalog rows, vectors for clustering).
        fused: The fused ranking, best first; ``runs``: each leg's run, best first.
        opts: The (validated, resolved) options.
        q, vector, query_text: The parsed keyword query (or None), the query vector (or None) and the
            text searched: for highlights and ``--explain``.
        depth: The depth each leg was fetched to (shown by ``--explain``).
    """
    want = opts.offset + opts.limit
    whole = bool(opts.cluster or opts.group_by == "article")
    chosen = fused if whole else fused[opts.offset : want]
    rows = searcher.catalog.passages(i for i, _ in chosen)
    leg_rank = {leg: {i: r for r, (i, _) in enumerate(run, 1)} for leg, run in runs.items()}
    leg_score = {leg: dict(run) for leg, run in runs.items()}
    hits = [_hit(pid, score, rows[pid], runs, leg_rank, leg_score) for pid, score in chosen if pid in rows]
    if opts.group_by == "article":
        seen: set[str] = set()
        hits = [h for h in hits if not (h.article_id in seen or seen.add(h.article_id))]
    if opts.cluster:
        from search.clusters import cluster_hits

        vectors = None
        if vector is not None and hits:
            ids = np.array([h.passage_id for h in hits], dtype=np.int64)
            vectors = dict(zip(ids.tolist(), searcher.dense.reconstruct(ids), strict=True))
        hits = cluster_hits(hits, vectors, threshold=opts.cluster_threshold)
    if whole:
        hits = hits[opts.offset : want]
    # the page's rows only (and, clustered, their members': conflicting details)
    members = {m["passage_id"] for h in hits if h.cluster for m in h.cluster["members"]}
    features = searcher.catalog.features({h.passage_id for h in hits} | members)
    for h in hits:
        h.set_features(features.get(h.passage_id))
    if opts.cluster:
        from search.clusters import flag_conflicts

        flag_conflicts(hits, features)
    for rank, h in enumerate(hits, opts.offset + 1):
        h.rank = rank
    from search.highlight import Highlighter

    highlighter = Highlighter(q, query_text)
    for h in hits:
        h.highlights = highlighter(h.text)
    explain: dict[str, Any] = {}
    if opts.explain:
        explain = {
            "mode": opts.mode,
            "query": repr(q) if q is not None else None,
            **described(opts, list(runs)),
            "around": opts.around,
            "depth": depth,
            "min_similarity": semantic_floor(opts) if vector is not None else None,
            "threshold": opts.threshold,
            "filter": opts.filters.describe(searcher.schema, searcher.manifest.metadata_fields)
            if opts.filters
            else None,
            "candidates": {leg: len(run) for leg, run in runs.items()},
            **answered_by(searcher, list(runs)),
        }
    return SearchResult(hits=hits, explain=explain)
