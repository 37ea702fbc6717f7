"""Fuzzing the query path with arbitrary text: a query, or one clear QuerySyntaxError, never a crash.

(Input files are fuzzed in ``test_sources.py``.) The CLI part ingests three sample articles once
(with the fake embedder, ``conftest.py``); the parser part needs nothing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh import query as wq

from index.analysis import build_schema
from index.errors import QuerySyntaxError
from search.query import expanding_patterns, parse_query, positive_terms

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = build_schema()
PARSER_EXAMPLES = 1500
CLI_EXAMPLES = 300
RUNS = {"parser": 0, "cli": 0}


@pytest.fixture(scope="module", autouse=True)
def report_examples():
    """Print how many examples each property saw (``pytest -s``)."""
    yield
    print(f"\nfuzzing: parse_query {RUNS['parser']} examples, CLI keyword search {RUNS['cli']} examples")


# Whoosh's query language, to make syntax-heavy strings likelier than plain st.text() does.
_WORDS = """AND OR NOT ANDNOT ANDMAYBE TO to title: text: date: source: article_id: m_label: label:
nosuchfield: date:> date:<= pid: gen:>5 ~2 ^3 * ? '' kinzhal Kaliningrad MiG-31 9M723
the a 2022-02-24 20220224 yesterday ß İ 🚀 日本"""
TOKENS = [*"\"()[]{}*?~^:+-!&|\\/<>='", *_WORDS.split(), "date:[2022 TO", "\u00a0", "\u200b", "\n", "\t"]
QUERY_TEXT = st.one_of(
    st.text(max_size=60),
    st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=4)), max_size=12).map("".join),
    st.lists(st.sampled_from(TOKENS), max_size=10).map(" ".join),
)


@settings(max_examples=PARSER_EXAMPLES, deadline=None)
@given(text=QUERY_TEXT, literal=st.booleans())
def test_parse_query_returns_a_query_or_raises_query_syntax_error(text, literal):
    RUNS["parser"] += 1
    try:
        q = parse_query(text, SCHEMA, literal=literal)
    except QuerySyntaxError as e:
        assert str(e) and "\n" not in str(e) and "\r" not in str(e), repr(str(e))
        return
    assert isinstance(q, wq.Query)
    # What the searcher does next with a parsed query must not fail either.
    positive_terms(q, "text")
    expanding_patterns(q, "text")
    repr(q)


@pytest.fixture(scope="module")
def tiny_index(tmp_path_factory):
    from index.ingest import ingest

    src = tmp_path_factory.mktemp("articles")
    for name in (
        "01_kinzhal_kaliningrad.txt",
        "05_himars_makiivka_toll.txt",
        "11_christmas_ceasefire_claim.txt",
    ):
        shutil.copy(ROOT / "samples" / "articles" / name, src / name)
    index = tmp_path_factory.mktemp("fuzz") / "index"
    ingest(index, [src])
    return index


@pytest.mark.slow
@settings(
    max_examples=CLI_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=QUERY_TEXT, literal=st.booleans())
def test_cli_keyword_search_with_any_text_exits_cleanly(tiny_index, text, literal):
    from typer.testing import CliRunner

    from cli import app

    RUNS["cli"] += 1
    args = ["search", "--mode", "keyword", "--index", str(tiny_index), "--json"]
    args += ["--literal"] if literal else []
    r = CliRunner().invoke(app, [*args, "--", text])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert r.exit_code in (0, 1, 2), (r.exit_code, r.output)
    assert "Traceback" not in r.output
    if r.exit_code == 2:
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
