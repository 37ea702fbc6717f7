"""Tests of search.fusion: golden runs checked against an independent reference, and properties."""

from __future__ import annotations

import statistics
from collections import defaultdict
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from search.fusion import FUSION_METHODS, NORMALIZATIONS, convex, fuse, normalize, rrf, sort_run

GOLDEN = Path(__file__).parent / "golden"
INPUTS = ("bm25.run", "dense.run", "title.run")
CASES = {  # expected file -> fuse() arguments
    "rrf_k60.expected": dict(method="rrf", k=60.0),
    "rrf_weighted.expected": dict(method="rrf", k=60.0, weights=(0.7, 0.3, 1.0)),
    "convex_minmax.expected": dict(method="convex", weights=(0.5, 0.3, 0.2), norm="minmax"),
    "convex_zscore.expected": dict(method="convex", weights=(0.6, 0.4, 0.0), norm="zscore"),
}


def read_trec(path: Path) -> dict[str, list[tuple[int, float]]]:
    """``qid Q0 docid rank score tag`` lines (``#`` comments skipped) -> ``{qid: [(docid, score)]}``."""
    run: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            qid, _, doc, _, score, _ = line.split()
            run[qid].append((int(doc), float(score)))
    return run


def golden_inputs() -> dict[str, list[list[tuple[int, float]]]]:
    """``{qid: [bm25 run, dense run, title run]}``; a query a file lacks gets an empty run."""
    runs = [read_trec(GOLDEN / name) for name in INPUTS]
    return {q: [r.get(q, []) for r in runs] for q in sorted(set().union(*runs))}


# ---- independent reference: exact fractions, the formulas written out once more -----------------


def ref_order(run):
    return sorted(run, key=lambda p: (-p[1], p[0]))


def ref_rrf(runs, k, weights=None):
    total = defaultdict(Fraction)
    for run, w in zip(runs, weights or [1] * len(runs), strict=True):
        if not w:
            continue
        for rank, (doc, _) in enumerate(ref_order(run), start=1):
            total[doc] += Fraction(str(w)) / (Fraction(str(k)) + rank)
    return ref_order([(d, float(s)) for d, s in total.items()])


def ref_convex(runs, weights, norm):
    legs = []
    for run, w in zip(runs, weights, strict=True):
        if not w or not run:
            continue
        raw = {d: Fraction(str(s)) for d, s in run}
        if norm == "minmax":
            lo, hi = min(raw.values()), max(raw.values())
            legs.append((w, {d: (s - lo) / (hi - lo) if hi > lo else 1 for d, s in raw.items()}, 0))
        else:
            mu, sd = statistics.mean(raw.values()), statistics.pstdev([float(s) for s in raw.values()])
            z = {d: float(s - mu) / sd if sd else 0.0 for d, s in raw.items()}
            legs.append((w, z, min(z.values()) - Fraction(1, len(z))))  # missing: 1/n below the lowest
    docs = {d for _, scores, _ in legs for d in scores}
    fused = [(d, sum(Fraction(str(w)) * Fraction(s.get(d, lo)) for w, s, lo in legs)) for d in docs]
    return ref_order([(d, float(s)) for d, s in fused])


def reference(runs, method, **params):
    return ref_rrf(runs, **params) if method == "rrf" else ref_convex(runs, **params)


def assert_same(got, want):
    assert [d for d, _ in got] == [d for d, _ in want]
    assert all(abs(g - w) <= 1e-9 for (_, g), (_, w) in zip(got, want, strict=True))


# ---- golden ------------------------------------------------------------------------------------


@pytest.mark.parametrize("expected", sorted(CASES))
def test_golden_matches_expected_file(expected):
    want = read_trec(GOLDEN / expected)
    inputs = golden_inputs()
    assert sorted(want) == sorted(inputs)
    for qid, runs in inputs.items():
        assert_same(fuse(runs, **CASES[expected]), want[qid])


