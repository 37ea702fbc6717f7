"""Whoosh's BM25F ranking, computed with numpy over the impact arrays (``index.impacts``).

Whoosh evaluates a query posting by posting in Python; an OR of common words at 1M passages walks
half a million postings (~1 s). Here the same query is a handful of vector operations per segment:
gather the postings of each term, score them with Whoosh's BM25F (same idf, same average and same
byte-rounded field lengths, read from the same Whoosh searcher), combine them the way Whoosh's
matchers do, and take the top k.

Supported: trees of ``Term`` (text, title and context fields), ``Or`` (sum of scores; with ``scale``,
the coordination bonus ``CoordMatcher._sqr`` as fixed in ``index.whoosh_patch``: the segment's term
count ``n`` of the query, and no bonus or penalty when ``n <= 1``, so a one-word query is plain BM25F),
``And`` (sum over passages matching every clause) and ``AndNot`` - the default operator's bag of words,
``AND``, ``OR``, ``NOT`` and their nesting. A term absent from a segment but present in the
index (another segment, or another shard of a sharded index) still counts in ``n``, as in Whoosh
once patched. The idf and average field lengths come from the Whoosh searcher, so a sharded index's
global statistics (``search.sharded``) reach both paths. Anything else (phrases, wildcards, fuzzy terms, other
fields) raises ``Unsupported`` and Whoosh answers it. Each score equals (patched) Whoosh's score of
that document to float rounding; ties break by Whoosh docnum, as Whoosh's collector does
(``tests/integration/test_impacts.py`` checks both against Whoosh, and ``tests/integration/
test_bm25f_by_hand.py`` checks both against BM25F computed by hand). One Whoosh 2.7.4 defect is not
reproduced: its ``AndNot`` lets some excluded documents through in segments with deletions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from whoosh import query

from index.impact_format import FIELDS, IMPACT_DIR, NO_DATE, load_segment

K1 = 1.2  # whoosh.scoring.BM25F defaults, the weighting our searchers use
B = 0.75


class Unsupported(Exception):
    """The query (or filter) has a node this evaluator does not compute; let Whoosh answer."""


@dataclass
class _Res:
    """One node's matches in one segment: sorted unique docnums, scores, matching term count, and
    how many of the node's terms exist in the segment (Whoosh's ``term_matchers``)."""

    docs: np.ndarray
    scores: np.ndarray
    nterms: np.ndarray
    termcount: int


class _Segment:
    def __init__(self, leaf_searcher, offset: int, folder: Path):
        reader = leaf_searcher.reader()
        self.n = reader.doc_count_all()
        arrays = load_segment(folder, self.n)  # ImpactFormatError (a ValueError) when stale
        self.searcher = leaf_searcher
        self.reader = reader
        self.offset = offset
        self.fields = arrays.fields
        self.pids = arrays.pids
        self.date = arrays.date
        self.source = arrays.source
        self.source_codes = arrays.source_codes
        self.live: np.ndarray | None = None
        if reader.has_deletions():
            try:  # the segment's deletion set (Whoosh 2.7's W3Segment); else ask doc by doc
                self.live = np.ones(self.n, bool)
                self.live[np.fromiter(reader.segment().deleted_docs(), np.int64)] = False
            except (AttributeError, NotImplementedError):
                self.live = np.zeros(self.n, bool)
                self.live[np.fromiter(reader.all_doc_ids(), np.int64)] = True

    def postings(self, field: str, text: str):
        """``(docs, weights, lengths)`` of ``field:text`` here, or None when the term is absent."""
        from whoosh.reading import TermNotFound

        try:
            ti = self.reader.term_info(field, text)
        except TermNotFound:
            return None
        keys, offsets, docs, weights, lengths = self.fields[field]
        key = getattr(ti, "_offset", None)
        i = int(np.searchsorted(keys, key)) if key is not None else len(keys)
        if i >= len(keys) or keys[i] != key:
            raise Unsupported(f"{field}:{text} is not in the impact arrays")
        lo, hi = int(offsets[i]), int(offsets[i + 1])
        d = np.asarray(docs[lo:hi])
        return d, np.asarray(weights[lo:hi], np.float64), lengths[d].astype(np.float64)


class ImpactIndex:
    """The impact arrays of every segment of one open Whoosh searcher (None from ``open`` when any
    segment lacks them: then Whoosh answers every query)."""

    def __init__(self, searcher, segments: list[_Segment]):
        self.searcher = searcher
        self.segments = segments

    @classmethod
    def open(cls, searcher, lexical_dir: Path) -> ImpactIndex | None:
        root = Path(lexical_dir) / IMPACT_DIR
        segments = []
        try:
            if searcher.doc_count_all():
                for leaf, offset in searcher.leaf_searchers():
                    seg_id = leaf.reader().segment().segment_id()
                    segments.append(_Segment(leaf, offset, root / seg_id))
        except (OSError, ValueError, KeyError, Unsupported):
            return None
        return cls(searcher, segments)

    # -- ranking -----------------------------------------------------------------------------
    def top(self, q: query.Query, depth: int | None, masks: list[np.ndarray | None] | None = None):
        """The top ``depth`` (None: all) matches of ``q`` as ``[(docnum, score)]``, best first, ties
        by docnum. ``masks``: per segment, the documents a filter admits (``filter_masks``)."""
        idf_cache: dict[tuple[str, str], float] = {}
        all_docs, all_scores = [], []
        for i, seg in enumerate(self.segments):
            res = self._eval(q, seg, idf_cache)
            if res is None or not len(res.docs):
                continue
            docs, scores = res.docs, res.scores
            keep = seg.live[docs] if seg.live is not None else None
            if masks is not None and masks[i] is not None:
                m = masks[i][docs]
                keep = m if keep is None else keep & m
            if keep is not None:
                docs, scores = docs[keep], scores[keep]
            if depth is not None and len(docs) > depth:
                # keep every doc scoring at least the depth-th score: ties are broken below by docnum
                cut = np.partition(scores, len(scores) - depth)[len(scores) - depth]
                sel = scores >= cut
                docs, scores = docs[sel], scores[sel]
            all_docs.append(docs.astype(np.int64) + seg.offset)
            all_scores.append(scores)
        if not all_docs:
            return []
        docs = np.concatenate(all_docs)
        scores = np.concatenate(all_scores)
        order = np.lexsort((docs, -scores))
        if depth is not None:
            order = order[:depth]
        return list(zip(docs[order].tolist(), scores[order].tolist(), strict=True))

    def pids(self, docnums: list[int]) -> list[int]:
        """Passage ids of global Whoosh docnums (vectorised: an export may ask for every match)."""
        d = np.asarray(docnums, np.int64)
        out = np.empty(len(d), np.int64)
        offsets = np.asarray([seg.offset for seg in self.segments], np.int64)
        which = np.searchsorted(offsets, d, side="right") - 1
        for i, seg in enumerate(self.segments):
            sel = which == i
            if sel.any():
                out[sel] = np.asarray(seg.pids)[d[sel] - seg.offset]
        return out.tolist()

    # -- filters -----------------------------------------------------------------------------
    def filter_masks(
        self, start: int | None, end: int | None, sources: list[str], where, docs: set[int] | None = None
    ) -> list[np.ndarray] | None:
        """Per segment, the docs inside ``[start, end]`` (Whoosh date longs, inclusive), from one of
        ``sources`` (source keys), matching every ``where`` Whoosh query and among ``docs`` (global
        docnums, the query's field clauses: ``search.query.Filters.clause_docs``). None: no filter."""
        if start is None and end is None and not sources and not where and docs is None:
            return None
        admitted = np.fromiter(docs, np.int64) if docs is not None else None
        masks = []
        for seg in self.segments:
            m = np.ones(seg.n, bool)
            if admitted is not None:
                inside = admitted[(admitted >= seg.offset) & (admitted < seg.offset + seg.n)]
                allowed = np.zeros(seg.n, bool)
                allowed[inside - seg.offset] = True
                m &= allowed
            if start is not None or end is not None:
                date = np.asarray(seg.date)
                m &= date != NO_DATE
                if start is not None:
                    m &= date >= start
                if end is not None:
                    m &= date <= end
            if sources:
                codes = [seg.source_codes[s] for s in sources if s in seg.source_codes]
                m &= np.isin(np.asarray(seg.source), np.asarray(codes, np.int32))
            for wq in where:
                allowed = np.zeros(seg.n, bool)
                allowed[np.fromiter(wq.docs(seg.searcher), np.int64)] = True
                m &= allowed
            masks.append(m)
        return masks

    def allowed_pids(self, masks: list[np.ndarray]) -> np.ndarray:
        """The passage ids the masks admit (live documents only), as one int64 array."""
        parts = []
        for seg, m in zip(self.segments, masks, strict=True):
            keep = m if seg.live is None else m & seg.live
            parts.append(np.asarray(seg.pids)[keep])
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)

    # -- evaluation --------------------------------------------------------------------------
    def _eval(self, q: query.Query, seg: _Segment, idf_cache) -> _Res | None:
        if type(q) is query.Every and q.fieldname in (None, "*"):  # field clauses alone: a listing, 0.0
            return _Res(np.arange(seg.n), np.zeros(seg.n), np.zeros(seg.n, np.int32), 0)
        if isinstance(q, query.Term):
            return self._term(q, seg, idf_cache)
        if type(q) in (query.Or, query.DefaultOr, query.PreloadedOr) or isinstance(q, query.DisjunctionMax):
            if isinstance(q, query.DisjunctionMax) or q.boost != 1.0 or getattr(q, "minmatch", 0):
                raise Unsupported("boosted or min-match OR")
            return self._or(q, seg, idf_cache)
        if type(q) is query.And:
            if q.boost != 1.0:
                raise Unsupported("boosted AND")
            return self._and(q, seg, idf_cache)
        if type(q) is query.AndNot:
            if q.boost != 1.0:
                raise Unsupported("boosted AND NOT")
            a = self._eval(q.a, seg, idf_cache)
            b = self._eval(q.b, seg, idf_cache)
            if a is None or b is None or not len(b.docs) or not len(a.docs):
                return a
            keep = ~np.isin(a.docs, b.docs, assume_unique=True)
            return _Res(a.docs[keep], a.scores[keep], a.nterms[keep], a.termcount)
        raise Unsupported(type(q).__name__)

    def _term(self, q: query.Term, seg: _Segment, idf_cache) -> _Res | None:
        if q.fieldname not in FIELDS or not isinstance(q.text, str):
            raise Unsupported(f"field {q.fieldname}")
        p = seg.postings(q.fieldname, q.text)
        if p is None:  # absent here: counts as a term when the index (any segment or shard) holds it
            if not self._present(q.fieldname, q.text):
                return None  # Whoosh: a NullMatcher, which counts no term
            return _Res(np.zeros(0, np.int32), np.zeros(0), np.zeros(0, np.int32), 1)
        docs, tf, fl = p
        key = (q.fieldname, q.text)
        if key not in idf_cache:
            idf_cache[key] = self.searcher.idf(q.fieldname, q.text)
        idf = idf_cache[key]
        avgfl = self.searcher.avg_field_length(q.fieldname) or 1
        scores = idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * fl / avgfl)))
        if q.boost != 1.0:
            scores = scores * q.boost
        return _Res(docs, scores, np.ones(len(docs), np.int32), 1)

    def _present(self, field: str, text: str) -> bool:
        """The term count rule of ``index.whoosh_patch`` (3): is the term anywhere in the index?"""
        from index.whoosh_patch import term_present

        try:
            btext = self.searcher.schema[field].to_bytes(text)
        except ValueError:
            return False
        return term_present(self.searcher, field, btext)

    def _children(self, q, seg, idf_cache) -> list[_Res]:
        return [r for r in (self._eval(c, seg, idf_cache) for c in q.subqueries) if r is not None]

    def _or(self, q: query.Or, seg: _Segment, idf_cache) -> _Res | None:
        if len(q.subqueries) == 1:  # Whoosh: the child's matcher, no coordination
            return self._eval(q.subqueries[0], seg, idf_cache)
        kids = self._children(q, seg, idf_cache)
        if not kids:
            return None
        termcount = sum(k.termcount for k in kids)
        docs, scores, nterms, _ = _combine(kids, seg.n)
        if q.scale and termcount > 1:  # one term matcher: nothing to coordinate (index.whoosh_patch)
            scores = (scores + (nterms - 1) / (termcount - q.scale) ** 2) * ((termcount - 1) / termcount)
        return _Res(docs, scores, nterms, termcount)

    def _and(self, q: query.And, seg: _Segment, idf_cache) -> _Res | None:
        if len(q.subqueries) == 1:
            return self._eval(q.subqueries[0], seg, idf_cache)
        kids = [self._eval(c, seg, idf_cache) for c in q.subqueries]
        if any(k is None for k in kids):
            return None  # Whoosh: an intersection with a NullMatcher matches nothing
        docs, scores, nterms, count = _combine(kids, seg.n)
        full = count == len(kids)
        return _Res(docs[full], scores[full], nterms[full], sum(k.termcount for k in kids))


def _combine(kids: list[_Res], n: int):
    """Union of the children's docs with summed scores and term counts, and how many children
    matched each doc."""
    docs = np.concatenate([k.docs for k in kids])
    scores = np.concatenate([k.scores for k in kids])
    nterms = np.concatenate([k.nterms for k in kids])
    if len(docs) * 32 < n:  # small: sort instead of touching n slots
        uniq, inv = np.unique(docs, return_inverse=True)
        m = len(uniq)
        return (
            uniq,
            np.bincount(inv, weights=scores, minlength=m),
            np.bincount(inv, weights=nterms, minlength=m).astype(np.int32),
            np.bincount(inv, minlength=m),
        )
    count = np.bincount(docs, minlength=n)
    uniq = np.flatnonzero(count)
    return (
        uniq.astype(np.int32),
        np.bincount(docs, weights=scores, minlength=n)[uniq],
        np.bincount(docs, weights=nterms, minlength=n)[uniq].astype(np.int32),
        count[uniq],
    )
