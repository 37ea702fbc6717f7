"""Open an index read-only and answer keyword, semantic, hybrid and similar-claims queries.

A query's walk: parse (``search.query``) -> Whoosh leg and/or FAISS leg, each over-fetched to
``depth`` and restricted by the same filter -> candidates checked against the catalog at the
manifest's generation (snapshot isolation) -> fusion (``search.fusion``) -> optional grouping by
article and claim clusters (``search.clusters``) -> ``Hit`` records (``search.hits``).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index.analysis import build_schema
from index.errors import ClaimsError, IndexCorruptError, ModelMismatchError, NotFoundError
from index.manifest import CATALOG, Manifest, read_manifest
from search.catalog import CatalogReader
from search.clauses import has_clauses
from search.fusion import AROUND_DAYS, AROUND_WEIGHT
from search.hits import Hit
from search.lexical import pid_column
from search.query import (
    Filters,
    analyze_query,
    clean_claim_text,
    conjunctive,
    expanding_patterns,
    field_names,
    literal_query,
    positive_terms,
    resolve_around,
)

MODES = ("hybrid", "keyword", "semantic")


@dataclass
class SearchOptions:
    """Options shared by every search command (the CLI defines them once)."""

    mode: str = "hybrid"
    limit: int = 10
    offset: int = 0
    filters: Filters = field(default_factory=Filters)
    literal: bool = False
    depth: int = 100
    # Defaults chosen on CheckThat! 2A train (README "Hybrid ranking"): convex, z-score, 0.4/0.6.
    fusion: str = "convex"
    rrf_k: float = 60.0
    weights: tuple[float, float] = (0.4, 0.6)  # (keyword, semantic)
    norm: str = "zscore"
    threshold: float | None = None  # minimum cosine for semantic candidates
    cluster: bool = False
    cluster_threshold: float = 0.95
    group_by: str | None = None  # "article": rank articles by their best passage
    explain: bool = False
    operator: str = "auto"  # keyword leg: "auto" (AND when it fills the depth, else OR) or "or"
    clean: bool = False  # strip links, handles and tweet signatures from claim text (``clean_claim_text``)
    # A date-proximity leg (``search.fusion.date_leg``): None/"off", "auto" (the date a pasted tweet
    # carries, ``search.query.claim_date``) or a date; resolved to YYYY-MM-DD before the legs run.
    around: str | None = None
    around_days: float = AROUND_DAYS
    around_weight: float = AROUND_WEIGHT


@dataclass
class SearchResult:
    hits: list[Hit]
    parsed: str = ""
    explain: dict[str, Any] = field(default_factory=dict)


def default_index() -> Path:
    return Path(os.environ.get("CLAIMS_INDEX", "claims-index"))


class Searcher:
    """Read-only view of one committed generation of an index folder."""

    def __init__(self, index_dir: Path | None = None, model: str | None = None):
        self.dir = Path(index_dir) if index_dir else default_index()
        for _ in range(3):  # a writer may commit twice between reading the manifest and pinning
            self.manifest: Manifest = read_manifest(self.dir)
            self._pinned = self._pin_vectors()
            if self._pinned or not self.manifest.vectors_file:
                break
        self.catalog = CatalogReader(self.dir / CATALOG, self.manifest.generation)
        self.model = model
        self._ix = None
        self._dense = None
        self._embedder = None
        self._whoosh = None
        self._pid_col = None
        self._impacts: Any = None  # search.impacts.ImpactIndex, or None: Whoosh answers every query

    def _pin_vectors(self) -> tuple[Any, Any] | None:
        """Open this generation's vector files now (cheap; FAISS is loaded on first use): the writer
        removes them once the next generation commits, and an open handle keeps them readable."""
        from search.dense import tombstone_path

        if not self.manifest.vectors_file:
            return None
        path = self.dir / self.manifest.vectors_file
        try:
            fh = open(path, "rb")  # noqa: SIM115 - held until close()
        except FileNotFoundError:
            return None  # reported, with the fix, when the vectors are needed
        try:
            tomb = open(tombstone_path(path), "rb")  # noqa: SIM115 - held until close()
        except FileNotFoundError:
            tomb = None
        return fh, tomb

    def close(self) -> None:
        if self._whoosh is not None:
            self._whoosh.close()
        self.catalog.close()
        for fh in self._pinned or ():
            if fh is not None:
                fh.close()
        self._pinned = None

    def __enter__(self) -> Searcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- stores (lazy: keyword search never loads FAISS or torch) -------------------------------
    @property
    def ix(self):
        if self._ix is None:
            from search.impacts import ImpactIndex
            from search.lexical import open_lexical_readonly

            self._ix, self._whoosh = open_lexical_readonly(self.dir / self.manifest.lexical_dir)
            self._pid_col = pid_column(self._whoosh.reader())
            # Opened (memory-mapped) with the Whoosh searcher: a writer that merges segments later
            # removes the merged-away arrays, and an open map keeps them readable, as Whoosh's files.
            self._impacts = ImpactIndex.open(self._whoosh, self.dir / self.manifest.lexical_dir)
        return self._ix

    @property
    def dense(self):
        if self._dense is None:
            from search.dense import DenseIndex, single_query_threads

            if not self.manifest.vectors_file:
                raise IndexCorruptError(
                    f"{self.dir} has no vector store: run `claims repair --index {self.dir}`"
                )
            path = self.dir / self.manifest.vectors_file
            if not self._pinned:
                raise IndexCorruptError(
                    f"vector store {path} is missing: run `claims repair --index {self.dir}`"
                )
            self._dense = DenseIndex.load(path, *self._pinned)
            single_query_threads()
        return self._dense

    @property
    def embedder(self):
        if self._embedder is None:
            from index.embed import Embedder, resolve_model

            m = self.manifest
            if self.model is not None:
                name, _ = resolve_model(self.model)
                if name != m.model:
                    raise ModelMismatchError(
                        f"this index was built with {m.model}; queries with {name} would be meaningless: "
                        f"drop --model, or rebuild with `claims reindex --model {self.model}`"
                    )
                self._embedder = Embedder(self.model)
            else:
                path = m.model_path if m.model_path and Path(m.model_path).exists() else None
                self._embedder = Embedder(path or m.model)
                if self._embedder.name != m.model and path is None:
                    raise ModelMismatchError(
                        f"the index's model {m.model} is not on this machine: pass --model PATH"
                    )
        return self._embedder

    # -- legs -----------------------------------------------------------------------------------
    @property
    def whoosh(self):
        """One Whoosh searcher for this Searcher's lifetime (opening one per query costs more than the query)."""
        _ = self.ix  # the searcher is opened with the index
        return self._whoosh

    @property
    def impacts(self):
        """The numpy BM25F evaluator over this searcher's segments (``search.impacts``), or None."""
        _ = self.ix  # opened with the Whoosh searcher
        return self._impacts

    def _filter_masks(self, filters: Filters):
        from whoosh.util.times import datetime_to_long

        start, end = filters.dates()
        return self.impacts.filter_masks(
            datetime_to_long(start) if start else None,
            datetime_to_long(end) if end else None,
            filters.source_keys(),
            filters.where_queries(self.manifest.metadata_fields),
            filters.clause_docs(self.whoosh),
        )

    def keyword_run(
        self, q, depth: int | None, filters: Filters, operator: str = "auto", conj=None
    ) -> list[tuple[int, float]]:
        """BM25F top ``depth`` as ``(passage_id, score)``.

        ``operator="auto"``: a query that is a plain list of words/clauses (our OR-with-coordination
        default) is first run as AND; when that fills ``depth`` those are the results (every one has
        all the terms, and intersecting postings is far faster than a union), otherwise the OR query
        answers, so passages with most of the terms are never dropped. ``"or"``: only the OR query.
        ``conj`` is the AND form (``search.query.conjunctive``); None: derived from a literal ``q``.
        """
        if operator == "auto" and depth and conj is None:
            conj = conjunctive(q)
        if self.impacts is not None:
            from search.impacts import Unsupported

            imp = self.impacts
            masks = self._filter_masks(filters) if filters else None

            def top(query) -> list[tuple[int, float]]:
                hits = imp.top(query, depth, masks)
                return list(zip(imp.pids([d for d, _ in hits]), [sc for _, sc in hits], strict=True))

            try:
                return _and_first(top, q, conj, depth, operator)
            except Unsupported:
                pass  # a phrase, wildcard, other field...: Whoosh ranks it the same way, slower
        s = self.whoosh
        fq = filters.whoosh_filter(s, self.ix.schema, self.manifest.metadata_fields) if filters else None
        col = self._pid_col

        def whoosh_top(query) -> list[tuple[int, float]]:
            return [(int(col[h.docnum]), float(h.score)) for h in s.search(query, limit=depth, filter=fq)]

        return _and_first(whoosh_top, q, conj, depth, operator)

    def allowed_ids(self, filters: Filters) -> set[int] | None:
        """The passage ids a filter admits (the same filter the keyword leg applies)."""
        if not filters:
            return None
        if self.impacts is not None:
            return set(self.impacts.allowed_pids(self._filter_masks(filters)).tolist())
        s = self.whoosh
        fq = filters.whoosh_filter(s, self.ix.schema, self.manifest.metadata_fields)
        return {int(self._pid_col[d]) for d in (fq if isinstance(fq, set) else fq.docs(s))}

    def semantic_run(
        self, vector: np.ndarray, depth: int, filters: Filters, threshold: float | None = None
    ) -> list[tuple[int, float]]:
        """Top ``depth`` passages by cosine; a match on an article field vector scores the article's
        first passage (each passage keeps its best score)."""
        from search.dense import FIELD_SHIFT, PID_MASK, field_vector_id

        n_fields = len(self.manifest.embed_fields)
        allowed = self.allowed_ids(filters)
        if allowed is not None and n_fields:
            allowed = allowed | {field_vector_id(p, f) for p in allowed for f in range(1, n_fields + 1)}
        raw = self.dense.search(vector, depth * (1 + n_fields), allowed=allowed)
        best: dict[int, float] = {}
        for i, score in raw:
            pid = i & PID_MASK if i >> FIELD_SHIFT else i
            if score > best.get(pid, -2.0):
                best[pid] = score
        run = sorted(best.items(), key=lambda x: (-x[1], x[0]))[:depth]
        if threshold is not None:
            run = [(i, s) for i, s in run if s >= threshold]
        return run

    # -- queries --------------------------------------------------------------------------------
    def search(self, text: str, opts: SearchOptions | None = None) -> SearchResult:
        """Keyword, semantic or hybrid search for ``text``."""
        opts = _resolved(opts or SearchOptions(), text)
        (q, conj), vector, text = self._prepare(text, opts)
        return self._run(q, vector, opts, query_text=text, conj=conj)

    def _prepare(self, text: str, opts: SearchOptions):
        """``(Whoosh query or None, query vector or None, query text)`` for ``opts.mode``."""
        if opts.mode not in MODES:
            raise ClaimsError(f"--mode {opts.mode!r}: choose one of {', '.join(MODES)}")
        if opts.clean and (opts.literal or opts.mode == "semantic"):
            text = clean_claim_text(text)
        q = conj = None
        words = text
        meta = self.manifest.metadata_fields
        if opts.mode != "semantic" or (
            not opts.literal and has_clauses(text, field_names(build_schema(), meta))
        ):
            parsed = analyze_query(text, self.ix.schema, opts.literal, meta)
            # field clauses filter every leg, as --source does (search.clauses); ``opts`` is a copy
            opts.filters = opts.filters.restricted(parsed.restriction)
            words = parsed.words
            if opts.mode != "semantic" or not words:  # clauses alone: listed by the keyword path
                q, conj = parsed.scored, parsed.conj
        vector = self.embedder.encode_query(words) if opts.mode != "keyword" and words else None
        return (q, conj), vector, text

    def _legs(
        self,
        q,
        vector,
        opts: SearchOptions,
        depths: dict[str, int | None],
        exclude: Iterable[int] = (),
        conj=None,
    ) -> tuple[list[tuple[int, float]], dict[str, list[tuple[int, float]]]]:
        """Run the legs, keep passages visible at the manifest's generation (snapshot isolation), fuse.

        Returns the fused ranking and the per-leg runs, each best first.
        """
        from search.fusion import fuse

        runs: dict[str, list[tuple[int, float]]] = {}
        if q is not None:
            runs["keyword"] = self.keyword_run(q, depths["keyword"], opts.filters, opts.operator, conj)
        if vector is not None:
            runs["semantic"] = self.semantic_run(vector, depths["semantic"], opts.filters, opts.threshold)
        seen = self.catalog.visible_dates({i for run in runs.values() for i, _ in run})
        for i in exclude:
            seen.pop(i, None)
        runs = {leg: [(i, s) for i, s in run if i in seen] for leg, run in runs.items()}
        if opts.around and seen:  # resolved to a date by search/similar/iter_ranked (``_resolved``)
            import datetime as dt

            from search.fusion import date_leg

            runs["date"] = date_leg(seen, seen, dt.date.fromisoformat(opts.around), opts.around_days)
        if len(runs) >= 2:
            fused = fuse(list(runs.values()), method=opts.fusion, **_fusion_params(opts, list(runs)))
        else:
            fused = next(iter(runs.values()), [])
        return fused, runs

    def similar(
        self, text: str | None = None, passage_id: int | None = None, opts: SearchOptions | None = None
    ) -> SearchResult:
        """Claims similar to ``text`` or to passage ``passage_id`` (which is left out of the results)."""
        opts = _resolved(opts or SearchOptions(cluster=True, clean=True, around="auto"), text)
        exclude: set[int] = set()
        if text and opts.clean:
            text = clean_claim_text(text)
        if passage_id is not None:
            row = self.catalog.passage(passage_id)
            text = row["text"]
            exclude.add(passage_id)
            try:
                vector = self.dense.reconstruct(np.array([passage_id]))[0] if opts.mode != "keyword" else None
            except RuntimeError:
                vector = self.embedder.encode_query(text)
        elif text:
            vector = self.embedder.encode_query(text) if opts.mode != "keyword" else None
        else:
            raise ClaimsError("give a claim text or --id PASSAGE_ID")
        q = literal_query(text) if opts.mode != "semantic" else None
        return self._run(q, vector, opts, query_text=text, exclude=exclude)

    def leg_depths(self, opts: SearchOptions) -> dict[str, int | None]:
        """How deep ``iter_ranked`` fetches each leg of ``opts.mode`` (None: every match).

        ``opts.limit > 0``: ``max(opts.depth, offset + limit)``, as ``search`` does. ``opts.limit == 0``:
        the whole ranking: every Whoosh match, and ``max(opts.depth, vectors in the store)`` from FAISS.
        """
        want = opts.offset + opts.limit
        legs = {"keyword": ("keyword", "hybrid"), "semantic": ("semantic", "hybrid")}
        depths: dict[str, int | None] = {}
        for leg, modes in legs.items():
            if opts.mode in modes:
                if opts.limit:
                    depths[leg] = max(opts.depth, want)
                else:
                    depths[leg] = None if leg == "keyword" else max(opts.depth, self.dense.ntotal)
        return depths

    def iter_ranked(
        self, text: str, opts: SearchOptions
    ) -> Iterator[tuple[int, float, dict[str, tuple[int, float]]]]:
        """Yield ``(passage_id, score, {leg: (rank, leg score)})`` best first, without catalog rows.

        The same ranking as ``search(text, opts)`` (same legs, snapshot filter and fusion), for
        exports: nothing per passage is built but these tuples. ``opts.limit == 0`` yields the whole
        ranking (see ``leg_depths``). Clustering and article grouping need ``search``.

        Raises:
            ClaimsError: An unknown mode, a negative limit, or ``cluster``/``group_by`` set.
        """
        if opts.limit < 0 or opts.offset < 0:
            raise ClaimsError(f"limit {opts.limit}, offset {opts.offset}: use numbers >= 0 (limit 0 = all)")
        if opts.cluster or opts.group_by:
            raise ClaimsError("a passage ranking cannot be clustered or grouped: drop cluster/group_by")
        opts = _resolved(opts, text)
        (q, conj), vector, _ = self._prepare(text, opts)
        fused, runs = self._legs(q, vector, opts, self.leg_depths(opts), conj=conj)
        legs = {leg: {i: (r, s) for r, (i, s) in enumerate(run, 1)} for leg, run in runs.items()}
        del runs
        end = opts.offset + opts.limit if opts.limit else None
        for pid, score in fused[opts.offset : end]:
            yield pid, float(score), {leg: got[pid] for leg, got in legs.items() if pid in got}

    def _run(
        self, q, vector, opts: SearchOptions, query_text: str, exclude: set[int] = frozenset(), conj=None
    ) -> SearchResult:
        want = opts.offset + opts.limit
        depth = max(opts.depth, want * (5 if opts.cluster or opts.group_by else 1))
        fused, runs = self._legs(q, vector, opts, {"keyword": depth, "semantic": depth}, exclude, conj)
        rows = self.catalog.passages(i for i, _ in fused)
        leg_rank = {leg: {i: r for r, (i, _) in enumerate(run, 1)} for leg, run in runs.items()}
        leg_score = {leg: dict(run) for leg, run in runs.items()}
        hits = []
        for pid, score in fused:
            row = rows[pid]
            hits.append(
                Hit(
                    passage_id=pid,
                    article_id=row["article_id"],
                    score=float(score),
                    scores={leg: leg_score[leg][pid] for leg in runs if pid in leg_score[leg]},
                    ranks={leg: leg_rank[leg][pid] for leg in runs if pid in leg_rank[leg]},
                    text=row["text"],
                    title=row["title"],
                    date=row["date"],
                    source=row["source"],
                    url=row["url"],
                    start=row["start"],
                    end=row["end"],
                    metadata=row["metadata"],
                )
            )
        if opts.group_by == "article":
            seen: set[str] = set()
            hits = [h for h in hits if not (h.article_id in seen or seen.add(h.article_id))]
        if opts.cluster:
            from search.clusters import cluster_hits

            vectors = None
            if vector is not None and hits:
                ids = np.array([h.passage_id for h in hits], dtype=np.int64)
                vectors = dict(zip(ids.tolist(), self.dense.reconstruct(ids), strict=True))
            hits = cluster_hits(hits, vectors, threshold=opts.cluster_threshold)
        hits = hits[opts.offset : want]
        for rank, h in enumerate(hits, opts.offset + 1):
            h.rank = rank
        highlighter = Highlighter(q, query_text)
        for h in hits:
            h.highlights = highlighter(h.text)
        explain = {}
        if opts.explain:
            explain = {
                "mode": opts.mode,
                "query": repr(q) if q is not None else None,
                "method": opts.fusion if len(runs) >= 2 else "single leg",
                "params": _fusion_params(opts, list(runs)) if len(runs) >= 2 else {},
                "around": opts.around,
                "depth": depth,
                "filter": opts.filters.describe(self.ix.schema, self.manifest.metadata_fields),
                "candidates": {leg: len(run) for leg, run in runs.items()},
            }
        return SearchResult(hits=hits, parsed=repr(q) if q is not None else "", explain=explain)


