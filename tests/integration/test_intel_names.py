"""Canonical speaker and organisation names in the extraction stage and the speaker facet (issue 13,
item 1): the variants of one body are one facet row; the surface text and offsets stay as written;
"the country's X" and "the ministry" resolve against the article when unambiguous; an index extracted
by an older extractor is told to re-extract, and ``claims reindex`` does. Real spaCy, real indexes."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter

import pytest
from conftest import requires_shared

from index.records import Article


def _speakers(text: str, date: str = "2022-08-19") -> list[tuple[str, str | None]]:
    """(speaker text, speaker name) of each passage with a speaker, checking offsets on the way."""
    from index.intel.pipeline import extract
    from index.passages import split_article

    article = Article(article_id="t", text=text, date=date)
    passages, _ = split_article(article)
    out = []
    for f in extract(passages, text, date, embedder=False):
        if f.speaker is not None:
            assert text[f.speaker.start : f.speaker.end] == f.speaker.text  # offsets untouched
            out.append((f.speaker.text, f.speaker.name))
    return out


def test_variants_in_one_article_get_one_name_and_keep_their_text():
    got = _speakers(
        "Russia's Defense Ministry said on Thursday that three MiG-31 planes landed at Chkalovsk.\n\n"
        "The Russian Ministry of Defence said the planes carry Kinzhal missiles.\n\n"
        "The ministry said the deployment was a response to NATO.\n\n"
        "The Defense Ministry said the planes would stay on duty around the clock."
    )
    assert got == [
        ("Russia's Defense Ministry", "Russian Defense Ministry"),
        ("The Russian Ministry of Defence", "Russian Defense Ministry"),
        ("The ministry", "Russian Defense Ministry"),  # the one ministry the article named
        ("The Defense Ministry", "Russian Defense Ministry"),
    ]


def test_the_countrys_office_takes_the_article_country_when_unambiguous():
    got = _speakers(
        "Russia moved three MiG-31 planes to the Baltic coast on Thursday.\n\n"
        "The country's Defense Ministry said the planes carry Kinzhal missiles."
    )
    assert got == [("The country's Defense Ministry", "Russian Defense Ministry")]
    # two countries just before: which one's ministry is not known, so no country is guessed
    got = _speakers(
        "Russia and Ukraine both suffered heavy shelling near Kharkiv on Thursday.\n\n"
        "The country's Defense Ministry said three planes were shot down."
    )
    assert got == [("The country's Defense Ministry", "Defense Ministry")]


def test_a_bare_office_between_two_named_ministries_stays_unresolved():
    got = _speakers(
        "Russia's Defense Ministry said three planes landed at Chkalovsk on Thursday.\n\n"
        "Ukraine's Defense Ministry said the planes were seen over Kharkiv.\n\n"
        "The Defense Ministry said the planes were shot down."
    )
    assert got[:2] == [
        ("Russia's Defense Ministry", "Russian Defense Ministry"),
        ("Ukraine's Defense Ministry", "Ukrainian Defense Ministry"),
    ]
    assert got[2] == ("The Defense Ministry", "Defense Ministry")


def test_a_person_with_a_title_is_the_person():
    got = _speakers(
        "Russia's president, Vladimir Putin, said on Thursday that three planes were moved.\n\n"
        "Russian President Vladimir Putin said the planes would stay in Kaliningrad.\n\n"
        "Putin said more planes were needed."
    )
    assert got == [
        ("Russia's president, Vladimir Putin", "Vladimir Putin"),
        ("Russian President Vladimir Putin", "Vladimir Putin"),
        ("Putin", "Vladimir Putin"),
    ]


def test_org_entities_are_canonical_too():
    from index.intel.pipeline import extract
    from index.passages import split_article

    text = "The Russian Ministry of Defence and the World Health Organisation said three people died."
    passages, _ = split_article(Article(article_id="t", text=text))
    (f,) = extract(passages, text, None, embedder=False)
    orgs = {e.text: e.canonical for e in f.entities if e.label == "ORG"}
    assert orgs.get("the World Health Organisation", orgs.get("World Health Organisation")) == (
        "World Health Organization"
    )
    assert "Russian Defense Ministry" in orgs.values(), orgs


# -- the speaker facet on the real corpora ------------------------------------------------------------
# surface forms of Russia's defence ministry seen in the corpora subset (lower-cased, no leading "the")
RUSSIAN_MOD = {
    "russian defence ministry",
    "russian defense ministry",
    "russian ministry of defense",
    "russian ministry of defence",
    "russias ministry of defence",
    "russia's defense ministry",
    "russia’s defense ministry",
    "russia's ministry of defense",
    "russia’s ministry of defense",
}


@requires_shared
def test_speaker_variants_are_one_facet_row_whose_count_is_their_sum(corpora_searcher):
    from search.facets import facets
    from search.options import SearchOptions

    s = corpora_searcher
    query = "ministry OR defence OR defense"
    result = facets(s, query, SearchOptions(mode="keyword"), ("speaker",), top=None)
    rows = dict(result.counts["speaker"])
    pids = {pid for pid, _, _ in s.iter_ranked(query, SearchOptions(mode="keyword", limit=0))}
    db = sqlite3.connect(f"file:{s.dir / 'catalog.sqlite'}?mode=ro", uri=True)
    stored = {pid: json.loads(js) for pid, js in db.execute("SELECT passage_id, json FROM claim_features")}
    db.close()
    surfaces: Counter = Counter()
    for pid in pids:
        sp = stored[pid]["speaker"]
        if sp is None:
            continue
        surface = sp["text"].lower().removeprefix("the ")
        if surface in RUSSIAN_MOD:
            surfaces[surface] += 1
            assert sp["name"] == "Russian Defense Ministry", sp
    assert len(surfaces) >= 3, surfaces  # the corpora do spell it several ways
    # one row, counting every variant (and the "the ministry"s that named it by reference)
    assert rows["Russian Defense Ministry"] >= sum(surfaces.values())
    resolved = sum(
        1
        for pid in pids
        if stored[pid]["speaker"] and stored[pid]["speaker"]["name"] == "Russian Defense Ministry"
    )
    assert rows["Russian Defense Ministry"] == resolved
    # and no variant is a row of its own
    assert not {v.lower().removeprefix("the ") for v in rows} & (RUSSIAN_MOD - {"russian defense ministry"})


# -- a stale index: detected, and re-extracted by reindex ----------------------------------------------
def test_an_index_extracted_by_an_older_version_is_told_to_reindex(sample_index, copy_index, cli):
    from index.intel import EXTRACTOR_VERSION
    from index.manifest import read_manifest, write_manifest

    assert read_manifest(sample_index).extractor == EXTRACTOR_VERSION  # a fresh ingest records it
    path = copy_index(sample_index)
    m = read_manifest(path)
    m.extractor = ""  # as written before versions were recorded
    write_manifest(path, m)
    for args in (("search", "Kinzhal", "--speaker", "Putin"), ("facets", "Kinzhal", "--by", "speaker")):
        r = cli(*args, "--index", path)
        assert r.exit_code == 2, r.stdout
        assert "older version" in r.stderr and f"claims reindex --index {path}" in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    # a new article in the stale index leaves it stale (its old passages still hold the old names)
    from index.ingest import ingest, reindex

    new = path.parent / "new.jsonl"
    record = {
        "id": "new-1",
        "date": "2022-08-20",
        "text": "The Russian Ministry of Defence said two planes landed.",
    }
    new.write_text(json.dumps(record) + "\n")
    ingest(path, [new])
    assert read_manifest(path).extractor == ""
    reindex(path)
    assert read_manifest(path).extractor == EXTRACTOR_VERSION
    r = cli("facets", "Kinzhal", "--by", "speaker", "--index", path, "--json")
    assert r.exit_code == 0, r.stderr


@pytest.mark.parametrize("flag", ["--speaker", "speaker:"])
def test_a_speaker_filter_finds_the_canonical_name_by_any_variant(sample_searcher, flag):
    from search.options import SearchOptions
    from search.query import Filters

    variant = "Russia's Ministry of Defence"  # stored as "Russian Defense Ministry"
    if flag == "--speaker":
        res = sample_searcher.search(
            "MiG-31", SearchOptions(mode="keyword", limit=50, filters=Filters(speaker=variant))
        )
    else:
        res = sample_searcher.search(f'MiG-31 speaker:"{variant}"', SearchOptions(mode="keyword", limit=50))
    assert res.hits and all("Russian Defense Ministry" in h.speaker["name"] for h in res.hits)
