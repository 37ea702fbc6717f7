"""Keyword mode (Whoosh BM25F) on the real sample index: query syntax, filters, designators, highlights."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from index.analysis import claim_analyzer
from search.query import Filters
from search.searcher import SearchOptions

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
requires_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"needs the shared data folder {SHARED} (corpora); it is absent"
)


# -- helpers ----------------------------------------------------------------------------------------
def terms(text: str, mode: str = "query") -> set[str]:
    """What the analyzer makes of ``text``: query mode keeps designators whole, index mode adds parts."""
    return {t.text for t in claim_analyzer()(text, mode=mode) if not t.stopped}


def term(word: str) -> str:
    (t,) = terms(word)
    return t


def has(hit, word: str) -> bool:
    """Is ``word`` an index term of the passage (its text, or its article's title: the default fields)?

    Index terms include the parts of compounds: "Hypersonic-armed" holds "hypersonic", "Iskander-M" "Iskander".
    """
    return term(word) in terms(hit.text, mode="index") | terms(hit.title, mode="index")


def adjacent(text: str, first: str, second: str) -> bool:
    """Are the words ``first`` and ``second`` next to each other (as index terms) in ``text``?"""
    a, b = term(first), term(second)
    positions: dict[str, set[int]] = {}
    for t in claim_analyzer()(text, positions=True, mode="index"):
        if not t.stopped:
            positions.setdefault(t.text, set()).add(t.pos)
    return any(p + 1 in positions.get(b, set()) for p in positions.get(a, set()))


def keyword(searcher, text: str, **kw) -> list:
    """Every keyword hit (limit and depth above the number of passages in the index)."""
    n = len(searcher.catalog.passage_ids()) + 10
    return searcher.search(text, SearchOptions(mode="keyword", limit=n, depth=n, **kw)).hits


def ids(hits) -> set[int]:
    return {h.passage_id for h in hits}


def all_passages(searcher) -> list[dict]:
    return list(searcher.catalog.iter_passages())


def json_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


# -- query syntax -------------------------------------------------------------------------------------
def test_phrase_hits_are_a_subset_of_the_bag_of_words_hits(sample_searcher):
    phrase = keyword(sample_searcher, '"hypersonic missiles"')
    bag = keyword(sample_searcher, "hypersonic missiles")
    assert phrase, "the samples talk about hypersonic missiles"
    assert ids(phrase) < ids(bag), "a phrase is stricter than its words (some passages say 'missile' alone)"
    for h in phrase:
        assert adjacent(h.text, "hypersonic", "missiles") or adjacent(h.title, "hypersonic", "missiles"), (
            h.text
        )
    for h in bag:
        assert has(h, "hypersonic") or has(h, "missiles")


def test_boolean_and_or_not(sample_searcher):
    s = sample_searcher
    both = keyword(s, "Kaliningrad AND NATO")
    assert both and all(has(h, "Kaliningrad") and has(h, "NATO") for h in both)
    assert ids(both) <= ids(keyword(s, "Kaliningrad")) & ids(keyword(s, "NATO"))

    either = keyword(s, "Zircon OR Iskander")
    assert ids(either) == ids(keyword(s, "Zircon")) | ids(keyword(s, "Iskander"))
    assert either and all(has(h, "Zircon") or has(h, "Iskander") for h in either)

    hypersonic = keyword(s, "hypersonic")
    assert any(has(h, "Kinzhal") for h in hypersonic), "so that NOT has something to remove"
    without = keyword(s, "hypersonic NOT Kinzhal")
    # "a NOT b" is a minus b (as in Lucene), not "a, or anything without b".
    assert without and ids(without) == {h.passage_id for h in hypersonic if not has(h, "Kinzhal")}
    for h in without:
        assert not has(h, "Kinzhal"), "a NOT term never appears in a hit (text or title)"
        assert "kinzhal" not in (h.text + h.title).lower()


def test_field_queries_source_and_title(sample_searcher):
    s = sample_searcher
    only = keyword(s, "missile AND source:articles")
    assert only and all(h.source == "articles" for h in only)
    assert ids(only) == {h.passage_id for h in keyword(s, "missile") if h.source == "articles"}

    titled = keyword(s, "title:Zircon")
    assert titled and all(term("Zircon") in terms(h.title, mode="index") for h in titled)
    zircon_articles = {p["article_id"] for p in all_passages(s) if "zircon" in p["title"].lower()}
    assert {h.article_id for h in titled} == zircon_articles


def test_date_filters_and_date_range_query(sample_searcher, cli, sample_index):
    s = sample_searcher
    every = keyword(s, "missile")
    in_2022 = {h.passage_id for h in every if h.date and "2022-01-01" <= h.date[:10] <= "2022-12-31"}
    assert in_2022, "01_kinzhal_kaliningrad is dated 2022-08-18 by its header"

    filtered = keyword(s, "missile", filters=Filters(since="2022-01-01", until="2022-12-31"))
    assert ids(filtered) == in_2022
    ranged = keyword(s, "missile AND date:[2022-01-01 TO 2022-12-31]")
    assert ids(ranged) == in_2022

    r = cli("search", "missile", "--mode", "keyword", "--since", "2021-01-01", "--until", "2021-12-31",
            "--json", "-k", "500", "--index", sample_index)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    rows = json_lines(r.stdout)
    assert rows and all(row["date"] and "2021-01-01" <= row["date"][:10] <= "2021-12-31" for row in rows)
    assert {row["passage_id"] for row in rows} == {
        h.passage_id for h in every if h.date and "2021-01-01" <= h.date[:10] <= "2021-12-31"
    }


@pytest.mark.slow
@requires_shared
def test_source_and_where_filters_on_corpora_metadata(corpora_searcher, corpora_subset, corpora_index, cli):
    s = corpora_searcher
    every = keyword(s, "Ukraine OR Syria OR NATO OR war")
    assert every

    def lower(value) -> str:
        return str(value).lower()

    for where, check in (
        ([("language", "Russian")], lambda h: lower(h.metadata.get("language")) == "russian"),
        ([("label", "fake")], lambda h: lower(h.metadata.get("label")) == "fake"),
        (
            [("language", "Russian"), ("country", "Ukraine")],
            lambda h: (
                lower(h.metadata.get("language")) == "russian"
                and "ukraine" in lower(h.metadata.get("country")).split(", ")
            ),
        ),
    ):
        got = keyword(s, "Ukraine OR Syria OR NATO OR war", filters=Filters(where=where))
        assert got, where
        assert all(check(h) for h in got), where
        assert ids(got) == {h.passage_id for h in every if check(h)}, "the filter loses nothing"

    # --source with a small source of the fakes corpus, through the CLI
    fakes = corpora_subset.records["fakes-syria-war"]
    small = min({r["source"] for r in fakes}, key=lambda src: sum(r["source"] == src for r in fakes))
    r = cli("search", "Syria OR war OR said", "--mode", "keyword", "--source", small, "--json", "-k", "1000",
            "--index", corpora_index)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    rows = json_lines(r.stdout)
    assert rows and {row["source"] for row in rows} == {small}

    r = cli("search", "war", "--mode", "keyword", "--where", "label=fake", "--where", "location=idlib",
            "--json", "-k", "1000", "--index", corpora_index)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    rows = json_lines(r.stdout)
    assert rows and all(
        row["metadata"]["label"] == "fake" and row["metadata"]["location"].lower() == "idlib" for row in rows
    )
    r = cli("search", "war", "--mode", "keyword", "--where", "no_such_field=x", "--index", corpora_index)
    assert r.exit_code == 2 and "no_such_field" in r.stderr


def test_literal_takes_quotes_and_colons_as_plain_words(sample_searcher, cli, sample_index):
    text = 'Kaliningrad: "MiG-31 (title:'
    got = keyword(sample_searcher, text, literal=True)
    words = ["Kaliningrad", "MiG-31", "title"]
    assert got and all(any(has(h, w) for w in words) for h in got)
    assert any(has(h, "Kaliningrad") and has(h, "MiG-31") for h in got)

    r = cli("search", text, "--mode", "keyword", "--index", sample_index)
    assert r.exit_code == 2, "without --literal the quote and bracket are syntax"
    r = cli("search", text, "--mode", "keyword", "--literal", "--json", "--index", sample_index)
    assert r.exit_code == 0, r.stderr
    assert {row["passage_id"] for row in json_lines(r.stdout)} <= ids(got)


# -- designators ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("designator", "parts"),
    [
        ("MiG-31", ["MiG", "31", "MiG31"]),
        ("S-400", ["400", "S400"]),
        ("9M723", ["723", "9m723"]),
        ("155mm", ["155"]),
    ],
)
def test_designators_are_found_whole_and_by_parts(sample_searcher, designator, parts):
    s = sample_searcher
    whole = term(designator)
    # Passages that contain the designator as a word of their own (not "MiG-31K", not "MiG-31s").
    expected = {p["passage_id"] for p in all_passages(s) if whole in terms(p["text"]) | terms(p["title"])}
    assert expected, f"the samples mention {designator}"
    got = keyword(s, designator)
    assert ids(got) == expected
    for h in got:
        assert designator.lower() in (h.text + " " + h.title).lower()
    for part in parts:
        assert ids(keyword(s, part)) >= expected, f"{part!r} finds every {designator}"


# -- highlights ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "query", ["hypersonic missiles Kaliningrad", '"hypersonic missiles"', "MiG-31 OR S-400"]
)
def test_highlights_slice_back_to_matching_words(sample_searcher, query):
    words = [w.strip('"') for w in query.split() if w != "OR"]
    stems = {term(w) for w in words}
    got = keyword(sample_searcher, query)
    assert got
    for h in got:
        last = 0
        for a, b in h.highlights:
            assert last <= a < b <= len(h.text), "sorted, inside the passage, never overlapping"
            last = b
            word = h.text[a:b].lower()
            assert any(word.startswith(st) for st in stems), (word, query)
        if any(stem in terms(h.text, mode="index") for stem in stems):
            assert h.highlights, f"a passage that matches in its text has highlights: {h.text[:80]}"


# -- the CLI: exit codes, errors, and no torch -----------------------------------------------------------
def test_no_results_exit_1(cli, sample_index):
    r = cli("search", "xyzzyplugh", "--mode", "keyword", "--json", "--index", sample_index)
    assert r.exit_code == 1 and r.stdout.strip() == ""


@pytest.mark.parametrize("query", ['"unclosed', "(a OR b", "date:[foo TO bar]", 'Kaliningrad "MiG-31'])
def test_broken_query_is_one_line_naming_literal(cli, sample_index, query):
    r = cli("search", query, "--mode", "keyword", "--index", sample_index)
    assert r.exit_code == 2
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    assert "--literal" in lines[0] and "Traceback" not in r.stderr
    assert r.stdout == ""


def test_keyword_search_does_not_import_torch(sample_index):
    code = f"""
import sys
from cli import app
try:
    app(["search", "hypersonic", "--mode", "keyword", "--json", "--index", {str(sample_index)!r}])
except SystemExit as e:
    status = e.code
heavy = sorted(m for m in ("torch", "sentence_transformers", "transformers", "faiss") if m in sys.modules)
print("HEAVY", heavy, "STATUS", status, file=sys.stderr)
sys.exit(3 if heavy else status)
"""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert "HEAVY [] STATUS 0" in proc.stderr, proc.stderr[-2000:]
    assert proc.returncode == 0
    rows = json_lines(proc.stdout)
    assert rows and all("hypersonic" in (r["text"] + r["title"]).lower() for r in rows)
