"""Field clauses of the query language: clauses on fields other than the text fields restrict, never score.

The rule (README "Query language"): a clause on ``source``, a metadata key, ``article_id``, ``url``,
``passage_id`` or ``date`` is a **filter**, applied like ``--source``/``--since``/``--where`` inside every
leg and under every ``--operator``:

* it matches the field's **whole value**, case-insensitively (``source:"The New York Times"``,
  ``source:tass``, ``language:russian``, ``url:HTTPS://...``); ``*``/``?`` wildcards and ``~`` fuzzy
  match whole values too (``source:reut*``);
* clauses beside the words (default operator or ``AND``) are all required: a top-level AND of filters;
* ``NOT source:X`` excludes; ``source:A OR source:B`` (brackets allowed) is a union filter;
* OR between a field clause and words (``source:TASS OR MH17``) is refused with a message: a passage
  cannot be half in a filter;
* ``date:`` bounds are days: ``[a TO b]``, ``>=``, ``<=`` include their end days; ``{a TO b}``, ``>``,
  ``<`` exclude them (Whoosh's DATETIME range drops the exclusive flags); ``[2022 TO]`` is open-ended;
* field names are case-insensitive (``Source:TASS``); a query of field clauses alone lists the
  passages they admit (keyword score 0.0, index order).

The claim fields (``speaker:``, ``mode:``, ``place:``, ``casualties:>100``...: ``search.claim_clauses``)
are field clauses by the same rules; their leaves are answered by the catalog.

``split_clauses`` takes them out of a parsed (unnormalized) query; ``Restriction.docs`` evaluates them.
"""

from __future__ import annotations

import copy
import fnmatch
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from whoosh import query
from whoosh.qparser import syntax
from whoosh.qparser.plugins import Plugin

from index.analysis import source_key
from index.errors import QuerySyntaxError, option
from search.claim_clauses import ClaimClause, claim_clause, is_claim_leaf

TEXT_FIELDS = ("text", "title", "context")  # scored by BM25F (search.query.DEFAULT_FIELDS)
# Exact-case ID fields: matched case-insensitively by scanning their terms.
_CASELESS_IDS = ("article_id", "url", "passage_id")


class FieldClausePlugin(Plugin):
    """Parser plugin: field names in any case (``Source:``, ``LANGUAGE:``), strict ``date:`` bounds."""

    def __init__(self, names: Iterable[str]):
        self.names = {n.lower(): n for n in names}

    def filters(self, parser):
        # before the alias (90) and field (100) plugins; the date ranges once fields are applied
        return [(self._names, 80), (self._dates, 110)]

    def _names(self, parser, group):
        for node in group:
            if isinstance(node, syntax.GroupNode):
                self._names(parser, node)
            elif isinstance(node, syntax.FieldnameNode):
                node.fieldname = self.names.get(node.fieldname.lower(), node.fieldname)
        return group

    def _dates(self, parser, group):
        for i, node in enumerate(group):
            if isinstance(node, syntax.GroupNode):
                self._dates(parser, node)
            elif isinstance(node, syntax.WordNode) and node.fieldname == "date":
                _check_date(parser, node.text, node.text)
            elif isinstance(node, syntax.RangeNode) and (node.fieldname or parser.fieldname) == "date":
                for end in (node.start, node.end):
                    if end:
                        _check_date(parser, end, _range_text(node))
                strict = _StrictDateRange(node.start, node.end, node.startexcl, node.endexcl)
                strict.fieldname, strict.boost = "date", node.boost
                strict.startchar, strict.endchar = node.startchar, node.endchar
                group[i] = strict
        return group


DATE_EXAMPLES = "date:2022-08-19, date:>=2022-08, date:[2022-01 TO 2022-06]"


def _range_text(node) -> str:
    """A range node as the user wrote it: ``>=2022``, ``<2023-01``, ``[2022 TO 2023]``."""
    if node.end is None:
        return (">" if node.startexcl else ">=") + node.start
    if node.start is None:
        return ("<" if node.endexcl else "<=") + node.end
    return f"{'{' if node.startexcl else '['}{node.start} TO {node.end}{'}' if node.endexcl else ']'}"


