"""Field clauses restrict (issue 11 items 2-4): ``source:``, metadata keys, ``article_id:``, ``url:`` and
``date:`` are filters in every leg and every operator mode, matched on whole values, with strict date
bounds; see ``search.clauses`` for the rule. A tiny real index (real ingest, Whoosh, FAISS, model) whose
expected answers are read off the records below."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from search.query import Filters
from search.searcher import Searcher, SearchOptions

NYT, GUARDIAN = "The New York Times", "The Guardian"
RECORDS = [  # id, source, date, text, extra fields (metadata)
    ("nyt-1", NYT, "2022-08-18", "Ukrainian artillery struck a Russian ammunition depot near Kherson.", {}),
    ("nyt-2", NYT, "2022-08-25", "Artillery duels continued along the front as Ukraine pushed south.", {}),
    ("nyt-3", NYT, "2022-08-21", "Officials discussed grain exports from Odesa.", {}),
    (
        "grd-1",
        GUARDIAN,
        "2022-08-20",
        "Artillery hit Kharkiv; artillery units moved, the artillery chief said.",
        {},
    ),
    ("grd-2", GUARDIAN, "2022-08-26", "More artillery arrived near Izium overnight.", {}),
    (
        "eud-1",
        "EUvsDisinfo",
        "2022-08-17",
        "Pro-Kremlin outlets claim the artillery shelling was staged.",
        {},
    ),
    (
        "spu-1",
        "Sputnik",
        "2014-07-20",
        "Sputnik says MH17 was downed by a Ukrainian jet.",
        {"language": "Russian"},
    ),
    (
        "rt-1",
        "RT",
        "2014-07-18",
        "MH17 crash: RT shows MH17 wreckage, MH17 debris in Donetsk.",
        {"language": "Russian"},
    ),
    (
        "tas-1",
        "TASS",
        "2021-11-01",
        "Zircon hypersonic missile test completed in the White Sea.",
        {"language": "English"},
    ),
    (
        "tas-2",
        "TASS",
        "2022-02-24",
        "S-400 batteries deployed near Belgorod, TASS reports.",
        {"language": "English"},
    ),
    ("nyt-4", NYT, "2022-03-02", "The S-400 system was seen near Kursk.", {}),
]


@pytest.fixture(scope="module")
def clause_index(tmp_path_factory) -> Path:
    from index.ingest import ingest

    folder = tmp_path_factory.mktemp("clauses")
    src = folder / "articles.jsonl"
    rows = []
    for rid, source, date, text, extra in RECORDS:
        url = f"https://Example.com/{rid.upper()}"
        rows.append({"id": rid, "title": rid.split("-")[0], "text": text, "source": source, "date": date,
                     "url": url, **extra})  # fmt: skip
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    ingest(folder / "index", [src])
    return folder / "index"


@pytest.fixture(scope="module")
def searcher(clause_index):
    with Searcher(clause_index) as s:
        yield s


def _ids(s: Searcher, text: str, mode: str = "keyword", operator: str = "auto", **kw) -> list[str]:
    opts = SearchOptions(mode=mode, limit=50, operator=operator, **kw)
    return [h.article_id for h in s.search(text, opts).hits]


def test_quoted_source_restricts_and_alone_lists_it(searcher):
    # unrestricted, the Guardian's passage (artillery three times) ranks first
    assert _ids(searcher, "artillery")[0] == "grd-1"
    assert set(_ids(searcher, 'source:"The New York Times" artillery')) == {"nyt-1", "nyt-2"}
    assert set(_ids(searcher, 'source:"the new york times"')) == {"nyt-1", "nyt-2", "nyt-3", "nyt-4"}
    assert _ids(searcher, "source:Sputnik MH17") == ["spu-1"]  # not RT's MH17 x3 above it
    assert _ids(searcher, "Source:SPUTNIK MH17") == ["spu-1"]  # field names and values in any case


@pytest.mark.parametrize("mode", ["keyword", "hybrid", "semantic"])
@pytest.mark.parametrize("operator", ["auto", "or"])
def test_clauses_restrict_in_every_mode_and_operator(searcher, mode, operator):
    for text, allowed in (
        ("source:TASS missile test", {"tas-1", "tas-2"}),
        ("date:[2030-01-01 TO 2030-12-31] Zircon", set()),  # issue example: no 2021 passage
        (
            "date:[2022-08-01 TO 2022-08-31] artillery shelling",
            {"nyt-1", "nyt-2", "grd-1", "grd-2", "eud-1", "nyt-3"},
        ),
        ("language:russian MH17 crash", {"spu-1", "rt-1"}),
    ):
        got = set(_ids(searcher, text, mode=mode, operator=operator))
        assert got <= allowed, (text, got - allowed)
        if allowed and mode != "semantic":
            assert got, text


def test_not_and_or_between_clauses(searcher):
    assert set(_ids(searcher, "NOT source:TASS S-400")) == {"nyt-4"}
    assert set(_ids(searcher, "(source:RT OR source:Sputnik) MH17")) == {"rt-1", "spu-1"}
    assert set(_ids(searcher, "source:RT OR source:Sputnik")) == {"rt-1", "spu-1"}
    assert set(_ids(searcher, "source:reu* OR source:tas*")) == {"tas-1", "tas-2"}  # wildcards: whole names


def test_or_between_a_clause_and_words_is_refused(clause_index, cli):
    r = cli("search", "source:TASS OR MH17", "-m", "keyword", "--index", str(clause_index))
    assert r.exit_code == 2 and "cannot OR the field clause" in r.stderr and len(r.stderr.splitlines()) == 1


def test_article_id_and_url_match_whole_values_case_insensitively(searcher):
    assert _ids(searcher, "article_id:NYT-1") == ["nyt-1"]
    assert _ids(searcher, 'url:"https://example.com/TAS-2" S-400') == ["tas-2"]
    assert _ids(searcher, "URL:https://EXAMPLE.com/tas-2") == ["tas-2"]
    assert set(_ids(searcher, "article_id:TAS-3~ OR article_id:spu*")) == {"tas-1", "tas-2", "spu-1"}
    assert _ids(searcher, "source:Sputnk~ MH17") == ["spu-1"]  # fuzzy on whole source names


@pytest.mark.parametrize(
    "clause, expected",
    [
        ("date:<2022-08-18", {"eud-1"}),  # strict: not the 18th
        ("date:<=2022-08-18", {"eud-1", "nyt-1"}),
        ("date:>2022-08-25", {"grd-2"}),  # strict: not the 25th
        ("date:>=2022-08-25", {"grd-2", "nyt-2"}),
        ("date:{2022-08-18 TO 2022-08-25}", {"grd-1"}),  # neither end day
        ("date:[2022-08-18 TO 2022-08-25]", {"nyt-1", "grd-1", "nyt-2"}),
        ("date:[2022-08-20 TO]", {"grd-1", "nyt-2", "grd-2"}),  # open-ended
        ("date:2022-08", {"nyt-1", "nyt-2", "grd-1", "grd-2", "eud-1"}),
        ("NOT date:2022-08", {"nyt-4", "tas-2"}),  # S-400 passages are not on this list: see words below
    ],
)
def test_date_bounds(searcher, clause, expected):
    words = "artillery" if "NOT" not in clause else "S-400"
    assert set(_ids(searcher, f"{clause} {words}")) == expected


def test_issue_crash_query_answers(searcher, clause_index, cli):
    """``date:[2022-01-01 TO 2022-03-01] S-400`` crashed with ZeroDivisionError (Whoosh coordination)."""
    assert set(_ids(searcher, "date:[2022-01-01 TO 2022-03-01] S-400")) == {"tas-2"}
    r = cli("search", "date:[2022-01-01 TO 2022-03-01] S-400", "-m", "keyword", "--json",
            "--index", str(clause_index))  # fmt: skip
    assert r.exit_code == 0, r.stderr


def test_bad_date_clause_is_one_line_exit_2(clause_index, cli):
    r = cli("search", "date:notadate artillery", "-m", "keyword", "--index", str(clause_index))
    assert r.exit_code == 2 and "YYYY" in r.stderr


def test_clauses_and_options_combine(searcher):
    got = _ids(searcher, "source:TASS S-400 OR Zircon", filters=Filters(since="2022-01-01"))
    assert got == ["tas-2"]


def test_whoosh_path_restricts_the_same(searcher):
    """A phrase goes to Whoosh: the field clause still restricts there."""
    text = 'source:TASS "S-400 batteries"'
    fast = _ids(searcher, "source:TASS S-400 batteries")
    slow = _ids(searcher, text)
    assert slow == ["tas-2"] and fast == ["tas-2"]
    imp, searcher._impacts = searcher._impacts, None  # no impact arrays: Whoosh answers everything
    try:
        assert _ids(searcher, "source:Sputnik MH17") == ["spu-1"]
        assert set(_ids(searcher, "NOT source:TASS S-400")) == {"nyt-4"}
        assert set(_ids(searcher, 'source:"The New York Times"')) == {"nyt-1", "nyt-2", "nyt-3", "nyt-4"}
    finally:
        searcher._impacts = imp


@pytest.mark.parametrize(
    "pattern, word",
    [("miss?le", "missile"), ("m*ile", "missile"), ("hyperson?c", "hypersonic"), ("Art*lery", "artillery"),
     ("artillery*", "artillery"), ("S-4?0", "S-400"), ("deplo*ed", "deployed")],
)  # fmt: skip
def test_wildcards_on_stemmed_fields_find_the_words_they_spell(searcher, pattern, word):
    """The text fields index stems (missile -> missil): a pattern is matched so that it still finds the
    words it spells (``search.clauses.StemmedWildcard``)."""
    want = set(_ids(searcher, word))
    assert want and set(_ids(searcher, pattern)) == want
