"""Query parsing (Whoosh's query language), ``--literal``, filters and highlight terms.

Default operator: OR with Whoosh's coordination bonus (``OrGroup.factory(0.9)``): a passage with
all the query's terms outranks one with most of them, but one with most of them is not dropped
(an AND default loses it; a plain OR ranks a passage repeating one rare term above one with all
the terms). See README "Keyword search" for the measured effect.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from whoosh import qparser, query
from whoosh.fields import Schema

from index.analysis import claim_analyzer, metadata_field_name
from index.errors import QuerySyntaxError, option
from search.claim_clauses import claim_field_names, parse_schema
from search.clauses import FieldClausePlugin, Restriction, split_clauses, stem_wildcards, strip_clauses
from search.filters import Filters, _date

__all__ = [
    "EmptyQueryError",
    "Filters",
    "ParsedQuery",
    "analyze_query",
    "conjunctive",
    "parse_query",
    "require_words",
]  # Filters: search.filters

DEFAULT_FIELDS = ("text", "title", "context")  # context: the embedded article fields but the title
OR_COORD = 0.9


_LINK = re.compile(r"(?:https?://|www\.|pic\.twitter\.com/)\S+")
# "— Jane Doe (@jdoe) January 8, 2020" at the end of a pasted tweet.
_SIGNATURE = re.compile(
    r"\s[—–]\s+(?P<name>[^—–\n]{1,80}?)\s*\(@\w{1,30}\)\s*(?P<date>\w+\.? \d{1,2}, \d{4})?\s*$"
)


def claim_date(text: str) -> str | None:
    """The day a pasted claim says it was made, as ``YYYY-MM-DD``: the date of a tweet's signature
    ("— Jane Doe (@jdoe) January 8, 2020"); None when there is none."""
    m = _SIGNATURE.search(text)
    if not m or not m.group("date"):
        return None
    try:
        return dt.datetime.strptime(m.group("date").replace(".", ""), "%B %d, %Y").date().isoformat()
    except ValueError:
        return None


def resolve_around(value: str | None, text: str | None = None) -> str | None:
    """``--around``: ``None``/``off`` -> None; ``auto`` -> ``claim_date(text)``; a date -> ``YYYY-MM-DD``.

    Raises:
        QuerySyntaxError: A value that is none of these.
    """
    if value is None or value == "off":
        return None
    if value == "auto":
        return claim_date(text or "")
    return _date(value, "around").date().isoformat()


def query_dates(queries: dict[str, str], file_dates: dict[str, str], around: str | None) -> dict[str, str]:
    """Each batch query's ``--around`` day: its file's date column, else ``around`` resolved against its
    raw text (``auto``: the pasted tweet's date); ``off`` turns the date leg off for every query."""
    if around == "off":
        return {}
    out = {q: file_dates.get(q) or resolve_around(around, t) for q, t in queries.items()}
    return {q: d for q, d in out.items() if d}


def clean_claim_text(text: str) -> str:
    """Strip what carries no claim from a pasted claim (tweets, transcripts): links and picture links,
    a tweet signature's handle and date (the author's name stays: who said it matters), ``@``/``#``.

    Measured on CheckThat! 2A train: +0.02 MAP@5 for the semantic leg (README "Hybrid ranking").
    """
    text = _LINK.sub(" ", text)
    m = _SIGNATURE.search(text)
    if m:
        text = text[: m.start()] + " " + m.group("name")
    text = re.sub(r"[@#](\w)", r"\1", text)
    return " ".join(text.split())


def field_names(schema: Schema, metadata_fields: Iterable[str] = ()) -> list[str]:
    """The field names a query may use: the schema's (but the internal ``pid``/``gen``/``source_id``),
    every metadata key of the index and the claim fields (``search.claim_clauses``)."""
    internal = {"pid", "gen", "source_id"}
    metadata_fields = list(metadata_fields)
    names = [n for n in schema.names() if n not in internal]
    names += [k for k in metadata_fields if k not in schema.names()]
    return names + [n for n in claim_field_names(metadata_fields) if n not in names]


def make_parser(schema: Schema, metadata_fields: Iterable[str] = ()) -> qparser.QueryParser:
    """Whoosh's parser over text and title, with ``KEY:value`` for every metadata key of the index and
    every claim field (``speaker:``, ``casualties:>100``: ``search.claim_clauses``), field names in any
    case and strict ``date:`` bounds (``search.clauses.FieldClausePlugin``)."""
    metadata_fields = list(metadata_fields)
    schema = parse_schema(schema, metadata_fields)
    parser = qparser.MultifieldParser(list(DEFAULT_FIELDS), schema, group=qparser.OrGroup.factory(OR_COORD))
    parser.add_plugin(qparser.FuzzyTermPlugin())
    parser.add_plugin(qparser.GtLtPlugin())
    aliases = {metadata_field_name(k): [k] for k in metadata_fields if k not in schema.names()}
    if aliases:
        parser.add_plugin(qparser.FieldAliasPlugin(aliases))
    parser.add_plugin(FieldClausePlugin([*schema.names(), *(a for names in aliases.values() for a in names)]))
    return parser


def _check_balance(text: str) -> None:
    """Whoosh silently drops unbalanced quotes and brackets; report them with their column instead."""
    stack: list[tuple[str, int]] = []
    quote_at = None
    pairs = {")": "(", "]": "[", "}": "{"}
    for i, ch in enumerate(text):
        if quote_at is not None:
            if ch == '"':
                quote_at = None
            continue
        if ch == '"':
            quote_at = i
        elif ch in "([{":
            stack.append((ch, i))
        elif ch in pairs:
            if not stack or stack[-1][0] != pairs[ch]:
                _fail(text, i, f"unmatched '{ch}'")
            stack.pop()
    if quote_at is not None:
        _fail(text, quote_at, "unclosed quote '\"'")
    if stack:
        _fail(text, stack[-1][1], f"unclosed '{stack[-1][0]}'")


def _fail(text: str, col: int, what: str) -> None:
    raise QuerySyntaxError(
        f"cannot parse query at column {col + 1} ({what}): {_printable(text[:col])}>>"
        f"{_printable(text[col : col + 20])}; fix the syntax or search the words as plain text with {option('literal')}"
    )


# Search options that are not query fields (``since:2022-01-01`` would silently search the words), and
# the query field clause that does the same (None: only the option does).
_OPTION_FIELDS = {"since": "date:>=", "until": "date:<=", "around": None}
_OPTION_FIELD_RX = re.compile(r"(?i)(?:^|(?<=[\s(]))(since|until|around):(\S*)")
_QUOTED = re.compile(r'"[^"]*"')


def _check_option_fields(text: str) -> None:
    """Refuse ``since:``/``until:``/``around:`` in a query (outside quotes): they are options, and the
    parser would search them as words. The message names the query field or option that does it."""
    m = _OPTION_FIELD_RX.search(_QUOTED.sub(lambda q: " " * len(q.group()), text))
    if m is None:
        return
    from index.dates import normalize_date

    name, value = m.group(1).lower(), m.group(2)
    day = (normalize_date(value) or "")[:10] or "2022-08-19"  # the user's date, else an example
    clause = _OPTION_FIELDS[name]
    instead = f"{clause}{day} in the query or " if clause else ""
    raise QuerySyntaxError(
        f"{m.group(1)}:{value} is not a query field: {name} is an option; use {instead}{option(name, day)}"
    )


def _printable(text: str) -> str:
    """``text`` with newlines and other control characters escaped: an error message stays one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@dataclass
class ParsedQuery:
    """A query split into what ranks and what filters (``search.clauses``).

    ``scored``: the Whoosh query over the text fields (``Every()`` when the query is field clauses
    only: they list the passages they admit, score 0.0); ``conj``: its AND form or None
    (``conjunctive``); ``restriction``: the field clauses as a filter, or None; ``words``: the text
    without its field clauses (what the semantic leg embeds; empty for a query of clauses alone).
    """

    scored: query.Query
    conj: query.Query | None
    restriction: Restriction | None
    words: str


def analyze_query(
    text: str, schema: Schema, literal: bool = False, metadata_fields: Iterable[str] = ()
) -> ParsedQuery:
    """Parse ``text`` with the Whoosh query language (or as plain words with ``literal``).

    Raises:
        QuerySyntaxError: Unbalanced quotes/brackets, a clause Whoosh cannot parse, a field clause
            OR'ed with words, or no searchable words and no field clause.
    """
    if literal:
        q = literal_query(text)
        return ParsedQuery(q, conjunctive(q), None, text)
    _check_balance(text)
    metadata_fields = list(metadata_fields)
    _check_option_fields(text)
    try:
        parsed = make_parser(schema, metadata_fields).parse(text, normalize=False)
    except QuerySyntaxError:  # a clause's own message (search.clauses: a bad date:)
        raise
    except Exception as e:  # noqa: BLE001 - Whoosh raises bare Exceptions for bad dates etc.
        raise QuerySyntaxError(
            f"cannot parse query {text!r}: {e}; fix the syntax or search it as plain text with {option('literal')}"
        ) from None
    scored, restriction = split_clauses(stem_wildcards(parsed))
    words = strip_clauses(text, field_names(schema, metadata_fields)) if restriction else text
    q = None
    if scored is not None:
        try:
            # NOT is resolved before Whoosh flattens nested groups: "x OR (y NOT z)" keeps its brackets.
            q = _drop_phrases_without_positions(_exclude_nots(copy.deepcopy(scored)), schema).normalize()
        except Exception as e:  # noqa: BLE001
            raise QuerySyntaxError(
                f"cannot parse query {text!r}: {e}; fix the syntax or search it as plain text with {option('literal')}"
            ) from None
        if q is query.NullQuery or isinstance(q, type(query.NullQuery)):
            q = None
    if q is None:
        if restriction is None:
            raise QuerySyntaxError(
                f"query {text!r} has no searchable words (only operators or stop words?); "
                f"use {option('literal')} to search it as plain text"
            )
        return ParsedQuery(query.Every(), None, restriction, "")
    conj = conjunctive(_drop_phrases_without_positions(scored, schema))
    return ParsedQuery(q, conj, restriction, words)


def parse_query(
    text: str, schema: Schema, literal: bool = False, metadata_fields: Iterable[str] = ()
) -> query.Query:
    """The scored part of ``analyze_query(text, ...)``: field clauses are filters, not in it."""
    return analyze_query(text, schema, literal, metadata_fields).scored


def _drop_phrases_without_positions(q: query.Query, schema: Schema) -> query.Query:
    """A phrase over the default fields becomes one phrase per field; ``context`` keeps no positions,
    so its copy (which Whoosh would reject at search time) is dropped: the text and title ones stay."""
    if isinstance(q, query.Phrase):
        field = schema[q.fieldname] if q.fieldname in schema else None  # noqa: SIM401 - Schema has no .get
        if field is not None and not field.format.supports("positions"):
            return query.NullQuery
        return q
    if isinstance(q, query.compound.CompoundQuery):
        out = copy.copy(q)  # keeps the coordination scale, which ``apply`` would drop
        out.subqueries = [_drop_phrases_without_positions(c, schema) for c in q.subqueries]
        return out
    return q.apply(lambda child: _drop_phrases_without_positions(child, schema))


def _exclude_nots(q: query.Query) -> query.Query:
    """``a b NOT c`` means (a OR b) without c, as in Lucene.

    Whoosh's OR group keeps ``NOT c`` as one more optional clause, which matches every passage
    without ``c``: the whole index, ranked by the other words.
    """
    if isinstance(q, query.Or):
        kids = [_exclude_nots(c) for c in q.subqueries]
        rest, nots = _split_nots(kids)
        ored = copy.copy(q)  # keeps the coordination scale
        ored.subqueries = rest if nots and rest else kids
        if nots and rest:
            return _without(ored if len(rest) > 1 else rest[0], nots)
        return ored
    return q.apply(_exclude_nots)


def _split_nots(clauses: list[query.Query]) -> tuple[list[query.Query], list[query.Query]]:
    """``(the clauses that are not NOT, the queries the NOT clauses exclude)``."""
    nots = [c.query for c in clauses if isinstance(c, query.Not)]
    return [c for c in clauses if not isinstance(c, query.Not)], nots


def _without(q: query.Query, nots: list[query.Query]) -> query.Query:
    """``q`` minus every passage that matches one of ``nots``."""
    if not nots:
        return q
    return query.AndNot(q, nots[0] if len(nots) == 1 else query.Or(nots))


def literal_query(text: str) -> query.Query:
    """Every character is plain text: analyzed words OR'ed (with the coordination bonus) over text and title."""
    words = []
    for t in claim_analyzer()(text, mode="query"):
        if t.text not in words:
            words.append(t.text)
    if not words:
        raise QuerySyntaxError(f"query {text!r} has no searchable words (only punctuation or stop words?)")
    return query.Or([query.Or([query.Term(f, w) for f in DEFAULT_FIELDS]) for w in words], scale=OR_COORD)


def conjunctive(q: query.Query) -> query.Query | None:
    """The AND form of a default-operator query, or None when there is none.

    ``q`` must be unnormalized (``parser.parse(text, normalize=False)`` or ``literal_query``): a
    top-level OR with the coordination bonus whose children are the query's clauses (each word an
    OR over ``DEFAULT_FIELDS``; ``y OR z`` stays one clause). Explicit operators alone, or a single
    clause, have no AND form.
    """
    if not (isinstance(q, query.Or) and getattr(q, "scale", None) == OR_COORD and len(q.subqueries) > 1):
        return None
    rest, nots = _split_nots([_exclude_nots(c) for c in q.subqueries])
    if len(rest) < 2:
        return None  # one clause (``a NOT b``): its AND form is the query itself
    return _without(query.And(rest).normalize(), nots)


def conjunctive_query(
    text: str, schema: Schema, literal: bool = False, metadata_fields: Iterable[str] = ()
) -> query.Query | None:
    """The AND form of ``parse_query(text, ...)`` (see ``conjunctive``); None when it has none."""
    try:
        return analyze_query(text, schema, literal, metadata_fields).conj
    except QuerySyntaxError:  # parse_query reports it; no AND form then
        return None


def positive_terms(q: query.Query, fieldname: str = "text") -> set[str]:
    """The terms of ``fieldname`` that a hit can match (terms under NOT are left out), for highlighting."""
    out: set[str] = set()

    def walk(node: query.Query) -> None:
        if isinstance(node, query.Not):
            return
        if isinstance(node, query.AndNot):  # its second query is the excluded one
            walk(node.a)
            return
        if isinstance(node, query.Term) and node.fieldname == fieldname:
            out.add(node.text)
        elif isinstance(node, query.Phrase) and node.fieldname == fieldname:
            out.update(node.words)
        for child in node.children():
            walk(child)

    walk(q)
    return out


def expanding_patterns(q: query.Query, fieldname: str = "text") -> list[query.Query]:
    """Prefix/wildcard/fuzzy nodes of ``fieldname`` (outside NOT): their matches are found per token."""
    out: list[query.Query] = []

    def walk(node: query.Query) -> None:
        if isinstance(node, query.Not):
            return
        if isinstance(node, query.AndNot):  # its second query is the excluded one
            walk(node.a)
            return
        if isinstance(node, query.PatternQuery | query.FuzzyTerm) and node.fieldname == fieldname:
            out.append(node)
        for child in node.children():
            walk(child)

    walk(q)
    return out


class EmptyQueryError(QuerySyntaxError):
    """A query with no searchable words once cleaned (links, handles, stop words only)."""


def require_words(text: str) -> None:
    """Refuse a query with no searchable word (after cleaning), the same way in every mode."""
    try:
        literal_query(text)
    except QuerySyntaxError:
        shown = text.strip()
        raise EmptyQueryError(
            f"query {shown!r} has no searchable words (only links, handles, punctuation or stop words?): "
            "give words to search for"
            if shown
            else "the query is empty once cleaned of links, handles and signatures: give words to search for"
        ) from None