def _check_date(parser, value: str, clause: str) -> None:
    """Raise ``QuerySyntaxError`` naming the field and a valid example when ``value`` is not a date
    Whoosh's DATETIME field reads (instead of its parser's own message)."""
    try:
        parser.schema["date"]._parse_datestring(value)
    except Exception:  # noqa: BLE001 - Whoosh's date parser raises bare errors (int(), month range...)
        raise QuerySyntaxError(
            f"date:{clause} is not a date; dates are YYYY, YYYY-MM or YYYY-MM-DD, e.g. {DATE_EXAMPLES} (or "
            f"search the words as plain text with {option('literal')})"
        ) from None


class _StrictDateRange(syntax.RangeNode):
    """A ``date:`` range whose exclusive ends exclude their whole day (or month, or year)."""

    def query(self, parser):
        from whoosh.util.times import datetime_to_long

        field = parser.schema["date"]
        try:
            lo = hi = None
            if self.start:
                d = field._parse_datestring(self.start)
                lo = datetime_to_long(d.ceil()) + 1 if self.startexcl else datetime_to_long(d.floor())
            if self.end:
                d = field._parse_datestring(self.end)
                hi = datetime_to_long(d.floor()) - 1 if self.endexcl else datetime_to_long(d.ceil())
        except Exception as e:  # noqa: BLE001 - Whoosh's date parser raises bare errors
            return query.error_query(f"date range {self.r()}: {e}")
        if lo is None and hi is None:
            return query.Every("date")
        return query.NumericRange("date", lo, hi, constantscore=True)


@dataclass(frozen=True)
class Restriction:
    """A boolean filter over passages: ``op`` is ``and``/``or`` (over ``parts``), ``not`` (of
    ``parts[0]``), ``leaf`` (one Whoosh query on a non-text field, ``leaf``) or ``claim`` (a claim-field
    clause, ``search.claim_clauses.ClaimClause``, answered by the catalog)."""

    op: str
    parts: tuple[Restriction, ...] = ()
    leaf: query.Query | ClaimClause | None = None

    def __repr__(self) -> str:
        if self.op in ("leaf", "claim"):
            return str(self.leaf)
        if self.op == "not":
            return f"NOT {self.parts[0]!r}"
        return "(" + f" {self.op.upper()} ".join(map(repr, self.parts)) + ")"

    def has_claims(self) -> bool:
        """Whether a claim-field clause is part of this filter."""
        return self.op == "claim" or any(p.has_claims() for p in self.parts)

    def docs(self, searcher, claims: Callable[[ClaimClause], set[int]] | None = None) -> set[int]:
        """The global Whoosh docnums of ``searcher`` this filter admits. Whoosh's matchers skip
        deleted documents, and ``NOT`` is taken from the live ones (``all_doc_ids``). ``claims``
        answers the claim-field clauses (``search.claim_clauses.docs_resolver``).

        Raises:
            ValueError: A claim-field clause and no ``claims``."""
        reader = searcher.reader()
        every: list[set[int]] = []

        def live() -> set[int]:
            if not every:
                every.append(set(reader.all_doc_ids()))
            return every[0]

        def ev(r: Restriction) -> set[int]:
            if r.op == "leaf":
                return _leaf_docs(searcher, r.leaf)
            if r.op == "claim":
                if claims is None:
                    raise ValueError(f"claim clause {r.leaf} needs a resolver (claim_clauses.docs_resolver)")
                return claims(r.leaf)
            if r.op == "not":
                return live() - ev(r.parts[0])
            sets = [ev(p) for p in r.parts]
            return set.intersection(*sets) if r.op == "and" else set.union(*sets)

        return ev(self)


def both(a: Restriction | None, b: Restriction | None) -> Restriction | None:
    """``a AND b`` (either may be None)."""
    if a is None or b is None:
        return a or b
    return Restriction("and", (a, b))