def _and_first(top, q, conj, depth: int | None, operator: str) -> list[tuple[int, float]]:
    """``top(conj)`` when ``operator`` is ``auto`` and the AND form fills ``depth``, else ``top(q)``."""
    if operator == "auto" and depth and conj is not None:
        hits = top(conj)
        if len(hits) >= depth:
            return hits
    return top(q)


def _fusion_params(opts: SearchOptions, legs: list[str] | None = None) -> dict[str, Any]:
    """Fusion keyword arguments for the legs ``legs`` (default: keyword and semantic), in that order:
    ``--weights`` for keyword and semantic (1.0 for the one leg of a one-leg mode), ``--around-weight``
    for the date leg."""
    legs = legs or ["keyword", "semantic"]
    by_leg = {"keyword": opts.weights[0], "semantic": opts.weights[1], "date": opts.around_weight}
    if "date" in legs and len(legs) == 2:  # one text leg + the date leg
        by_leg["keyword"] = by_leg["semantic"] = 1.0
    weights = [by_leg[leg] for leg in legs]
    if opts.fusion == "rrf":
        return {"k": opts.rrf_k, "weights": weights}
    return {"weights": weights, "norm": opts.norm}


def _resolved(opts: SearchOptions, text: str | None) -> SearchOptions:
    """``opts`` with ``around`` resolved against the raw query text (before cleaning strips the date)."""
    import dataclasses

    return dataclasses.replace(opts, around=resolve_around(opts.around, text))


