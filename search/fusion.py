"""Rank fusion of keyword (BM25) and semantic (dense) result lists: pure functions.

A *run* is a sequence of ``(doc_id, score)`` pairs, best first; doc ids are hashable and orderable
(passage ids in practice). Every function returns a new list sorted by ``(-score, doc_id)``, so ties
are broken by id and the output never depends on dict or set order (Pyserini's ``output_writer``
does the same). Each input run is put in that order, de-duplicated (a doc keeps its first, best
entry) and cut to ``depth`` before it is fused. Sums use ``math.fsum``, which is exactly rounded, so
the fused scores do not depend on the order in which the runs are given either.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Hashable, Iterable, Mapping, Sequence

Run = Sequence[tuple[Hashable, float]]
Ranked = list[tuple[Hashable, float]]

FUSION_METHODS = ("rrf", "convex")
# The date leg (``date_leg``): half weight at AROUND_DAYS days away, fused with weight AROUND_WEIGHT
# (keyword 0.4 + semantic 0.6 = 1). Chosen together on CheckThat! 2A + 2B train (README "Hybrid ranking").
AROUND_DAYS = 10.0
AROUND_WEIGHT = 0.3
NORMALIZATIONS = ("minmax", "zscore")


def sort_run(pairs: Run) -> Ranked:
    """Sort pairs by ``(-score, doc_id)``: best first, ties by ascending id.

    Args:
        pairs: ``(doc_id, score)`` pairs in any order.

    Returns:
        A new list of ``(doc_id, float(score))``.
    """
    return sorted(((d, float(s)) for d, s in pairs), key=lambda p: (-p[1], p[0]))


def _prepare(run: Run, depth: int | None) -> Ranked:
    """``sort_run``, keep each doc's first entry, then cut to ``depth``."""
    seen: set[Hashable] = set()
    out = []
    for d, s in sort_run(run):
        if d not in seen:
            seen.add(d)
            out.append((d, s))
    return out if depth is None else out[:depth]


def _check(runs: Sequence[Run], weights: Sequence[float] | None, depth: int | None) -> list[float]:
    """Validate the common arguments; return the weights (all 1.0 when None)."""
    if depth is not None and depth < 0:
        raise ValueError(f"depth must be >= 0 or None, got {depth}")
    if weights is None:
        return [1.0] * len(runs)
    if len(weights) != len(runs):
        raise ValueError(f"got {len(weights)} weights for {len(runs)} runs")
    if not all(math.isfinite(w) and w >= 0 for w in weights):
        raise ValueError(f"weights must be finite and >= 0, got {list(weights)}")
    return [float(w) for w in weights]


def rrf(
    runs: Sequence[Run], k: float = 60.0, weights: Sequence[float] | None = None, depth: int | None = None
) -> Ranked:
    """Reciprocal rank fusion.

    Cormack, Clarke & Buettcher, "Reciprocal Rank Fusion outperforms Condorcet and individual Rank
    Learning Methods", SIGIR 2009, with an optional weight per run::

        score(d) = sum_i w_i / (k + rank_i(d))

    ``rank_i(d)`` is the 1-based rank of ``d`` in run ``i`` after ``sort_run`` (for a best-first run
    this only orders ties by id). A document missing from run ``i`` gets nothing from it. A run with
    weight 0 is ignored entirely: documents found only by it are not returned.

    Args:
        runs: The runs to fuse, each best first.
        k: The smoothing constant (60 in the paper); must be >= 0.
        weights: One weight >= 0 per run; None means all 1.
        depth: Cut each run to its first ``depth`` documents before fusion; None keeps all.

    Returns:
        ``(doc_id, fused score)`` sorted by ``(-score, doc_id)``.

    Raises:
        ValueError: On a negative ``k`` or ``depth``, or bad weights.
    """
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    parts: dict[Hashable, list[float]] = {}
    for run, w in zip(runs, _check(runs, weights, depth), strict=True):
        if w == 0:
            continue
        for rank, (d, _) in enumerate(_prepare(run, depth), start=1):
            parts.setdefault(d, []).append(w / (k + rank))
    return sort_run((d, math.fsum(p)) for d, p in parts.items())


def normalize(run: Run, method: str = "minmax") -> Ranked:
    """Rescale one run's scores (Bruch, Gai & Ingber, "An Analysis of Fusion Functions for Hybrid
    Retrieval", ACM TOIS 2023).

    * ``"minmax"``: ``(s - min) / (max - min)``, in [0, 1]. When ``max == min`` every score is 1.0:
      the documents of a non-empty run are then all equally good.
    * ``"zscore"``: ``(s - mean) / std`` with the population standard deviation; 0.0 when std is 0.
    * ``"none"``: scores unchanged.

    Args:
        run: ``(doc_id, score)`` pairs.
        method: One of ``NORMALIZATIONS`` or ``"none"``.

    Returns:
        ``(doc_id, normalised score)`` sorted by ``(-score, doc_id)``.

    Raises:
        ValueError: On an unknown method or a non-finite score.
    """
    if method not in (*NORMALIZATIONS, "none"):
        raise ValueError(
            f"unknown normalization {method!r}; choose one of: {', '.join(NORMALIZATIONS)}, none"
        )
    pairs = sort_run(run)
    scores = [s for _, s in pairs]
    if not all(math.isfinite(s) for s in scores):
        raise ValueError("cannot normalise a run with non-finite scores")
    if not pairs or method == "none":
        return pairs
    if method == "minmax":
        lo, hi = scores[-1], scores[0]
        return [(d, (s - lo) / (hi - lo) if hi > lo else 1.0) for d, s in pairs]
    mean = math.fsum(scores) / len(scores)
    std = math.sqrt(math.fsum((s - mean) ** 2 for s in scores) / len(scores))
    return sort_run((d, (s - mean) / std if std > 0 else 0.0) for d, s in pairs)