@pytest.mark.parametrize("expected", sorted(CASES))
def test_golden_expected_file_agrees_with_reference(expected):
    want = read_trec(GOLDEN / expected)
    for qid, runs in golden_inputs().items():
        assert_same(want[qid], reference(runs, **CASES[expected]))


def test_golden_by_hand():
    """A few values worked out on paper from the golden inputs."""
    runs = golden_inputs()
    # q1: doc 7 is bm25 rank 3 (tied with doc 1 at 9.5, id 1 goes first), dense rank 1, not in title.
    assert dict(fuse(runs["q1"], k=60.0))[7] == pytest.approx(1 / 63 + 1 / 61, abs=1e-12)
    # q2: dense ties 2, 4, 6 (ranks by id); title 6, 1. Docs 1 and 4 tie at 1/62 -> id order.
    assert fuse(runs["q2"], k=60.0) == [(6, 1 / 61 + 1 / 63), (2, 1 / 61), (1, 1 / 62), (4, 1 / 62)]
    # q2 convex minmax: dense all equal -> 1.0 each; doc 1 missing from dense gets 0 there.
    got = fuse(runs["q2"], "convex", weights=(0.5, 0.3, 0.2))
    assert [(d, round(s, 12)) for d, s in got] == [(6, 0.5), (2, 0.3), (4, 0.3), (1, 0.0)]


# ---- unit --------------------------------------------------------------------------------------


def test_sort_run_orders_ties_by_id():
    assert sort_run([(5, 1.0), (2, 3), (9, 3.0), (1, 1.0)]) == [(2, 3.0), (9, 3.0), (1, 1.0), (5, 1.0)]


def test_rrf_depth_weight_zero_and_duplicates():
    a, b = [(1, 9.0), (2, 8.0), (3, 7.0)], [(4, 5.0), (3, 4.0)]
    assert [d for d, _ in rrf([a, b], depth=1)] == [1, 4]
    assert [d for d, _ in rrf([a, b], weights=(0, 1))] == [4, 3]
    assert rrf([[(1, 2.0), (1, 1.0)]], k=0) == [(1, 1.0)]


def test_normalize():
    assert normalize([(1, 2.0), (2, 4.0), (3, 3.0)]) == [(2, 1.0), (3, 0.5), (1, 0.0)]
    assert normalize([(1, 1.0), (2, 3.0)], "zscore") == [(2, 1.0), (1, -1.0)]
    assert normalize([(1, 7.0), (2, 7.0)]) == [(1, 1.0), (2, 1.0)]
    assert normalize([(1, 7.0), (2, 7.0)], "zscore") == [(1, 0.0), (2, 0.0)]
    assert normalize([(1, 2.0), (2, 4.0)], "none") == [(2, 4.0), (1, 2.0)]
    assert normalize([], "zscore") == []


def test_convex_missing_doc_gets_the_legs_lowest_minus_one_over_n():
    a, b = [(1, 3.0), (2, 1.0)], [(2, 1.0), (3, 0.0), (4, -1.0)]  # z(a) = 1, -1; z(b) = 1.2247, 0, -1.2247
    got = dict(convex([a, b], (1, 1), norm="zscore"))
    floor_a, floor_b = -1 - 1 / 2, -(1.5**0.5) - 1 / 3
    assert got[3] == pytest.approx(floor_a + 0.0) and got[4] == pytest.approx(floor_a - 1.5**0.5)
    assert got[1] == pytest.approx(1 + floor_b)
    assert got[2] == pytest.approx(-1 + 1.5**0.5)


