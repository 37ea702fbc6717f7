"""The keyword leg: BM25F top-k over the Whoosh index (numpy impact arrays when the query allows),
and the filter plan (``--since --until --source --where``) computed once per query for every leg."""

from __future__ import annotations

from typing import Any

from search.claim_clauses import docs_resolver, require_features
from search.query import Filters, conjunctive

Run = list[tuple[int, float]]


class FilterPlan:
    """One query's filter, computed once and shared by the keyword and dense legs.

    ``masks``: the numpy path's per-segment masks (None without impact arrays or without filters);
    ``whoosh``: the same filter as a Whoosh query; ``allowed()``: the admitted passage ids (None: all).
    """

    def __init__(self, searcher, filters: Filters | None):
        self.searcher = searcher
        self.filters = filters if filters else None
        self.masks = None
        self._allowed: set[int] | None = None
        self._whoosh: Any = None
        # the claim-feature filters: the passages the catalog admits, as global Whoosh docnums
        self.claim_docs: set[int] | None = None
        self._claims = docs_resolver(searcher)  # answers claim-field clauses (speaker:, casualties:>100)
        if self.filters is not None and self.filters.claim_conditions() is not None:
            self.claim_docs = claim_docs(searcher, self.filters.claim_conditions())
        if self.filters is not None and searcher.impacts is not None:
            from whoosh.util.times import datetime_to_long

            start, end = self.filters.dates()
            self.masks = searcher.impacts.filter_masks(
                datetime_to_long(start) if start else None,
                datetime_to_long(end) if end else None,
                self.filters.source_keys(),
                self.filters.where_queries(searcher.manifest.metadata_fields),
                _both(self.filters.clause_docs(searcher.whoosh, self._claims), self.claim_docs),
            )

    def __bool__(self) -> bool:
        return self.filters is not None

    @property
    def whoosh(self):
        if self.filters is not None and self._whoosh is None:
            s = self.searcher
            # a Whoosh query, a set of docnums (the query's field clauses), or None
            fq = self.filters.whoosh_filter(s.whoosh, s.schema, s.manifest.metadata_fields, self._claims)
            if self.claim_docs is not None:
                if fq is None:
                    fq = self.claim_docs
                else:
                    fq = (fq if isinstance(fq, set) else set(fq.docs(s.whoosh))) & self.claim_docs
            self._whoosh = fq
        return self._whoosh

    def allowed(self) -> set[int] | None:
        if self.filters is None:
            return None
        if self._allowed is None:
            s = self.searcher
            if self.masks is not None:
                self._allowed = set(s.impacts.allowed_pids(self.masks).tolist())
            else:
                fq = self.whoosh
                docs = fq if isinstance(fq, set) else fq.docs(s.whoosh)
                self._allowed = {int(s._pid_col[d]) for d in docs}
        return self._allowed


def _both(a: set[int] | None, b: set[int] | None) -> set[int] | None:
    return b if a is None else a if b is None else a & b


def claim_docs(searcher, conditions: dict) -> set[int]:
    """The global Whoosh docnums of the visible passages whose claim features meet ``conditions``
    (``Filters.claim_conditions``).

    Raises:
        OptionError: the index has no claim features for every passage (names ``claims reindex``).
    """
    import numpy as np

    require_features(searcher)
    pids = np.fromiter(searcher.catalog.feature_pids(**conditions), np.int64)
    _ = searcher.ix  # opens Whoosh and its passage-id column
    col = np.asarray(searcher._pid_col, dtype=np.int64)
    return set(np.flatnonzero(np.isin(col, pids)).tolist())


def plan(searcher, filters) -> FilterPlan:
    """``filters`` as a ``FilterPlan`` (a plan is passed through)."""
    return filters if isinstance(filters, FilterPlan) else FilterPlan(searcher, filters)


def keyword_run(searcher, q, depth: int | None, filters, operator: str = "auto", conj=None) -> Run:
    """BM25F top ``depth`` as ``(passage_id, score)`` (``depth`` None: every match).

    ``operator="auto"``: a query that is a plain list of words/clauses (our OR-with-coordination
    default) is first run as AND; when that fills ``depth`` those are the results (every one has
    all the terms), otherwise the OR query answers, so passages with most of the terms are never
    dropped. ``"or"``: only the OR query. ``conj`` is the AND form (``search.query.conjunctive``);
    None: derived from ``q``.
    """
    if operator == "auto" and depth and conj is None:
        conj = conjunctive(q)
    fp = plan(searcher, filters)
    imp = searcher.impacts
    if imp is not None:
        from search.impacts import Unsupported

        def top(query) -> Run:
            hits = imp.top(query, depth, fp.masks)
            return list(zip(imp.pids([d for d, _ in hits]), [sc for _, sc in hits], strict=True))

        try:
            return and_first(top, q, conj, depth, operator)
        except Unsupported:
            pass  # a phrase, wildcard, other field...: Whoosh ranks it the same way, slower
    s = searcher.whoosh
    col = searcher._pid_col
    fq = fp.whoosh

    def whoosh_top(query) -> Run:
        return [(int(col[h.docnum]), float(h.score)) for h in s.search(query, limit=depth, filter=fq)]

    return and_first(whoosh_top, q, conj, depth, operator)


def and_first(top, q, conj, depth: int | None, operator: str) -> Run:
    """``top(conj)`` when ``operator`` is ``auto`` and the AND form fills ``depth``, else ``top(q)``."""
    if operator == "auto" and depth and conj is not None:
        hits = top(conj)
        if len(hits) >= depth:
            return hits
    return top(q)