def _leaf_docs(searcher, q: query.Query) -> set[int]:
    field = getattr(q, "fieldname", None)
    if field in _CASELESS_IDS and isinstance(q, query.Term | query.PatternQuery | query.FuzzyTerm):
        want = q.text.lower()
        if isinstance(q, query.FuzzyTerm):
            from whoosh.support.levenshtein import distance

            match = lambda t: distance(t, want) <= q.maxdist  # noqa: E731
        elif type(q) is query.Term:
            match = want.__eq__
        elif isinstance(q, query.Prefix):
            match = lambda t: t.startswith(want)  # noqa: E731
        else:
            match = lambda t: fnmatch.fnmatchcase(t, want)  # noqa: E731
        out: set[int] = set()
        for term in searcher.reader().field_terms(field):
            if match(term.lower()):
                out.update(query.Term(field, term).docs(searcher))
        return out
    return set(q.docs(searcher))


def split_clauses(q: query.Query) -> tuple[query.Query | None, Restriction | None]:
    """``(the scored part, the restriction)`` of an unnormalized parsed query (see the module rule).

    The scored part keeps ``q``'s structure (and coordination scale) without the field clauses; None
    when nothing but field clauses is left.

    Raises:
        QuerySyntaxError: A field clause OR'ed with words, or a clause Whoosh could not parse (a bad date).
    """
    _check_errors(q)
    scored, parts = _split(q)
    if not parts:
        return scored, None
    return scored, parts[0] if len(parts) == 1 else Restriction("and", tuple(parts))


def _split(node: query.Query, top: bool = True) -> tuple[query.Query | None, list[Restriction]]:
    # the query's own default-operator group (only at the top: a bracketed group or an explicit OR
    # inside is an OR, where a field clause cannot stand beside words), and AND at any depth above
    if type(node) is query.And or (top and type(node) is query.Or and node.scale):
        kids = [_split(c, top=False) for c in node.subqueries]
        scored = [s for s, _ in kids if s is not None]
        parts = [r for _, rs in kids for r in rs]
        if not scored:
            return None, parts
        out = copy.copy(node)  # keeps the coordination scale
        out.subqueries = scored
        return out, parts
    r = _restriction(node)
    return (node, []) if r is None else (None, [r])


def _restriction(node: query.Query) -> Restriction | None:
    """The filter ``node`` is (None: it has no field clause)."""
    if isinstance(node, query.Not):
        inner = _restriction(node.query)
        return None if inner is None else Restriction("not", (inner,))
    if isinstance(node, query.compound.CompoundQuery):
        kids = [_restriction(c) for c in node.subqueries]
        if all(k is None for k in kids):
            return None
        if any(k is None for k in kids) or not isinstance(node, query.And | query.Or):
            clause = next(c for c, k in zip(node.subqueries, kids, strict=True) if k is not None)
            raise QuerySyntaxError(
                f"cannot OR the field clause {clause} with words: field clauses (source, date, metadata, "
                "article_id, url, speaker, place, casualties...) filter the results; put them beside the words (`source:TASS MH17`), OR "
                "them with each other (`(source:TASS OR source:RT) MH17`) or exclude with NOT"
            )
        if len(kids) == 1:  # brackets around one clause or group
            return kids[0]
        return Restriction("and" if isinstance(node, query.And) else "or", tuple(kids))
    field = getattr(node, "fieldname", None)
    if field is None or field in TEXT_FIELDS:
        return None
    if is_claim_leaf(node):
        return Restriction("claim", leaf=claim_clause(node))
    return Restriction("leaf", leaf=_whole_value(node))


def _whole_value(node: query.Query) -> query.Query:
    """``node`` as a whole-value match: ``source`` through its exact-match field ``source_id``, a
    quoted value (a phrase of the field's tokens) as one term."""
    field = node.fieldname
    if isinstance(node, query.Phrase):
        node = query.Term(field, " ".join(node.words))
    if field != "source":
        return node
    if isinstance(node, query.Term):
        return query.Term("source_id", source_key(node.text))
    out = copy.copy(node)  # Prefix, Wildcard, FuzzyTerm: the same pattern over whole names
    out.fieldname = "source_id"
    if isinstance(getattr(out, "text", None), str):
        out.text = out.text.lower()
    return out