@pytest.mark.parametrize("n", [1, 2, 3, 50])
def test_zscore_leg_with_few_candidates_lifts_them_above_what_it_missed(n):
    """Issue 11 item 7: one keyword candidate (std 0) used to score 0.0, the floor given to the passages
    the leg missed, so it counted for nothing. With 1, 2 or many candidates every candidate of a leg now
    gains on every passage that leg missed: at least weight / n (z units)."""
    keyword = [(1000 + i, 10.0 - i * 0.1) for i in range(n)]  # the keyword leg's n candidates
    semantic = [(i, 0.9 - i * 0.01) for i in range(20)] + [(1000 + i, 0.5) for i in range(n)]
    fused = dict(convex([keyword, semantic], (0.4, 0.6), norm="zscore"))
    sem = dict(normalize(semantic, "zscore"))
    sem_only = {d: fused[d] - 0.6 * sem[d] for d in range(20)}  # the keyword leg's part of these
    assert len({round(v, 12) for v in sem_only.values()}) == 1  # all got the floor
    floor = next(iter(sem_only.values()))
    for i in range(n):
        kw_part = fused[1000 + i] - 0.6 * sem[1000 + i]
        assert kw_part >= floor + 0.4 / n - 1e-12
    if n == 1:  # the lone candidate: z 0 against a floor of -1
        assert fused[1000] == pytest.approx(0.6 * sem[1000]) and floor == pytest.approx(0.4 * -1)
    if n == 2:  # z = +1, -1 against -1.5
        assert floor == pytest.approx(0.4 * -1.5)


def test_empty_inputs():
    assert rrf([]) == [] and rrf([[], []]) == [] and convex([[], [(1, 2.0)]], (1, 1)) == [(1, 1.0)]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: fuse([], "borda"), "rrf, convex"),
        (lambda: normalize([], "l2"), "minmax, zscore"),
        (lambda: rrf([[]], weights=(1, 1)), "2 weights for 1 runs"),
        (lambda: convex([[]], (-1,)), ">= 0"),
        (lambda: rrf([[]], depth=-1), "depth"),
        (lambda: normalize([(1, float("nan"))]), "non-finite"),
    ],
)
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_choice_lists():
    assert FUSION_METHODS == ("rrf", "convex") and NORMALIZATIONS == ("minmax", "zscore")


# ---- properties ----------------------------------------------------------------------------------

doc_ids = st.integers(0, 30)
scores = st.integers(-10_000, 10_000).map(lambda x: x / 8)  # exact dyadics: no rounding ties
runs_st = st.lists(st.lists(st.tuples(doc_ids, scores), max_size=12).map(sort_run), min_size=1, max_size=4)
methods = st.sampled_from([("rrf", None), ("convex", "minmax"), ("convex", "zscore")])


def run_fusion(runs, method, norm, weights, k=60.0, depth=None):
    if method == "rrf":
        return rrf(runs, k=k, weights=weights, depth=depth)
    return convex(runs, weights, norm=norm, depth=depth)


@given(runs_st, methods, st.data())
def test_output_sorted_unique(runs, method, data):
    weights = data.draw(
        st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.5]), min_size=len(runs), max_size=len(runs))
    )
    depth = data.draw(st.none() | st.integers(0, 12))
    out = run_fusion(runs, *method, weights, depth=depth)
    assert out == sorted(out, key=lambda p: (-p[1], p[0]))
    assert len({d for d, _ in out}) == len(out)
    kept = {
        d
        for r, w in zip(runs, weights, strict=True)
        if w
        for d in list(dict.fromkeys(x for x, _ in r))[:depth]
    }
    assert {d for d, _ in out} == kept  # duplicates dropped before the depth cut


@given(runs_st, methods, st.data())
def test_doc_first_in_every_run_ranks_first(runs, method, data):
    # Doc -1 gets each run's top score (or more): with ties it still sorts first, by id.
    top = [
        sort_run([(-1, max([s for _, s in r], default=0.0) + data.draw(st.sampled_from([0, 1])))] + r)
        for r in runs
    ]
    weights = data.draw(st.lists(st.floats(0.01, 10), min_size=len(runs), max_size=len(runs)))
    k = data.draw(st.floats(0, 1000))
    assert run_fusion(top, *method, weights, k=k)[0][0] == -1


