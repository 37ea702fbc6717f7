"""Query parsing details that the ranking depends on (no index needed: the schema alone)."""

from __future__ import annotations

from whoosh import query

from index.analysis import build_schema
from search.query import OR_COORD, conjunctive_query, parse_query

SCHEMA = build_schema()


def _nodes(q):
    yield q
    for c in q.children():
        yield from _nodes(c)


def test_bag_of_words_has_an_and_form_and_keeps_coordination():
    q = parse_query("Russian troops withdraw", SCHEMA)
    assert isinstance(q, query.Or) and q.scale == OR_COORD
    conj = conjunctive_query("Russian troops withdraw", SCHEMA)
    assert isinstance(conj, query.And) and len(conj.subqueries) == 3
    fields = {t.fieldname for t in _nodes(conj) if isinstance(t, query.Term)}
    assert fields == {"text", "title", "context"}


def test_phrases_skip_the_field_without_positions():
    for q in (
        parse_query('"hypersonic missiles" Kinzhal', SCHEMA),
        conjunctive_query('"hypersonic missiles" x', SCHEMA),
    ):
        phrases = [n for n in _nodes(q) if isinstance(n, query.Phrase)]
        assert {p.fieldname for p in phrases} == {"text", "title"}


def test_not_is_excluded_in_both_forms():
    assert conjunctive_query("Ukraine NOT Crimea", SCHEMA) is None  # one clause: no separate AND form
    conj = conjunctive_query("Ukraine war NOT Crimea", SCHEMA)
    assert isinstance(conj, query.AndNot)
    assert isinstance(parse_query("Ukraine war NOT Crimea", SCHEMA), query.AndNot)


# -- field clauses are filters (search.clauses) -----------------------------------------------------
import datetime as dt  # noqa: E402

import pytest  # noqa: E402
from whoosh.util.times import datetime_to_long  # noqa: E402

from index.errors import QuerySyntaxError  # noqa: E402
from search.clauses import has_clauses, strip_clauses  # noqa: E402
from search.query import analyze_query, field_names  # noqa: E402

META = ["language", "keywords"]


def _leaves(r) -> list:
    return [r.leaf] if r.op == "leaf" else [x for p in r.parts for x in _leaves(p)]


def test_source_clause_is_a_whole_value_filter_not_a_scored_term():
    pq = analyze_query('source:"The New York Times" artillery', SCHEMA, metadata_fields=META)
    assert {t.fieldname for t in _nodes(pq.scored) if isinstance(t, query.Term)} == {
        "text",
        "title",
        "context",
    }
    assert _leaves(pq.restriction) == [query.Term("source_id", "the new york times")]
    assert pq.words == "artillery"
    alone = analyze_query('source:"The New York Times"', SCHEMA)  # valid: lists that source
    assert isinstance(alone.scored, query.Every) and alone.words == ""
    assert _leaves(analyze_query("Source:TASS MH17", SCHEMA).restriction) == [query.Term("source_id", "tass")]
    assert _leaves(analyze_query('keywords:"Black Sea" x', SCHEMA, metadata_fields=META).restriction) == [
        query.Term("m_keywords", "black sea")
    ]
    assert _leaves(analyze_query("LANGUAGE:Russian x", SCHEMA, metadata_fields=META).restriction) == [
        query.Term("m_language", "russian")
    ]


def test_and_or_not_combine_clauses():
    r = analyze_query("NOT source:X y", SCHEMA).restriction
    assert r.op == "not" and _leaves(r) == [query.Term("source_id", "x")]
    r = analyze_query("(source:A OR source:B) y", SCHEMA).restriction
    assert r.op == "or" and len(r.parts) == 2
    r = analyze_query("source:A AND date:2022 AND y", SCHEMA).restriction
    assert r.op == "and" and len(r.parts) == 2
    assert analyze_query("source:A AND y", SCHEMA).conj is None  # one scored clause left: no AND form
    both = analyze_query("source:A x y", SCHEMA)
    assert isinstance(both.conj, query.And) and both.scored.scale == OR_COORD
    for text in ("source:A OR y", "(source:A AND y) OR z", "NOT (source:A OR y) z"):
        with pytest.raises(QuerySyntaxError, match="cannot OR the field clause"):
            analyze_query(text, SCHEMA)


def _bounds(text: str) -> tuple[int | None, int | None]:
    (leaf,) = _leaves(analyze_query(text + " x", SCHEMA).restriction)
    return leaf.start, leaf.end


def _day(y, m, d, end=False) -> int:
    t = dt.datetime(y, m, d)
    return datetime_to_long(t + dt.timedelta(days=1)) - 1 if end else datetime_to_long(t)


def test_strict_date_bounds_exclude_their_end_days():
    assert _bounds("date:<2022-08-18") == (None, _day(2022, 8, 18) - 1)
    assert _bounds("date:<=2022-08-18") == (None, _day(2022, 8, 18, end=True))
    assert _bounds("date:>2022-08-25") == (_day(2022, 8, 26), None)
    assert _bounds("date:>=2022-08-25") == (_day(2022, 8, 25), None)
    assert _bounds("date:{2022-08-18 TO 2022-08-25}") == (_day(2022, 8, 19), _day(2022, 8, 24, end=True))
    assert _bounds("date:[2022-08-18 TO 2022-08-25]") == (_day(2022, 8, 18), _day(2022, 8, 25, end=True))
    assert _bounds("date:[2022 TO]") == (_day(2022, 1, 1), None)
    assert _bounds("date:{2021 TO 2023}") == (_day(2022, 1, 1), _day(2022, 12, 31, end=True))
    with pytest.raises(QuerySyntaxError, match="--literal"):
        analyze_query("date:notadate x", SCHEMA)


def test_clause_text_is_stripped_for_the_semantic_leg():
    names = field_names(SCHEMA, META)
    assert "source" in names and "language" in names and "pid" not in names
    assert strip_clauses('source:"The New York Times" artillery date:[2022 TO 2023]', names) == "artillery"
    assert strip_clauses("(source:A OR source:B) MH17 NOT Language:ru", names) == "MH17"
    assert has_clauses("Source:TASS x", names) and not has_clauses("Source: TASS said", names)
    assert not has_clauses("see https://example.com", names)