def _check_errors(node: query.Query) -> None:
    err = getattr(node, "error", None)
    if err is not None:  # Whoosh turns a clause it cannot parse into a silent NullQuery
        raise QuerySyntaxError(
            f"cannot parse a clause of the query ({err}); dates are YYYY[-MM[-DD]]: fix the clause "
            f"or search the words as plain text with {option('literal')}"
        )
    for child in node.children():
        _check_errors(child)


def _clause_pattern(names: Iterable[str]) -> re.Pattern | None:
    alts = "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True))
    if not alts:
        return None
    return re.compile(rf"(?i)(?:\bNOT\s+)?\b(?:{alts}):(?:\"[^\"]*\"|\[[^\]]*\]|\{{[^}}]*\}}|[^\s()]+)")


def has_clauses(text: str, names: Iterable[str]) -> bool:
    """Whether ``text`` holds a ``NAME:value`` clause on one of ``names``."""
    pattern = _clause_pattern(names)
    return bool(pattern and pattern.search(text))


def strip_clauses(text: str, names: Iterable[str]) -> str:
    """``text`` without its field clauses (``NAME:value``, ``NAME:"a b"``, ``NAME:[a TO b]``), for the
    semantic leg: what it embeds is the words, not the filter."""
    pattern = _clause_pattern(names)
    if pattern is None:
        return text
    out = pattern.sub(" ", text)
    out = re.sub(r"\(\s*(?:OR\s*)*\)", " ", out)  # brackets left empty by ``(source:A OR source:B)``
    return " ".join(out.split())


# -- wildcards on stemmed fields ---------------------------------------------------------------------
# Endings Porter's stemmer takes off (or changes: countries -> countri): a stem plus one of them spells
# the word again, closely enough for a pattern to be tested against it.
_ENDINGS = (
    "",
    "e",
    "s",
    "es",
    "ed",
    "ing",
    "y",
    "ies",
    "ied",
    "er",
    "ers",
    "ly",
    "al",
    "ion",
    "ions",
    "ment",
)


class StemmedWildcard(query.Wildcard):
    """A ``?``/``*`` pattern inside a word of a stemmed text field (``miss?le``).

    The text fields index Porter stems (``missile`` -> ``missil``) and Whoosh matched a wildcard against
    them unchanged, so ``miss?le`` silently matched nothing. Here an indexed stem matches when the
    pattern matches the stem or the stem plus a common ending Porter removes (``missil`` + ``e``;
    ``deploy`` + ``ed`` for ``deplo*ed``). (A trailing ``*`` needs none of this: the parser stems
    ``missiles*`` to ``missil*``.)
    """

    def _btexts(self, ixreader):
        match = re.compile(fnmatch.translate(self.text)).match
        prefix = self._find_prefix(self.text)
        candidates = (
            ixreader.expand_prefix(self.fieldname, prefix) if prefix else ixreader.lexicon(self.fieldname)
        )
        from_bytes = ixreader.schema[self.fieldname].from_bytes
        for btext in candidates:
            stem = from_bytes(btext)
            bases = (stem, stem[:-1]) if stem.endswith("i") else (stem,)  # countri -> countr + ies
            if any(match(base + end) for base in bases for end in _ENDINGS):
                yield btext


def stem_wildcards(q: query.Query) -> query.Query:
    """``q`` with every ``Wildcard`` on a text field replaced by a ``StemmedWildcard``."""
    if isinstance(q, query.compound.CompoundQuery):
        out = copy.copy(q)  # keeps the coordination scale
        out.subqueries = [stem_wildcards(c) for c in q.subqueries]
        return out
    if type(q) is query.Wildcard and q.fieldname in TEXT_FIELDS:
        return StemmedWildcard(q.fieldname, q.text, boost=q.boost)
    if q.is_leaf():
        return q
    return q.apply(stem_wildcards)
