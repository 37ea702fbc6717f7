"""Claim fields inside a query (``speaker:Putin``, ``casualties:>100``...), ``--number``, and the
conflicting details of near-duplicate claims (issue 13). Real spaCy, real model, Whoosh and FAISS:

* on the corpora index, every claim field returns the same hits as its flag, and number ranges return
  only matching passages and k of them whenever k exist, against a brute-force pass over the catalog;
* on a tiny index of six hand-written articles, the passages each clause admits are known by hand, and
  ``claims similar`` flags the two pairs of articles that disagree (3 vs 5 aircraft, 120 vs 300 killed).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import requires_shared
from test_claim_wiring import _filter_cases, _stored

TINY = [
    ("a1", "TASS", "2022-08-19", "Russia's Defense Ministry said on Thursday that three MiG-31 planes armed with "
     "Kinzhal missiles were moved to the Chkalovsk air base in Kaliningrad."),
    ("a2", "Reuters", "2022-08-26", "Russia's Defense Ministry said on Thursday that five MiG-31 planes armed with "
     "Kinzhal missiles were moved to the Chkalovsk air base in Kaliningrad."),
    ("a3", "BBC", "2022-06-01", "A missile strike on the market killed 120 civilians, local officials said on Monday."),
    ("a4", "AP", "2022-06-01", "A missile strike on the market killed 300 civilians, local officials said on Monday."),
    ("a5", "RT", "2022-03-01", "The Zircon missile has a range of 1,000 kilometers and flies at nine times the "
     "speed of sound."),
    ("a6", "Kyiv Post", "2022-03-02", "The drone flew 400 miles before it was shot down near the border, the "
     "Pentagon said."),
]  # fmt: skip


@pytest.fixture(scope="module")
def tiny_index(tmp_path_factory) -> Path:
    from index.ingest import ingest

    folder = tmp_path_factory.mktemp("claim-fields")
    src = folder / "tiny.jsonl"
    src.write_text(
        "".join(
            json.dumps({"id": i, "source": s, "date": d, "title": s + " report", "text": t}) + "\n"
            for i, s, d, t in TINY
        ),
        encoding="utf-8",
    )
    ingest(folder / "index", [src])
    return folder / "index"


@pytest.fixture(scope="module")
def tiny(tiny_index):
    from search.searcher import Searcher

    with Searcher(tiny_index) as s:
        yield s


def _articles(searcher, text: str, mode: str = "keyword", **filters) -> set[str]:
    from search.options import SearchOptions
    from search.query import Filters

    opts = SearchOptions(mode=mode, limit=50, min_similarity=None, filters=Filters(**filters))
    return {h.article_id.split("/")[-1] for h in searcher.search(text, opts).hits}


# -- by hand, on six articles --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "clause, want",
    [
        ("aircraft:>=3", {"a1", "a2"}),
        ("aircraft:>3", {"a2"}),
        ("aircraft:3", {"a1"}),
        ("aircraft:<5", {"a1"}),
        ("casualties:>100", {"a3", "a4"}),
        ("casualties:>=300", {"a4"}),
        ("casualties:[100 TO 200]", {"a3"}),
        ("distance_km:<700", {"a6"}),  # 400 miles = 643.7 km
        ("distance_km:>700", {"a5"}),
        ("distance_km:[600 TO 1000]", {"a5", "a6"}),
        ("mach:>=9", {"a5"}),
        ("NOT casualties:>100", {"a1", "a2", "a5", "a6"}),
        ("(aircraft:5 OR casualties:120)", {"a2", "a3"}),
        ("speaker:Pentagon", {"a6"}),
        ('speaker:"defense ministry"', {"a1", "a2"}),
        ("speaker:*officials", {"a3", "a4"}),
        ("weapon:Kh-47M2", {"a1", "a2"}),  # a gazetteer alias of Kinzhal
        ("place:Chkalovsk*", {"a1", "a2"}),
        ("mode:assertion", {"a5"}),
        ("NOT mode:reported", {"a5"}),
    ],
)
def test_clauses_admit_the_articles_known_by_hand(tiny, clause, want):
    assert _articles(tiny, clause) == want  # clauses alone: every passage they admit
    assert _articles(tiny, "missile drone planes " + clause) <= want
    assert _articles(tiny, "military report " + clause, mode="semantic") == want  # the dense leg, no floor


def test_number_flag_equals_the_clause(tiny):
    assert _articles(tiny, "missile", "semantic", numbers=["casualties>100"]) == {"a3", "a4"}
    assert _articles(tiny, "missile", "semantic", numbers=["casualties>100", "casualties<300"]) == {"a3"}
    assert _articles(tiny, "missile", "semantic", weapons=["Kh-47M2"]) == {"a1", "a2"}  # flags alias too


def test_facets_count_what_the_claim_clauses_admit(tiny):
    from search.facets import facets
    from search.options import SearchOptions
    from search.query import Filters

    got = facets(tiny, "casualties:>100", by="source")
    assert got.matches == 2 and dict(got.counts["source"]) == {"AP": 1, "BBC": 1}
    flag = facets(
        tiny, "missile", SearchOptions(mode="keyword", filters=Filters(numbers=["casualties>200"])), "source"
    )
    assert flag.matches == 1 and dict(flag.counts["source"]) == {"AP": 1}


def test_similar_flags_the_details_near_duplicates_disagree_on(tiny, tiny_index, cli):
    from search.options import similar_options

    res = tiny.similar(
        "Russia's Defense Ministry said MiG-31 planes with Kinzhal missiles were moved to Chkalovsk",
        opts=similar_options(limit=3),
    )
    top = res.hits[0]
    pids = {h.article_id.split("/")[-1]: h.passage_id for h in tiny.search("missile OR drone").hits}
    assert top.cluster["size"] == 2 and {m["passage_id"] for m in top.cluster["members"]} == {
        pids["a1"],
        pids["a2"],
    }
    by_field = {c["field"]: c for c in top.cluster["conflicts"]}
    assert set(by_field) == {"aircraft", "event_date"}  # speaker and places agree
    assert sorted(by_field["aircraft"]["values"]) == [3, 5]
    assert sorted(by_field["aircraft"]["ids"]) == sorted([pids["a1"], pids["a2"]])
    assert sorted(by_field["event_date"]["values"]) == ["2022-08-18", "2022-08-25"]  # the Thursdays before
    assert all(h.cluster["conflicts"] == [] for h in res.hits if h.cluster["size"] == 1)

    args = ("similar", "A missile strike on the market killed civilians", "--index", tiny_index)
    r = cli(*args, "--cluster-threshold", "0.9", "--json")
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    strike = next(row for row in rows if row["cluster"]["size"] == 2)
    assert strike["cluster"]["conflicts"] == [
        {
            "field": "casualties",
            "values": [120, 300],
            "ids": [pids["a3"], pids["a4"]],
            "members": [
                {"passage_id": pids["a3"], "values": [120]},
                {"passage_id": pids["a4"], "values": [300]},
            ],
        }
    ]
    text = cli(*args, "--cluster-threshold", "0.9")
    assert "conflicting:" in text.stdout and "casualties 120 vs" in text.stdout  # the cell wraps before 300


def test_bad_claim_clauses_and_number_flags_fail_in_one_line(tiny_index, cli):
    for args, words in (
        (("Kinzhal casualties:>abc",), "not a number"),
        (("Kinzhal mode:gossip",), "quote, reported, assertion"),
        (("Kinzhal", "--number", "tankz>3"), "unknown number field"),
        (("Kinzhal", "--number", "casualties"), "FIELD OP NUMBER"),
    ):
        r = cli("search", *args, "--index", tiny_index)
        assert r.exit_code == 2 and words in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_api_answers_a_bad_claim_clause_with_400(tiny_index):
    import urllib.error
    import urllib.parse
    import urllib.request

    from search.serve import create_app
    from search.serve.background import BackgroundServer

    with BackgroundServer(create_app(tiny_index)) as srv:
        url = f"{srv.url}/api/search?" + urllib.parse.urlencode({"q": "missile casualties:>abc"})
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(url, timeout=60)
        body = json.loads(e.value.read())
        assert e.value.code == 400 and "not a number" in body["error"]
        url = f"{srv.url}/api/search?" + urllib.parse.urlencode(
            {"q": "missile casualties:>200", "mode": "keyword"}
        )
        with urllib.request.urlopen(url, timeout=60) as r:
            hits = json.loads(r.read())["hits"]
        assert [h["article_id"].split("/")[-1] for h in hits] == ["a4"]


# -- on the corpora: the same as the flags, and against a brute-force pass ------------------------------
def _clause(cond: dict) -> str:
    """The query-field form of one ``_filter_cases`` filter."""
    parts = []
    for key, value in cond.items():
        field = {"claim_mode": "mode", "places": "place", "weapons": "weapon", "entities": "entity"}.get(
            key, key
        )
        for v in value if isinstance(value, list) else [value]:
            parts.append(f'{field}:"{v}"' if isinstance(v, str) else f"{field}:{v}")
    return " ".join(parts)


@requires_shared
def test_query_fields_return_the_same_hits_as_the_flags(corpora_searcher):
    from search.options import SearchOptions
    from search.query import Filters

    s = corpora_searcher
    for cond in _filter_cases(_stored(s)):
        for mode in ("keyword", "semantic", "hybrid"):
            flags = SearchOptions(mode=mode, limit=10, filters=Filters(**cond), min_similarity=None)
            fields = SearchOptions(mode=mode, limit=10, min_similarity=None)
            want = [(h.passage_id, round(h.score, 6)) for h in s.search("Russian missile strike", flags).hits]
            got = [
                (h.passage_id, round(h.score, 6))
                for h in s.search("Russian missile strike " + _clause(cond), fields).hits
            ]
            assert got == want and want, (cond, mode)


_KM = {"km": 1.0, "mi": 1.609344, "nmi": 1.852, "m": 0.001, "ft": 0.0003048}


def _brute_numbers(stored: dict[int, dict], kind: str, lo: float, units: dict | None = None) -> set[int]:
    """Passages with a quantity of ``kind`` above ``lo`` (its range reaching past ``lo``), by a plain walk."""
    out = set()
    for pid, f in stored.items():
        for n in f["numbers"]:
            if n["kind"] != kind or (units is not None and n["unit"] not in units):
                continue
            if n["high"] * (units or {}).get(n["unit"], 1.0) > lo:
                out.add(pid)
    return out


@requires_shared
def test_number_ranges_admit_only_matching_passages_and_k_whenever_k_exist(corpora_searcher):
    from search.options import SearchOptions
    from search.query import Filters

    s = corpora_searcher
    stored = _stored(s)
    values = Counter(n["kind"] for f in stored.values() for n in f["numbers"])
    cases = []
    for field, kind, units in (
        ("casualties", "casualties", None),
        ("troops", "troops", None),
        ("people", "people", None),
        ("distance_km", "distance", _KM),
        ("aircraft", "aircraft", None),
    ):
        if values[kind] < 3:
            continue
        highs = sorted(
            n["high"] * (units or {}).get(n["unit"], 1.0)
            for f in stored.values()
            for n in f["numbers"]
            if n["kind"] == kind
        )
        cases.append((field, kind, units, highs[len(highs) // 3]))
    assert len(cases) >= 3, values
    k = 7
    every = SearchOptions(mode="keyword", limit=0)
    matches = {pid for pid, _, _ in s.iter_ranked("Russian missile strike", every)}
    for field, kind, units, lo in cases:
        allowed = _brute_numbers(stored, kind, lo, units)
        assert allowed, field
        for spelled in (f"{field}:>{lo}", None):
            for mode in ("semantic", "keyword", "hybrid"):
                filters = Filters(numbers=[f"{field}>{lo}"]) if spelled is None else Filters()
                opts = SearchOptions(mode=mode, limit=k, filters=filters, min_similarity=None)
                text = "Russian missile strike" + (f" {spelled}" if spelled else "")
                got = [h.passage_id for h in s.search(text, opts).hits]
                assert set(got) <= allowed, (field, mode)
                if mode == "semantic":
                    assert len(got) == min(k, len(allowed)), (field, mode)
                if mode == "keyword":
                    assert len(got) == min(k, len(matches & allowed)), (field, mode)
        # a clause alone lists every passage it admits
        listed = {pid for pid, _, _ in s.iter_ranked(f"{field}:>{lo}", every)}
        assert listed == allowed, field
