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