def convex(
    runs: Sequence[Run], weights: Sequence[float], norm: str = "minmax", depth: int | None = None
) -> Ranked:
    """Convex combination of normalised scores.

    Bruch, Gai & Ingber, "An Analysis of Fusion Functions for Hybrid Retrieval", ACM TOIS 2023
    (the hybrid scoring of txtai)::

        score(d) = sum_i w_i * norm_i(d)

    Missing documents: every document a run retrieved must outrank, in that run, the documents it did
    not, however few it retrieved. A document absent from run ``i`` gets:

    * minmax: 0, the lowest candidate's score; when ``max == min`` (one candidate, or all tied) every
      candidate scores 1.0, so a lone hit still counts fully;
    * zscore: the run's lowest z minus ``1 / n``, ``n`` the run's candidates. With one candidate (or
      all tied: std 0) every candidate's z is 0 and the missing documents get -1; with two, z = +1
      and -1 against -1.5; at depth 100 the floor is 0.01 below the lowest candidate, next to
      Pyserini's rule (the run's minimum), which tied the lowest candidate with the missing documents
      and, with std 0, made a lone hit count for nothing: every fused score was the other legs'
      alone. Measured on CheckThat! 2A dev: MAP@5 unchanged (0.8853); a full standard deviation
      below the lowest instead cost 0.0015 (README "Hybrid ranking").
    * ``"none"``: the lowest raw score (Pyserini's rule).

    An empty run adds nothing. A run with weight 0 is
    ignored entirely, so weights ``(1, 0)`` return run 0's documents in run 0's order. Weights need
    not sum to 1; scaling them all changes the scores, not the order.

    Args:
        runs: The runs to fuse, each best first.
        weights: One weight >= 0 per run.
        norm: The per-run normalisation, see ``normalize``.
        depth: Cut each run to its first ``depth`` documents before normalising; None keeps all.

    Returns:
        ``(doc_id, fused score)`` sorted by ``(-score, doc_id)``.

    Raises:
        ValueError: On bad weights, a negative depth, an unknown ``norm`` or non-finite scores.
    """
    used = [
        (dict(normalize(_prepare(run, depth), norm)), w)
        for run, w in zip(runs, _check(runs, weights, depth), strict=True)
        if w > 0
    ]
    docs = {d for scores, _ in used for d in scores}
    floor = [_floor(scores.values(), norm) for scores, _ in used]
    return sort_run(
        (d, math.fsum(w * scores.get(d, lo) for (scores, w), lo in zip(used, floor, strict=True)))
        for d in docs
    )


def _floor(scores: Iterable[float], norm: str) -> float:
    """The normalised score ``convex`` gives a document a run did not retrieve (see there)."""
    scores = list(scores)
    if norm == "minmax" or not scores:  # an empty run adds nothing
        return 0.0
    lowest = min(scores)
    return lowest - 1.0 / len(scores) if norm == "zscore" else lowest


def fuse(runs: Sequence[Run], method: str = "rrf", **params) -> Ranked:
    """Fuse runs with the named method.

    Args:
        runs: The runs to fuse, each best first.
        method: ``"rrf"`` (see ``rrf``) or ``"convex"`` (see ``convex``).
        **params: Keyword arguments of that function (``k``, ``weights``, ``norm``, ``depth``).

    Returns:
        ``(doc_id, fused score)`` sorted by ``(-score, doc_id)``.

    Raises:
        ValueError: On an unknown method (the message lists ``FUSION_METHODS``).
    """
    if method == "rrf":
        return rrf(runs, **params)
    if method == "convex":
        return convex(runs, **params)
    raise ValueError(f"unknown fusion method {method!r}; choose one of: {', '.join(FUSION_METHODS)}")


def date_leg(
    candidates: Iterable[Hashable],
    dates: Mapping[Hashable, str | None],
    around: dt.date,
    days: float = AROUND_DAYS,
) -> Ranked:
    """A date-proximity run over ``candidates``: ``1 / (1 + |date - around| / days)``.

    Fact-checks and reports of a claim cluster around when it was made (CheckThat! train: 38 % of the
    PolitiFact checks of a debate sentence are dated within a day of the debate, 73 % of the Snopes checks
    of a tweet within a week; ``bench/checkthat_dates.py``), so the day a claim was
    said is evidence of which earlier claim it repeats. A time prior in the spirit of Li & Croft,
    "Time-based language models" (CIKM 2003), fused as a third leg rather than multiplied in, so its
    weight is explicit and ``--explain`` shows it. Hyperbolic rather than exponential decay: chosen on
    CheckThat! 2A + 2B train (README "Hybrid ranking"), it keeps a little weight months away.

    Args:
        candidates: The doc ids to score (the other legs' candidates).
        dates: ``doc_id -> ISO date`` (``YYYY-MM-DD...``); ids without a usable date are left out, so
            the fusion's missing-leg rule gives them the leg's minimum.
        around: The day the query's claim was made.
        days: The half-weight distance in days (score 0.5 at ``days`` days away).

    Returns:
        ``(doc_id, score)`` sorted by ``(-score, doc_id)``.
    """
    if days <= 0:
        raise ValueError(f"days must be > 0, got {days}")
    out = []
    for d in candidates:
        value = dates.get(d)
        try:
            when = dt.date.fromisoformat(value[:10]) if value else None
        except ValueError:
            when = None
        if when is not None:
            out.append((d, 1.0 / (1.0 + abs((when - around).days) / days)))
    return sort_run(out)
