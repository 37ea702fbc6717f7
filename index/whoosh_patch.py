"""Fixes to Whoosh 2.7.4, applied before any index is opened.

1. The per-document reader.

``W3PerDocReader._cached_reader`` caches the length-column readers it finds but not the fields that
have none (IDs, keywords, numerics), so every posting of such a field costs a filesystem ``stat``
while a segment is written or searched. Measured alone, caching the miss cuts Whoosh indexing CPU
by 15-25 % (bench/query_keyword.py).
Caching the miss is safe: a written segment's columns never change.

2. The coordination bonus (``CoordMatcher``, our default operator ``OrGroup.factory(0.9)``).
Its V-Twin "SQR" formula ``(score + (m - 1) / (n - scale)**2) * (n - 1) / n`` multiplies by 0 when the
query has one term matcher ``n == 1`` in a segment (a one-word query whose word is in the text field
only): every passage scored 0.0 and came back in index order. While iterating, Whoosh also rebuilds the
matcher without the posting lists that ran out, so late documents got a smaller ``n`` than early ones,
and ``n == 0`` (only a range or other non-term matcher left) divided by zero ("unexpected
ZeroDivisionError" for ``date:[...] S-400``). Here ``n`` is fixed when the matcher is built, and with
``n <= 1`` there is nothing to coordinate: the score is the plain BM25F sum. ``search.impacts``
computes the same rule with numpy.

3. The term count ``n`` of that bonus is the index's, not the segment's. Whoosh counts only the query
terms present in the segment being scored, so one passage scored differently depending on which
segment (or shard) held it. A term absent from a segment but present elsewhere in the index gets an
inactive matcher that still counts (``_TermElsewhere``). "Elsewhere" is the top searcher's
``claims_term_present(field, btext)`` when set (a sharded index: any shard, ``search.sharded``), else
the searcher's own reader (every segment). ``search.impacts`` counts terms the same way. Wildcards,
prefixes and fuzzy terms expand over the index's terms the same way (``claims_expansions``).
"""

from __future__ import annotations

_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    from whoosh.codec.whoosh3 import W3PerDocReader

    def _cached_reader(self, fieldname, column):
        try:
            return self._readers[fieldname]
        except KeyError:
            reader = self.column_reader(fieldname, column) if self.has_column(fieldname) else None
            self._readers[fieldname] = reader
            return reader

    W3PerDocReader._cached_reader = _cached_reader
    _patch_coordination()
    _patch_term_count()
    _applied = True


def _patch_coordination() -> None:
    from whoosh.matching.wrappers import CoordMatcher

    sqr = CoordMatcher._sqr

    def _replacement(self, newchild):
        out = self.__class__(newchild, scale=self._scale)
        out._termcount = self._termcount  # the query's term count, not what is left of it
        return out

    def _sqr(self, score, matching):
        return score if self._termcount <= 1 else sqr(self, score, matching)

    CoordMatcher._replacement = _replacement
    CoordMatcher._sqr = _sqr


def term_present(searcher, fieldname: str, btext: bytes) -> bool:
    """Does the index of ``searcher`` (its top searcher; a sharded index: any shard) hold the term?"""
    top = searcher.get_parent()
    present = getattr(top, "claims_term_present", None)
    return present(fieldname, btext) if present is not None else (fieldname, btext) in top.reader()


def _patch_term_count() -> None:
    from whoosh.matching import mcore
    from whoosh.query.terms import Term

    class _TermElsewhere(mcore.NullMatcherClass):
        """A term this segment lacks but the index holds: never active, counted by ``term_matchers``."""

        def __init__(self, fieldname: str, btext: bytes):
            self._term = (fieldname, btext)

        def term(self):
            return self._term

        def id(self):
            return -1

        def matching_terms(self, id=None):
            return iter(())

        def __repr__(self) -> str:
            return f"<TermElsewhere {self._term!r}>"

    original = Term.matcher

    def matcher(self, searcher, context=None):
        m = original(self, searcher, context)
        if m is mcore.NullMatcher and self.fieldname in searcher.schema:
            try:
                btext = searcher.schema[self.fieldname].to_bytes(self.text)
            except ValueError:
                return m
            if term_present(searcher, self.fieldname, btext):
                return _TermElsewhere(self.fieldname, btext)
        return m

    Term.matcher = matcher
    _patch_expansion()


def _patch_expansion() -> None:
    """Rule 3 for wildcards, prefixes and fuzzy terms: expand them over the index's terms (the top
    searcher's ``claims_expansions``, ``{query: terms}`` over every shard, when set; else every segment), not
    the segment's, so the expansion and its term count are the same wherever a passage lives."""
    from whoosh import matching
    from whoosh.query import Or
    from whoosh.query.terms import MultiTerm, Term

    def matcher(self, searcher, context=None):
        top = searcher.get_parent()
        words = getattr(top, "claims_expansions", {}).get(self)
        if words is None:
            words = self._btexts(top.reader())
        qs = [Term(self.field(), word) for word in words if word]
        if not qs:
            return matching.NullMatcher()
        if len(qs) == 1:
            return qs[0].matcher(searcher, context)
        if self.constantscore:  # as Whoosh: the sub-queries' scores do not matter
            from whoosh.searching import SearchContext

            context = context.set(weighting=None) if context else SearchContext(weighting=None)
        return Or(qs, boost=self.boost).matcher(searcher, context)

    MultiTerm.matcher = matcher
