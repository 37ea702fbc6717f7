"""Tests for search.clusters: text normalisation and greedy near-duplicate clustering."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from search.clusters import cluster_hits, normalize_text
from search.hits import Hit

CLAIM = "Russia moved three Kinzhal-armed MiG-31 jets to Kaliningrad."


def make_hit(pid: int, text: str, *, source: str = "", date: str | None = None, rank: int = 0) -> Hit:
    """A hit with just the fields clustering looks at."""
    return Hit(
        passage_id=pid,
        article_id=f"a{pid}",
        rank=rank or pid,
        score=1.0 / (pid + 1),
        text=text,
        title=f"title {pid}",
        date=date,
        source=source,
    )


def unit(v: list[float]) -> np.ndarray:
    """An L2-normalised float32 vector."""
    a = np.asarray(v, dtype=np.float32)
    return a / np.linalg.norm(a)


def vector_at_cosine(c: float) -> np.ndarray:
    """A unit vector whose cosine with [1, 0, 0] is ``c``."""
    return np.asarray([c, np.sqrt(1.0 - c * c), 0.0], dtype=np.float32)


# --- normalize_text ---------------------------------------------------------------------------


def test_normalize_unifies_case_quotes_dashes_and_spaces():
    a = "Russia\u2019s  \u201cKinzhal\u201d \u2014 launched from a MiG\u201131,\tthe U.S. said."
    b = 'russia\'s "KINZHAL" -- launched from a MiG-31, the US said'
    assert normalize_text(a) == normalize_text(b) == "russias kinzhal launched from a mig 31 the us said"


def test_normalize_keeps_different_claims_apart():
    assert normalize_text("three jets") != normalize_text("four jets")
    assert normalize_text("1,000 km") == normalize_text("1000 km")
    assert normalize_text("   ...  ") == ""


# --- exact duplicates -------------------------------------------------------------------------


def test_exact_duplicates_from_different_sources_collapse():
    hits = [
        make_hit(10, CLAIM, source="newsweek", date="2022-08-19"),
        make_hit(11, "Unrelated claim about 155mm shells.", source="reuters", date="2023-03-20"),
        make_hit(
            12,
            "RUSSIA moved three \u201cKinzhal\u201d-armed MiG\u201331 jets to Kaliningrad",
            source="tass",
            date="2022-08-18",
        ),
        make_hit(13, CLAIM, source="newsweek", date=None),
        make_hit(14, CLAIM, source="", date="2022-08-20"),
    ]
    out = cluster_hits(hits)
    assert [h.passage_id for h in out] == [10, 11]
    top = out[0].cluster
    assert top is not None
    assert top["size"] == 4
    assert top["sources"] == ["newsweek", "tass"]
    assert top["first_seen"] == "2022-08-18"
    assert top["first_seen_passage_id"] == 12
    assert [m["passage_id"] for m in top["members"]] == [12, 10, 14, 13]
    assert top["members"][0] == {
        "passage_id": 12,
        "article_id": "a12",
        "date": "2022-08-18",
        "source": "tass",
        "title": "title 12",
        "score": hits[2].score,
    }
    assert out[1].cluster == {
        "size": 1,
        "sources": ["reuters"],
        "first_seen": "2023-03-20",
        "first_seen_passage_id": 11,
        "members": [
            {
                "passage_id": 11,
                "article_id": "a11",
                "date": "2023-03-20",
                "source": "reuters",
                "title": "title 11",
                "score": hits[1].score,
            }
        ],
    }


def test_representative_keeps_its_fields_and_inputs_are_untouched():
    hits = [make_hit(5, CLAIM, rank=7), make_hit(6, CLAIM, rank=9)]
    before = copy.deepcopy(hits)
    out = cluster_hits(hits)
    assert hits == before
    assert len(out) == 1
    assert out[0].passage_id == 5
    assert out[0].score == hits[0].score
    assert out[0].text == CLAIM
    assert out[0].rank == 1


def test_no_dates_gives_no_first_seen():
    out = cluster_hits([make_hit(1, CLAIM), make_hit(2, CLAIM)])
    assert out[0].cluster["first_seen"] is None
    assert out[0].cluster["first_seen_passage_id"] is None
    assert [m["passage_id"] for m in out[0].cluster["members"]] == [1, 2]


def test_empty_text_never_matches_by_text():
    out = cluster_hits([make_hit(1, ""), make_hit(2, "!!"), make_hit(3, "")])
    assert [h.cluster["size"] for h in out] == [1, 1, 1]


def test_empty_input():
    assert cluster_hits([]) == []
    assert cluster_hits([], vectors={}) == []


# --- cosine threshold -------------------------------------------------------------------------


def test_cosine_just_above_threshold_joins():
    hits = [make_hit(1, "jets sent to Kaliningrad"), make_hit(2, "aircraft moved to the Baltic exclave")]
    vectors = {1: vector_at_cosine(1.0), 2: vector_at_cosine(0.951)}
    out = cluster_hits(hits, vectors)
    assert len(out) == 1
    assert out[0].cluster["size"] == 2


def test_cosine_just_below_threshold_stays_apart():
    hits = [make_hit(1, "jets sent to Kaliningrad"), make_hit(2, "aircraft moved to the Baltic exclave")]
    vectors = {1: vector_at_cosine(1.0), 2: vector_at_cosine(0.949)}
    out = cluster_hits(hits, vectors)
    assert len(out) == 2


def test_custom_threshold():
    hits = [make_hit(1, "a"), make_hit(2, "b")]
    vectors = {1: vector_at_cosine(1.0), 2: vector_at_cosine(0.8)}
    assert len(cluster_hits(hits, vectors, threshold=0.95)) == 2
    assert len(cluster_hits(hits, vectors, threshold=0.75)) == 1


def test_vector_match_compares_with_representative_only():
    # 2 is close to 1 (joins it); 3 is close to 2 but not to 1 -> starts its own cluster.
    hits = [make_hit(1, "a"), make_hit(2, "b"), make_hit(3, "c")]
    e = np.deg2rad(15.0)
    vectors = {
        1: unit([1.0, 0.0, 0.0]),
        2: unit([np.cos(e), np.sin(e), 0.0]),  # cos 15deg ~ 0.966 to 1
        3: unit([np.cos(2 * e), np.sin(2 * e), 0.0]),  # ~0.966 to 2, ~0.866 to 1
    }
    out = cluster_hits(hits, vectors)
    assert [h.passage_id for h in out] == [1, 3]
    assert [m["passage_id"] for m in out[0].cluster["members"]] == [1, 2]


def test_joins_earliest_matching_cluster():
    # 3 matches both cluster 1 (by vector) and cluster 2 (by text): it joins the earlier one.
    hits = [make_hit(1, "a"), make_hit(2, "same words"), make_hit(3, "Same words.")]
    vectors = {1: unit([1.0, 0.0]), 2: unit([0.0, 1.0]), 3: unit([1.0, 0.01])}
    out = cluster_hits(hits, vectors)
    assert [h.cluster["size"] for h in out] == [2, 1]
    assert [m["passage_id"] for m in out[0].cluster["members"]] == [1, 3]


def test_unnormalised_vectors_are_normalised():
    hits = [make_hit(1, "a"), make_hit(2, "b")]
    vectors = {1: np.asarray([10.0, 0.0]), 2: np.asarray([3.0, 0.1])}
    assert len(cluster_hits(hits, vectors)) == 1


def test_dimension_mismatch_raises():
    hits = [make_hit(1, "a"), make_hit(2, "b")]
    with pytest.raises(ValueError, match="dimension"):
        cluster_hits(hits, {1: unit([1.0, 0.0]), 2: unit([1.0, 0.0, 0.0])})


# --- no vectors / partial vectors -------------------------------------------------------------


def test_without_vectors_only_text_identity_counts():
    hits = [
        make_hit(1, "Three jets carrying hypersonic missiles were sent to the Baltic exclave."),
        make_hit(2, "Russia moved three Kinzhal-armed MiG-31 jets to Kaliningrad."),
        make_hit(3, "three jets carrying hypersonic missiles were sent to the baltic exclave"),
    ]
    out = cluster_hits(hits)
    assert [h.passage_id for h in out] == [1, 2]
    assert out[0].cluster["size"] == 2


def test_missing_vector_falls_back_to_text():
    hits = [make_hit(1, "a"), make_hit(2, "b"), make_hit(3, "A")]
    vectors = {1: unit([1.0, 0.0]), 3: unit([0.0, 1.0])}  # 2 has none: no vector match possible
    out = cluster_hits(hits, vectors)
    assert [h.passage_id for h in out] == [1, 2]
    assert [m["passage_id"] for m in out[0].cluster["members"]] == [1, 3]


# --- ranks ------------------------------------------------------------------------------------


def test_ranks_renumbered_in_output_order():
    hits = [
        make_hit(1, "alpha", rank=1),
        make_hit(2, "alpha", rank=2),
        make_hit(3, "beta", rank=3),
        make_hit(4, "alpha", rank=4),
        make_hit(5, "gamma", rank=5),
    ]
    out = cluster_hits(hits)
    assert [h.passage_id for h in out] == [1, 3, 5]
    assert [h.rank for h in out] == [1, 2, 3]
    assert [h.score for h in out] == [hits[0].score, hits[2].score, hits[4].score]


def test_deterministic():
    rng = np.random.default_rng(0)
    hits = [
        make_hit(i, f"claim {i % 7}", source=f"s{i % 3}", date=f"2022-01-{1 + i % 28:02d}") for i in range(60)
    ]
    vectors = {i: unit(list(rng.normal(size=8))) for i in range(60)}
    a = [h.to_dict() for h in cluster_hits(hits, vectors, threshold=0.6)]
    b = [h.to_dict() for h in cluster_hits(hits, dict(reversed(list(vectors.items()))), threshold=0.6)]
    assert a == b


def test_thousand_noisy_copies_of_200_claims_make_at_most_200_clusters():
    rng = np.random.default_rng(1)
    n, d = 1000, 384
    base = rng.normal(size=(200, d)).astype(np.float32)
    mat = base[rng.integers(0, 200, size=n)] + 0.05 * rng.normal(size=(n, d)).astype(np.float32)
    mat /= np.linalg.norm(mat, axis=1, keepdims=True)
    hits = [make_hit(i, f"Passage {i} about a Black Sea incident.", source=f"s{i % 5}") for i in range(n)]
    vectors = {i: mat[i] for i in range(n)}
    out = cluster_hits(hits, vectors)
    assert sum(h.cluster["size"] for h in out) == n
    assert len(out) <= 200


# --- properties -------------------------------------------------------------------------------

_texts = st.sampled_from(["alpha", "Alpha.", "beta", "BETA!", "gamma", "", "delta \u2014 x", "delta - x"])
_dates = st.one_of(st.none(), st.dates().map(lambda d: d.isoformat()))
_sources = st.sampled_from(["", "reuters", "tass", "newsweek"])


@st.composite
def hit_lists(draw):
    """Unique passage ids with random texts, dates, sources and (sometimes) 3-d vectors."""
    ids = draw(st.lists(st.integers(0, 10_000), unique=True, max_size=40))
    hits = [
        make_hit(pid, draw(_texts), source=draw(_sources), date=draw(_dates), rank=i + 1)
        for i, pid in enumerate(ids)
    ]
    vectors = None
    if draw(st.booleans()):
        coords = st.lists(st.integers(-3, 3), min_size=3, max_size=3).filter(any)
        vectors = {pid: unit(draw(coords)) for pid in ids if draw(st.booleans())}
    threshold = draw(st.sampled_from([0.5, 0.9, 0.95, 1.0]))
    return hits, vectors, threshold


@settings(max_examples=200, deadline=None)
@given(hit_lists())
def test_every_hit_lands_in_exactly_one_cluster(case):
    hits, vectors, threshold = case
    out = cluster_hits(hits, vectors, threshold)
    assert sum(h.cluster["size"] for h in out) == len(hits)
    member_ids = [m["passage_id"] for h in out for m in h.cluster["members"]]
    assert sorted(member_ids) == sorted(h.passage_id for h in hits)
    assert len(set(member_ids)) == len(member_ids)
    assert [h.rank for h in out] == list(range(1, len(out) + 1))
    for h in out:
        c = h.cluster
        assert c["size"] == len(c["members"])
        assert h.passage_id in {m["passage_id"] for m in c["members"]}
        assert c["sources"] == sorted({m["source"] for m in c["members"] if m["source"]})
        dates = [m["date"] for m in c["members"] if m["date"] is not None]
        assert c["first_seen"] == (min(dates) if dates else None)
    # representatives keep input order
    order = {h.passage_id: i for i, h in enumerate(hits)}
    assert [order[h.passage_id] for h in out] == sorted(order[h.passage_id] for h in out)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalize_is_idempotent_and_punctuation_free(text):
    n = normalize_text(text)
    assert normalize_text(n) == n
    assert n == n.strip()
    assert "  " not in n
    assert not any(c in n for c in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\u2019\u201c\u201d\u2014")


def test_zero_and_non_finite_vectors_are_ignored():
    hits = [make_hit(1, "a"), make_hit(2, "b"), make_hit(3, "c")]
    vectors = {1: np.zeros(2, np.float32), 2: np.asarray([np.nan, 1.0], np.float32), 3: unit([1.0, 0.0])}
    assert len(cluster_hits(hits, vectors, threshold=-1.0)) == 3


def test_sample_near_verbatim_sentences_normalise_equal():
    articles = Path(__file__).resolve().parents[2] / "samples" / "articles"
    paths = [articles / "07_black_sea_reaper_collision.txt", articles / "08_black_sea_reaper_wreckage.txt"]
    if not all(p.exists() for p in paths):
        pytest.skip("sample corpus not present")
    a, b = (
        next(line for line in p.read_text(encoding="utf-8").splitlines() if "struck the propeller" in line)
        for p in paths
    )
    assert a != b
    hits = [make_hit(1, a, source="seven"), make_hit(2, b, source="eight")]
    assert cluster_hits(hits)[0].cluster["size"] == 2
