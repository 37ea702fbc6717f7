"""Open an index read-only and answer keyword, semantic, hybrid and similar-claims queries.

A query's walk: options checked (``search.options.validate``, before any model loads) -> the text
parsed once (``search.query``) and the filter computed once (``search.keyword_leg.FilterPlan``) ->
keyword leg (``search.keyword_leg``) and/or dense leg (``search.dense_leg``), each fetched to
``search.options.leg_depth`` -> candidates checked against the catalog at the manifest's generation
(snapshot isolation) -> date leg and fusion (``search.fusion``) -> the page (``search.page``: catalog
rows for the page only, grouping, clusters, highlights) -> ``Hit`` records (``search.hits``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.analysis import build_schema
from index.errors import NotFoundError, option
from search.clauses import has_clauses
from search.options import (
    MODES,
    OptionError,
    SearchOptions,
    leg_depth,
    semantic_floor,
    similar_options,
    validate,
)
from search.page import SearchResult, assemble
from search.query import (
    EmptyQueryError,
    Filters,
    analyze_query,
    clean_claim_text,
    field_names,
    require_words,
    resolve_around,
)
from search.stores import IndexView, default_index

Run = list[tuple[int, float]]


@dataclass
class Prepared:
    """One query, parsed once: keyword query and its AND form (or None), vector (or None), text, filter."""

    q: Any
    conj: Any
    vector: np.ndarray | None
    text: str
    plan: Any  # search.keyword_leg.FilterPlan


class Searcher(IndexView):
    """Queries over one committed generation of an index folder (its stores: ``search.stores``); a
    sharded folder opens as a ``search.sharded.ShardedSearcher``, which ranks as one index over the same
    articles would."""

    def __new__(cls, index_dir: Path | None = None, *args, **kwargs):
        # *args/**kwargs: subclasses (``claims serve``'s pool members) take more arguments than ``Searcher``
        if cls is Searcher:
            from index.shards import is_sharded

            if is_sharded(Path(index_dir) if index_dir else default_index()):
                from search.sharded import ShardedSearcher

                return super().__new__(ShardedSearcher)
        return super().__new__(cls)

    def filter_plan(self, filters):
        """``filters`` computed once for every leg (``search.keyword_leg.FilterPlan``)."""
        from search.keyword_leg import plan

        return plan(self, filters)

    def __enter__(self) -> Searcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- legs ----------------------------------------------------------------------------------
    def keyword_run(self, q, depth: int | None, filters, operator: str = "auto", conj=None) -> Run:
        """BM25F top ``depth`` as ``(passage_id, score)``; see ``search.keyword_leg.keyword_run``.

        ``filters``: ``Filters`` or a ``FilterPlan`` (computed once per query).
        """
        from search.keyword_leg import keyword_run

        return keyword_run(self, q, depth, filters, operator, conj)

    def allowed_ids(self, filters) -> set[int] | None:
        """The passage ids a filter admits (the same filter the keyword leg applies); None: all."""
        from search.keyword_leg import plan

        return plan(self, filters).allowed()

    def semantic_run(self, vector: np.ndarray, depth: int, filters, threshold: float | None = None) -> Run:
        """Top ``depth`` passages by cosine at or above ``threshold``; see ``search.dense_leg``."""
        from search.dense_leg import semantic_run

        return semantic_run(self, vector, depth, self.allowed_ids(filters), threshold)

    # -- queries --------------------------------------------------------------------------------
    def search(self, text: str, opts: SearchOptions | None = None) -> SearchResult:
        """Keyword, semantic or hybrid search for ``text``: one page of ``Hit`` rows.

        Raises:
            OptionError, QuerySyntaxError: Bad options or query (checked before the model loads).
        """
        opts = self._checked(opts or SearchOptions(), text)
        prep = self._prepare(text, opts)
        depth = leg_depth(opts)
        fused, runs = self._legs(prep, opts, {"keyword": depth, "semantic": depth})
        return assemble(self, fused, runs, opts, prep.q, prep.vector, prep.text, depth)

    def _checked(self, opts: SearchOptions, text: str | None, paging: bool = True) -> SearchOptions:
        """Validated ``opts`` with ``around`` resolved against the raw text (before cleaning strips
        the date) and ``--where`` fields checked against this index: no model is loaded yet."""
        validate(opts, paging=paging)
        opts.filters.where_queries(self.manifest.metadata_fields)
        return dataclasses.replace(opts, around=resolve_around(opts.around, text))

    def _prepare(self, text: str | None, opts: SearchOptions, vector=None) -> Prepared:
        """Clean and parse ``text`` once, compute its filter once, embed it (unless ``vector`` is given).

        Raises:
            EmptyQueryError: No searchable words once cleaned, in every mode (nothing empty is embedded).
        """
        text = text or ""
        if opts.clean and (opts.literal or opts.mode == "semantic"):
            text = clean_claim_text(text)
        require_words(text)
        q = conj = None
        words = text
        meta = self.manifest.metadata_fields
        if opts.mode != "semantic" or (
            not opts.literal and has_clauses(text, field_names(build_schema(), meta))
        ):  # semantic mode looks for field clauses without opening the keyword store
            parsed = analyze_query(text, self.schema, opts.literal, meta)
            # field clauses filter every leg, as --source does (search.clauses); ``opts`` is a copy
            opts.filters = opts.filters.restricted(parsed.restriction)
            words = parsed.words
            if opts.mode != "semantic" or not words:  # clauses alone: listed by the keyword path
                q, conj = parsed.scored, parsed.conj
        fp = self.filter_plan(opts.filters)
        if opts.mode == "keyword" or not words:
            vector = None
        elif vector is None:
            vector = self.embedder.encode_query(words)
        return Prepared(q, conj, vector, text, fp)

    def _legs(
        self, prep: Prepared, opts: SearchOptions, depths: dict[str, int | None], exclude: Iterable[int] = ()
    ) -> tuple[Run, dict[str, Run]]:
        """Run the legs, keep passages visible at the manifest's generation (snapshot isolation), add
        the date leg, fuse, and apply ``--threshold`` to every row. Returns the fused ranking and the
        per-leg runs, each best first."""
        from search.dense_leg import cosines, semantic_run
        from search.ranker import fuse_runs

        runs: dict[str, Run] = {}
        if prep.q is not None:
            runs["keyword"] = self.keyword_run(prep.q, depths["keyword"], prep.plan, opts.operator, prep.conj)
        if prep.vector is not None:
            runs["semantic"] = semantic_run(
                self, prep.vector, depths["semantic"], prep.plan.allowed(), semantic_floor(opts)
            )
        seen = self.catalog.visible_dates({i for run in runs.values() for i, _ in run})
        for i in exclude:
            seen.pop(i, None)
        runs = {leg: [(i, s) for i, s in run if i in seen] for leg, run in runs.items()}
        if opts.around and seen:  # resolved to a date by ``_checked``
            import datetime as dt

            from search.fusion import date_leg

            runs["date"] = date_leg(seen, seen, dt.date.fromisoformat(opts.around), opts.around_days)
        fused = fuse_runs(self, runs, opts)  # the adopted learned ranker (``claims tune``), else fixed fusion
        if opts.threshold is not None and prep.vector is not None:  # every row, keyword-only ones too
            cos = dict(runs.get("semantic", []))
            cos |= cosines(self, prep.vector, {i for i, _ in fused if i not in cos})
            fused = [(i, s) for i, s in fused if cos.get(i, -2.0) >= opts.threshold]
        return fused, runs

    def similar(
        self, text: str | None = None, passage_id: int | None = None, opts: SearchOptions | None = None
    ) -> SearchResult:
        """Claims similar to ``text`` or to passage ``passage_id`` (which is left out of the results).

        Default options: ``search.options.similar_options()`` (the same as ``claims similar``). With a
        passage, ``around="auto"`` is the passage's own article date (none when it is undated).

        Raises:
            OptionError: Both or neither of ``text`` and ``passage_id``.
        """
        if text is not None and passage_id is not None:
            raise OptionError(f"give a claim text or {option('id', 'PASSAGE_ID')}, not both")
        if text is None and passage_id is None:
            raise OptionError(f"give a claim text or {option('id', 'PASSAGE_ID')}")
        opts = opts or similar_options()
        exclude: set[int] = set()
        vector = None
        notes: list[str] = []
        if passage_id is not None:
            row = self.catalog.passage(passage_id)
            auto = opts.around == "auto"
            opts = self._checked(opts, None)
            if auto:  # the passage's own article date; undated: no date leg, and a note says so
                opts = dataclasses.replace(opts, around=(row["date"] or "")[:10] or None)
                if opts.around is None:
                    notes.append(f"--around auto: passage {passage_id}'s article has no date, so no date leg")
            text = row["text"]
            exclude.add(passage_id)
            if opts.mode != "keyword":
                try:
                    vector = self.dense.reconstruct(np.array([passage_id]))[0]
                except RuntimeError:
                    vector = None
        else:
            opts = self._checked(opts, text)
        # A claim is plain text, never query syntax.
        opts = dataclasses.replace(opts, literal=True)
        prep = self._prepare(text, opts, vector=vector)
        depth = leg_depth(opts)
        fused, runs = self._legs(prep, opts, {"keyword": depth, "semantic": depth}, exclude)
        result = assemble(self, fused, runs, opts, prep.q, prep.vector, prep.text, depth)
        result.notes = notes
        return result

    def leg_depths(self, opts: SearchOptions) -> dict[str, int | None]:
        """How deep ``iter_ranked`` fetches each leg of ``opts.mode`` (None: every match).

        ``opts.limit > 0``: ``search.options.leg_depth``, as ``search`` does. ``opts.limit == 0``: the
        whole ranking: every Whoosh match, and ``max(opts.depth, vectors in the store)`` from FAISS
        (cut by the minimum similarity).
        """
        legs = {"keyword": ("keyword", "hybrid"), "semantic": ("semantic", "hybrid")}
        depths: dict[str, int | None] = {}
        for leg, modes in legs.items():
            if opts.mode in modes:
                if opts.limit:
                    depths[leg] = leg_depth(opts)
                else:
                    depths[leg] = None if leg == "keyword" else max(opts.depth, self.dense.ntotal)
        return depths

    def iter_ranked(
        self, text: str, opts: SearchOptions
    ) -> Iterator[tuple[int, float, dict[str, tuple[int, float]]]]:
        """Yield ``(passage_id, score, {leg: (rank, leg score)})`` best first, without catalog rows.

        The same ranking as ``search(text, opts)`` (same legs, snapshot filter, date leg and fusion),
        for exports: nothing per passage is built but these tuples. ``opts.limit == 0`` yields every
        hit (see ``leg_depths``). Clustering and article grouping need ``search``.

        Raises:
            OptionError: Bad options, or ``cluster``/``group_by`` set.
        """
        if opts.cluster or opts.group_by == "article":
            raise OptionError("a passage ranking cannot be clustered or grouped: drop cluster/group_by")
        opts = self._checked(opts, text, paging=bool(opts.limit))
        prep = self._prepare(text, opts)
        fused, runs = self._legs(prep, opts, self.leg_depths(opts))
        legs = {leg: {i: (r, s) for r, (i, s) in enumerate(run, 1)} for leg, run in runs.items()}
        del runs
        end = opts.offset + opts.limit if opts.limit else None
        for pid, score in fused[opts.offset : end]:
            yield pid, float(score), {leg: got[pid] for leg, got in legs.items() if pid in got}

    def legs_used(self, opts: SearchOptions, text: str | None) -> list[str]:
        """The legs a search with ``opts`` fuses (the date leg when ``around`` resolves to a date)."""
        legs = [leg for leg in ("keyword", "semantic") if opts.mode in (leg, "hybrid")]
        return legs + (["date"] if resolve_around(opts.around, text) else [])


__all__ = [
    "MODES",
    "EmptyQueryError",
    "Filters",
    "NotFoundError",
    "Searcher",
    "SearchOptions",
    "SearchResult",
]
