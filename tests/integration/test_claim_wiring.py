"""Claim intelligence wired in (issue 13, second half): features extracted at ingest and stored in the
catalog, carried by every hit, ``show`` and export; the claim filters inside both legs; facets over
every match; reindex re-extracts. Real spaCy, real model, real Whoosh and FAISS."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter

import pytest
from conftest import HAS_SHARED, SAMPLES, requires_shared

FEATURES = ("speaker", "cue", "mode", "hedged", "entities", "numbers", "event_date", "checkworthy")


def _spans(hit: dict):
    for key in ("speaker", "cue", "event_date"):
        if hit[key]:
            yield hit[key]
    yield from hit["entities"]
    yield from hit["numbers"]


def _stored(searcher) -> dict[int, dict]:
    """Every visible passage's stored features, read with plain SQL (independent of the reader's filters)."""
    pids = searcher.catalog.passage_ids()
    db = sqlite3.connect(f"file:{searcher.dir / 'catalog.sqlite'}?mode=ro", uri=True)
    rows = {pid: json.loads(js) for pid, js in db.execute("SELECT passage_id, json FROM claim_features")}
    db.close()
    return {pid: rows[pid] for pid in pids if pid in rows}


# -- 1. extracted at ingest, stored, carried by hits -------------------------------------------------
def test_every_passage_has_features_and_the_manifest_counts_them(sample_searcher):
    m = sample_searcher.manifest
    assert m.counts["claim_features"] == m.counts["passages"] > 0
    assert set(_stored(sample_searcher)) == sample_searcher.catalog.passage_ids()


@pytest.mark.skipif(not HAS_SHARED, reason="the seed article is in ../shared/seeds")
def test_the_defense_ministry_hit_carries_its_claim(sample_searcher):
    from search.options import SearchOptions

    hits = sample_searcher.search(
        "Defense Ministry MiG-31 Chkalovsk", SearchOptions(mode="keyword", limit=5)
    ).hits
    rows = [x.to_dict() for x in hits]
    h = next(r for r in rows if r["text"].startswith("Russia’s Defense Ministry said on Thursday"))
    assert h["speaker"]["text"] == "Russia’s Defense Ministry" and h["cue"]["text"] == "said"
    assert h["mode"] == "reported" and h["hedged"] is False
    assert h["event_date"]["date_start"] == "2022-08-18"
    got = {(e["canonical"], e["label"]) for e in h["entities"]}
    assert ("MiG-31", "aircraft") in got and ("Kaliningrad", "GPE") in got
    assert 0.0 <= h["checkworthy"] <= 1.0
    # every span's offsets point into the article text, like the passage's
    article = sample_searcher.catalog.article_text(h["article_id"])
    for r in rows:
        text = sample_searcher.catalog.article_text(r["article_id"])
        for span in _spans(r):
            assert text[span["start"] : span["end"]] == span["text"]
    assert article[h["start"] : h["end"]] == h["text"]


def test_hit_json_keys_are_stable_and_show_displays_features(sample_index, cli):
    r = cli("search", "Kinzhal", "--index", sample_index, "--json", "-k", "3", "-m", "keyword")
    assert r.exit_code == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert rows and all(set(FEATURES) <= set(row) for row in rows)
    assert all(row["mode"] in ("quote", "reported", "assertion") for row in rows)
    pid = rows[0]["passage_id"]
    shown = json.loads(cli("show", pid, "--index", sample_index, "--json").stdout)
    assert {k: shown[k] for k in FEATURES} == {k: rows[0][k] for k in FEATURES}
    text = cli("show", pid, "--index", sample_index).stdout
    assert "claim:" in text and rows[0]["mode"] in text


def test_export_carries_features_jsonl_objects_csv_and_parquet_typed(sample_index, cli, tmp_path):
    import csv

    import pyarrow.parquet as pq

    for ext in ("jsonl", "csv", "parquet"):
        r = cli(
            "export", "Kinzhal", "-o", tmp_path / f"x.{ext}", "--index", sample_index, "-m", "keyword", "-q"
        )
        assert r.exit_code == 0, r.stderr
    lines = (tmp_path / "x.jsonl").read_text().splitlines()[1:]
    objs = [json.loads(x) for x in lines]
    assert objs and all(isinstance(o["entities"], list) and o["mode"] for o in objs)
    with open(tmp_path / "x.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["mode"] for r in rows] == [o["mode"] for o in objs]
    assert [json.loads(r["entities"]) for r in rows] == [o["entities"] for o in objs]
    t = pq.read_table(tmp_path / "x.parquet")
    assert (
        str(t.schema.field("checkworthy").type) == "double" and str(t.schema.field("hedged").type) == "bool"
    )
    assert t.column("checkworthy").to_pylist() == [o["checkworthy"] for o in objs]


# -- 3. filters inside both legs ---------------------------------------------------------------------
def _brute(stored: dict[int, dict], **cond) -> set[int]:
    """The passages a filter admits, by a plain Python walk over the stored JSON."""
    from index.extraction import entity_class

    out = set()
    for pid, f in stored.items():
        ents = {(entity_class(e["label"]), e["canonical"].lower()) for e in f["entities"]}
        sp = f["speaker"]
        name = ((sp["name"] or sp["text"]) if sp else "") or ""
        ok = (
            (cond.get("speaker") is None or cond["speaker"].lower() in name.lower())
            and (cond.get("claim_mode") is None or f["mode"] == cond["claim_mode"])
            and (cond.get("checkworthy") is None or (f["checkworthy"] or 0) >= cond["checkworthy"])
            and all(n.lower() in {c for _, c in ents} for n in cond.get("entities", []))
            and all(("place", n.lower()) in ents for n in cond.get("places", []))
            and all(("weapon", n.lower()) in ents for n in cond.get("weapons", []))
        )
        if ok:
            out.add(pid)
    return out


def _filter_cases(stored):
    """One case per filter kind, with values the index holds (the most common ones)."""
    from index.extraction import entity_class

    speakers = Counter(
        (f["speaker"]["name"] or f["speaker"]["text"]) for f in stored.values() if f["speaker"]
    )
    by_class = Counter(
        (entity_class(e["label"]), e["canonical"]) for f in stored.values() for e in f["entities"]
    )
    place = next(c for (k, c), _ in by_class.most_common() if k == "place")
    weapon = next(c for (k, c), _ in by_class.most_common() if k == "weapon")
    entity = next(c for (k, c), _ in by_class.most_common() if k == "org")
    return [
        {"speaker": speakers.most_common(1)[0][0].split()[-1]},
        {"claim_mode": "quote"},
        {"claim_mode": "reported"},
        {"checkworthy": 0.7},
        {"places": [place]},
        {"weapons": [weapon]},
        {"entities": [entity]},
        {"places": [place], "claim_mode": "assertion"},
    ]


@requires_shared
def test_filters_admit_only_matching_passages_and_k_whenever_k_exist(corpora_searcher):
    from search.options import SearchOptions
    from search.query import Filters

    s = corpora_searcher
    stored = _stored(s)
    k = 7
    for cond in _filter_cases(stored):
        allowed = _brute(stored, **cond)
        assert allowed, cond
        for mode in ("semantic", "keyword", "hybrid"):
            opts = SearchOptions(mode=mode, limit=k, filters=Filters(**cond), min_similarity=None)
            got = [h.passage_id for h in s.search("Russian missile strike", opts).hits]
            assert set(got) <= allowed, (cond, mode)
            if mode == "semantic":  # every admitted passage is a candidate: k of them whenever k exist
                assert len(got) == min(k, len(allowed)), (cond, mode)
            if mode == "keyword":  # the unfiltered keyword matches among the admitted ones
                every = SearchOptions(mode="keyword", limit=0)
                matches = {pid for pid, _, _ in s.iter_ranked("Russian missile strike", every)}
                assert len(got) == min(k, len(matches & allowed)), (cond, mode)


def test_a_filter_by_hand_and_paging_with_it(sample_searcher):
    from search.options import SearchOptions
    from search.query import Filters

    s = sample_searcher
    stored = _stored(s)
    quotes = {pid for pid, f in stored.items() if f["mode"] == "quote"}
    opts = SearchOptions(mode="semantic", limit=100, min_similarity=None, filters=Filters(claim_mode="quote"))
    got = [h.passage_id for h in s.search("Putin said", opts).hits]
    assert sorted(got) == sorted(quotes) and quotes
    page = SearchOptions(mode="hybrid", limit=2, filters=Filters(weapons=["Kinzhal"]), depth=50)
    one = [h.passage_id for h in s.search("Kinzhal missile", page).hits]
    two = [
        h.passage_id
        for h in s.search("Kinzhal missile", SearchOptions(**{**page.__dict__, "offset": 2})).hits
    ]
    both = [
        h.passage_id for h in s.search("Kinzhal missile", SearchOptions(**{**page.__dict__, "limit": 4})).hits
    ]
    assert one + two == both and len(both) == 4


def test_bad_claim_filters_fail_in_one_line_before_loading(sample_index, cli):
    for args, word in (
        (("--claim-mode", "gossip"), "quote, reported, assertion"),
        (("--checkworthy", "1.5"), "<= 1"),
    ):
        r = cli("search", "Kinzhal", "--index", sample_index, *args)
        assert r.exit_code == 2 and word in r.stderr and len(r.stderr.strip().splitlines()) == 1


# -- 4. facets ---------------------------------------------------------------------------------------
@requires_shared
def test_facet_counts_equal_a_brute_force_count_over_the_catalog(corpora_searcher):
    from index.extraction import entity_class
    from search.facets import FACETS, facets
    from search.options import SearchOptions

    s = corpora_searcher
    query = "missile"
    result = facets(s, query, SearchOptions(mode="keyword"), FACETS, top=None)
    pids = {pid for pid, _, _ in s.iter_ranked(query, SearchOptions(mode="keyword", limit=0))}
    assert result.matches == len(pids) > 20
    stored, rows = _stored(s), s.catalog.passages(pids)
    want: dict[str, Counter] = {name: Counter() for name in FACETS}
    for pid in pids:
        f, row = stored[pid], rows[pid]
        if f["speaker"]:
            want["speaker"][f["speaker"]["name"] or f["speaker"]["text"]] += 1
        want["mode"][f["mode"]] += 1
        if row["source"]:
            want["source"][row["source"]] += 1
        if row["date"]:
            want["month"][row["date"][:7]] += 1
        for cls, name in {(entity_class(e["label"]), e["canonical"]) for e in f["entities"]}:
            want[cls][name] += 1
    for name in FACETS:
        assert dict(result.counts[name]) == dict(want[name]), name
    assert sum(n for _, n in result.counts["mode"]) == result.matches


def test_facets_cli_lists_kaliningrad_for_kinzhal(sample_index, cli):
    r = cli("facets", "Kinzhal", "--by", "place", "--index", sample_index, "--json")
    assert r.exit_code == 0, r.stderr
    got = json.loads(r.stdout)
    places = {row["value"]: row["count"] for row in got["facets"]["place"]}
    assert places.get("Kaliningrad", 0) >= 1 and got["matches"] >= places["Kaliningrad"]
    table = cli("facets", "Kinzhal", "--by", "place,weapon", "--index", sample_index)
    assert "Kaliningrad" in table.stdout and "weapon" in table.stdout
    bad = cli("facets", "Kinzhal", "--by", "colour", "--index", sample_index)
    assert bad.exit_code == 2 and "speaker, place, weapon" in bad.stderr


# -- 1. --no-extract, older indexes, reindex re-extracts ---------------------------------------------
def test_no_extract_then_reindex_adds_the_same_features(tmp_path, cli, sample_index):
    from index.ingest import ingest, reindex
    from search.searcher import Searcher

    src = tmp_path / "src"
    src.mkdir()
    for name in ("01_kinzhal_kaliningrad.txt", "04_patriot_kinzhal_dispute.txt"):
        (src / name).write_bytes((SAMPLES / name).read_bytes())
    plain, full = tmp_path / "plain", tmp_path / "full"
    ingest(plain, [src], extract=False)
    ingest(full, [src])
    with Searcher(plain) as s:
        assert s.manifest.counts["claim_features"] == 0 < s.manifest.counts["passages"]
    r = cli("search", "Kinzhal", "--index", plain, "--weapon", "Kinzhal")
    assert r.exit_code == 2 and f"claims reindex --index {plain}" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    # claim facets refuse the same way (they counted nothing, exit 0); facets of the passages still count
    for by in ("place", "speaker,source", "mode"):
        r = cli("facets", "Kinzhal", "--by", by, "--index", plain)
        assert r.exit_code == 2 and f"claims reindex --index {plain}" in r.stderr, (by, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1
    r = cli("facets", "Kinzhal", "--by", "source", "--index", plain, "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["facets"]["source"]
    # an index written before the tables existed: drop them, as an older version left it
    db = sqlite3.connect(plain / "catalog.sqlite")
    db.executescript("DROP TABLE claim_features; DROP TABLE passage_entities;")
    db.close()
    assert cli("search", "Kinzhal", "--index", plain, "--json", "-m", "keyword").exit_code == 0
    assert cli("facets", "Kinzhal", "--by", "place", "--index", plain).exit_code == 2
    reindex(plain)
    r = cli("facets", "Kinzhal", "--by", "place", "--index", plain, "--json")
    assert r.exit_code == 0 and "Kaliningrad" in [x["value"] for x in json.loads(r.stdout)["facets"]["place"]]
    with Searcher(plain) as a, Searcher(full) as b:
        assert a.manifest.counts["claim_features"] == a.manifest.counts["passages"]
        fa = [f for _, f in sorted(_stored(a).items())]
        fb = [f for _, f in sorted(_stored(b).items())]
        assert fa == fb and fa


def test_a_batch_rolled_back_takes_its_features_with_it(tmp_path):
    from index.errors import InputFormatError
    from index.ingest import ingest
    from search.searcher import Searcher

    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (first / "a.txt").write_bytes((SAMPLES / "01_kinzhal_kaliningrad.txt").read_bytes())
    (second / "b.txt").write_bytes((SAMPLES / "04_patriot_kinzhal_dispute.txt").read_bytes())
    (second / "z.jsonl").write_text("{not json\n")
    index = tmp_path / "index"
    ingest(index, [first])
    # chunk=1: b.txt is applied (features written) before z.jsonl aborts the --strict batch
    with pytest.raises(InputFormatError):
        ingest(index, [second], strict=True, chunk=1)
    ingest(index, [first])  # the next writer recovers
    db = sqlite3.connect(index / "catalog.sqlite")
    orphans = db.execute(
        "SELECT count(*) FROM claim_features WHERE passage_id NOT IN (SELECT pid FROM passages)"
    ).fetchone()[0]
    entity_orphans = db.execute(
        "SELECT count(*) FROM passage_entities WHERE passage_id NOT IN (SELECT pid FROM passages)"
    ).fetchone()[0]
    stored = db.execute("SELECT count(*) FROM claim_features").fetchone()[0]
    db.close()
    with Searcher(index) as s:
        assert orphans == entity_orphans == 0
        assert stored == s.manifest.counts["claim_features"] == s.manifest.counts["passages"] > 0