class Highlighter:
    """Character offsets of the words in a passage that the query matches (exact, via the analyzer)."""

    def __init__(self, q, query_text: str):
        from index.analysis import claim_analyzer

        self.analyzer = claim_analyzer()
        if q is not None:
            self.terms = positive_terms(q, "text")
            self.patterns = expanding_patterns(q, "text")
        else:  # semantic mode: the query's own words
            self.terms = {t.text for t in self.analyzer(query_text, mode="query")}
            self.patterns = []

    def _matches(self, token: str) -> bool:
        if token in self.terms:
            return True
        for p in self.patterns:
            if p.__class__.__name__ == "FuzzyTerm":
                from whoosh.support.levenshtein import distance

                if distance(token, p.text) <= p.maxdist:
                    return True
            elif fnmatch.fnmatchcase(token, p.text if "Wildcard" in p.__class__.__name__ else p.text + "*"):
                return True
        return False

    def __call__(self, text: str) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        for t in self.analyzer(text, chars=True, mode="index"):
            if not t.stopped and self._matches(t.text):
                if spans and t.startchar < spans[-1][1]:
                    spans[-1] = (spans[-1][0], max(spans[-1][1], t.endchar))
                elif not spans or spans[-1] != (t.startchar, t.endchar):
                    spans.append((t.startchar, t.endchar))
        return spans


def show(index_dir: Path | None, passage_id: int, context: int = 1) -> dict[str, Any]:
    """A passage with its neighbours in the article and its provenance (``claims show``)."""
    with Searcher(index_dir) as s:
        row = s.catalog.passage(passage_id)
        row["neighbours"] = [
            n for n in s.catalog.neighbours(passage_id, context, context) if n["passage_id"] != passage_id
        ]
        return row


__all__ = ["Searcher", "SearchOptions", "SearchResult", "show", "NotFoundError"]