@given(runs_st, methods, st.data())
def test_deterministic_and_independent_of_run_order(runs, method, data):
    # Permuting runs together with their weights covers the equal-weights case; fsum makes it exact.
    equal = data.draw(st.floats(0, 10)) if data.draw(st.booleans()) else None
    weights = (
        [equal] * len(runs)
        if equal is not None
        else data.draw(st.lists(st.floats(0, 10), min_size=len(runs), max_size=len(runs)))
    )
    order = data.draw(st.permutations(range(len(runs))))
    out = run_fusion(runs, *method, weights)
    assert out == run_fusion(runs, *method, weights)
    assert out == run_fusion([runs[i] for i in order], *method, [weights[i] for i in order])


@given(
    st.lists(st.tuples(doc_ids, scores), max_size=12, unique_by=lambda p: p[0]),
    st.lists(st.tuples(doc_ids, scores), max_size=12),
    methods,
)
def test_weights_one_zero_give_first_run_order(first, second, method):
    out = run_fusion([sort_run(first), sort_run(second)], *method, (1.0, 0.0))
    assert [d for d, _ in out] == [d for d, _ in sort_run(first)]


@given(st.lists(st.tuples(doc_ids, st.floats(-1e12, 1e12)), max_size=15))
def test_minmax_range(run):
    out = [s for _, s in normalize(run)]
    assert all(0.0 <= s <= 1.0 for s in out)
    if run:
        assert max(out) == 1.0 and min(out) == (1.0 if len({s for _, s in run}) == 1 else 0.0)


@given(doc_ids, scores, st.integers(1, 6))
def test_equal_scores_guard(doc, score, n):
    run = [(doc + i, score) for i in range(n)]
    assert {s for _, s in normalize(run)} == {1.0}
    assert {s for _, s in normalize(run, "zscore")} == {0.0}


# -- the date leg ---------------------------------------------------------------------------------
def test_date_leg_scores_by_distance_and_skips_undated():
    import datetime as dt

    from search.fusion import date_leg

    dates = {1: "2020-01-08", 2: "2020-01-18T10:00:00", 3: None, 4: "not a date", 5: "2019-12-29"}
    run = date_leg([1, 2, 3, 4, 5], dates, dt.date(2020, 1, 8), days=10)
    assert run == [(1, 1.0), (2, 0.5), (5, 0.5)]  # 10 days either side: half; ties by id
    with pytest.raises(ValueError, match="days"):
        date_leg([1], dates, dt.date(2020, 1, 8), days=0)


@given(st.lists(st.integers(-4000, 4000), min_size=1, max_size=30, unique=True), st.floats(0.5, 400))
def test_date_leg_is_monotone_in_distance(offsets, days):
    import datetime as dt

    from search.fusion import date_leg

    day0 = dt.date(2015, 6, 1)
    dates = {i: (day0 + dt.timedelta(days=o)).isoformat() for i, o in enumerate(offsets)}
    scores = dict(date_leg(dates, dates, day0, days))
    by_distance = sorted(range(len(offsets)), key=lambda i: abs(offsets[i]))
    values = [scores[i] for i in by_distance]
    assert all(a >= b for a, b in zip(values, values[1:], strict=False))
    assert all(0 < v <= 1 for v in values)


def test_date_leg_fused_as_a_third_leg_reorders_near_ties():
    from search.fusion import convex

    text = [(1, 2.0), (2, 1.99), (3, 0.5)]
    semantic = [(1, 0.80), (2, 0.80), (3, 0.2)]
    dated = [(2, 1.0), (1, 0.1)]
    assert convex([text, semantic], weights=[0.4, 0.6], norm="zscore")[0][0] == 1
    assert convex([text, semantic, dated], weights=[0.4, 0.6, 0.3], norm="zscore")[0][0] == 2
