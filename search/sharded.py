"""Search over a sharded index (``index.shards``): scatter-gather over ordinary shard searchers that
ranks exactly as one index over the same articles.

A ``ShardedSearcher`` is a ``search.searcher.Searcher`` whose stores are views over one ``Searcher``
per shard, so the search contract (options, parsing, snapshot check, date leg, fusion once over the
merged candidates, the page) is the single index's own code:

* **Keyword leg**, Elasticsearch's ``dfs_query_then_fetch``: before any shard scores, every shard's
  Whoosh searcher is given the **global BM25F statistics** (``GlobalStats``: document frequency and
  document count summed over shards, for the idf; summed field lengths over the summed document count,
  for the average field length; and the coordination's term count over every shard,
  ``index.whoosh_patch``). Both Whoosh and the numpy impact path read them from that searcher. Each
  shard returns its top ``depth``; the merged top ``depth`` is the single index's (every global top-k
  passage is in its shard's top-k). The AND-first rule is decided on the merged AND results.
* **Dense leg**: each shard's exact top ``k`` (ids restricted per shard), merged by cosine: the single
  index's top ``k`` for exact stores; within each shard's ANN recall for IVF ones.
* **Filters**: one ``FilterPlan`` per shard (``ShardedPlan``); ``allowed()`` is their union.
* **Catalog**: ``ShardedCatalog`` answers by global passage id; facet counts are summed.

Passage ids are global (``index.shards.global_pid``). Ties between equal scores break by global
passage id here and by Whoosh docnum in one index, so passages with exactly equal scores may swap.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import IndexCorruptError, IndexNotFoundError, NotFoundError
from index.ids import FIELD_SHIFT, PID_MASK
from index.manifest import MANIFEST, Manifest
from index.shards import global_pid, read_shards, split_pid
from search.searcher import Searcher, default_index

Run = list[tuple[int, float]]


class GlobalStats:
    """BM25F collection statistics summed over shards' Whoosh searchers (dfs_query_then_fetch).

    ``idf(field, text)`` is Whoosh's ``ln(N / (df + 1)) + 1`` with ``N`` and ``df`` summed over shards;
    ``avg_field_length(field)`` is the summed field length over the summed ``N`` (deleted documents
    count, as in Whoosh). ``install`` puts them on each shard's searcher.
    """

    def __init__(self, searchers: list[Any]):
        self.searchers = searchers
        self.doc_count = sum(s.doc_count_all() for s in searchers)
        self.schema = searchers[0].schema
        self._idf: dict[tuple[str, Any], float] = {}
        self._fl: dict[str, int] = {}

    def doc_frequency(self, fieldname: str, text) -> int:
        return sum(s.doc_frequency(fieldname, text) for s in self.searchers)

    def idf(self, fieldname: str, text) -> float:
        key = (fieldname, text)
        if key not in self._idf:
            n = self.doc_frequency(fieldname, text)
            self._idf[key] = math.log(self.doc_count / (n + 1)) + 1  # whoosh.scoring.WeightingModel.idf
        return self._idf[key]

    def field_length(self, fieldname: str) -> int:
        if fieldname not in self._fl:
            self._fl[fieldname] = sum(s.reader().field_length(fieldname) for s in self.searchers)
        return self._fl[fieldname]

    def avg_field_length(self, fieldname: str, default=None):
        if not self.schema[fieldname].scorable:
            return default
        return self.field_length(fieldname) / (self.doc_count or 1)  # whoosh.searching.Searcher

    def term_present(self, fieldname: str, btext: bytes) -> bool:
        return any((fieldname, btext) in s.reader() for s in self.searchers)

    def install(self) -> None:
        from whoosh.reading import MultiReader

        union = MultiReader([s.reader() for s in self.searchers])  # wildcard expansion over every shard
        for s in self.searchers:
            s.idf = self.idf
            s.avg_field_length = self.avg_field_length
            s.claims_term_present = self.term_present
            s.claims_term_reader = union


class ShardedPlan:
    """A query's filter over every shard: one ``search.keyword_leg.FilterPlan`` per shard."""

    def __init__(self, sharded: ShardedSearcher, filters):
        from index.analysis import metadata_key
        from search.keyword_leg import FilterPlan

        self.filters = filters if filters else None
        self.numbers = [n for n, _ in sharded.shards]
        # a --where key that a shard never saw admits nothing there (the index as a whole knows it)
        keys = {
            metadata_key(k) for k, _ in (filters.where if filters else ()) if k not in ("article_id", "url")
        }
        self.parts = [
            None if keys - set(s.manifest.metadata_fields) else FilterPlan(s, filters)
            for _, s in sharded.shards
        ]
        self._allowed: set[int] | None = None

    def __bool__(self) -> bool:
        return self.filters is not None

    def allowed(self) -> set[int] | None:
        if self.filters is None:
            return None
        if self._allowed is None:
            self._allowed = {
                global_pid(n, p)
                for n, part in zip(self.numbers, self.parts, strict=True)
                if part is not None
                for p in part.allowed()
            }
        return self._allowed


def _split(pids: Iterable[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for p in pids:
        n, local = split_pid(p)
        out.setdefault(n, []).append(local)
    return out


def _vid_global(shard: int, vid: int) -> int:
    return global_pid(shard, vid & PID_MASK) | ((vid >> FIELD_SHIFT) << FIELD_SHIFT)


class ShardedDense:
    """The shards' vector stores as one: ids are global vector ids (``index.ids`` over global pids)."""

    def __init__(self, parts: list[tuple[int, Any]]):
        self.parts = parts
        self.ntotal = sum(d.ntotal for _, d in parts)
        kinds = {d.kind for _, d in parts}
        self.kind = kinds.pop() if len(kinds) == 1 else "mixed"

    def search(self, query: np.ndarray, k: int, allowed=None) -> list[tuple[int, float]]:
        """Top ``k`` ``(global vector id, cosine)`` over every shard, ties by id."""
        per: dict[int, set[int]] = {}
        if allowed is not None:
            for gid in allowed:
                n, local = split_pid(int(gid) & PID_MASK)
                per.setdefault(n, set()).add(local | ((int(gid) >> FIELD_SHIFT) << FIELD_SHIFT))
        out: list[tuple[int, float]] = []
        for n, d in self.parts:
            if allowed is not None and n not in per:
                continue
            out += [
                (_vid_global(n, v), s) for v, s in d.search(query, k, per[n] if allowed is not None else None)
            ]
        out.sort(key=lambda x: (-x[1], x[0]))
        return out[:k]

    def reconstruct(self, ids) -> np.ndarray:
        """Vectors of global passage ids, in order. Raises RuntimeError for an id no shard holds."""
        ids = [int(i) for i in np.asarray(ids).tolist()]
        stores = dict(self.parts)
        rows = []
        for gid in ids:
            n, local = split_pid(gid)
            if n not in stores:
                raise RuntimeError(f"no shard {n}")
            rows.append(stores[n].reconstruct(np.array([local], np.int64))[0])
        return np.vstack(rows) if rows else np.zeros((0, 0), np.float32)


class ShardedCatalog:
    """The shards' catalogs by global passage id (the ``CatalogReader`` calls searching makes)."""

    def __init__(self, shards: list[tuple[int, Searcher]]):
        self.by = {n: s.catalog for n, s in shards}

    def _each(self, pids: Iterable[int]) -> Iterator[tuple[int, Any, list[int]]]:
        for n, local in _split(pids).items():
            if n in self.by:
                yield n, self.by[n], local

    @staticmethod
    def _row(n: int, row: dict[str, Any]) -> dict[str, Any]:
        row["passage_id"] = global_pid(n, row["passage_id"])
        return row

    def passages(self, pids: Iterable[int]) -> dict[int, dict[str, Any]]:
        return {
            global_pid(n, p): self._row(n, row)
            for n, cat, local in self._each(pids)
            for p, row in cat.passages(local).items()
        }

    def visible_dates(self, pids: Iterable[int]) -> dict[int, str | None]:
        return {
            global_pid(n, p): d
            for n, cat, local in self._each(pids)
            for p, d in cat.visible_dates(local).items()
        }

    def passage(self, pid: int) -> dict[str, Any]:
        got = self.passages([pid])
        if pid not in got:
            raise NotFoundError(f"no passage {pid} in this index: find ids with `claims search ... --json`")
        return got[pid]

    def neighbours(self, pid: int, before: int = 1, after: int = 1) -> list[dict[str, Any]]:
        n, local = split_pid(pid)
        self.passage(pid)
        return [self._row(n, r) for r in self.by[n].neighbours(local, before, after)]

    def features(self, pids: Iterable[int]) -> dict[int, dict[str, Any]]:
        return {
            global_pid(n, p): f for n, cat, local in self._each(pids) for p, f in cat.features(local).items()
        }

    def has_features(self) -> bool:
        return all(cat.has_features() for cat in self.by.values())

    def feature_pids(self, **conditions) -> set[int]:
        return {global_pid(n, p) for n, cat in self.by.items() for p in cat.feature_pids(**conditions)}

    def facet_counts(self, pids: Iterable[int], by: str) -> dict[str, int]:
        """Summed over shards: each passage lives in one shard, so each counts once."""
        out: dict[str, int] = {}
        for _, cat, local in self._each(pids):
            for v, c in cat.facet_counts(local, by).items():
                out[v] = out.get(v, 0) + c
        return out

    def passage_ids(self) -> set[int]:
        return {global_pid(n, p) for n, cat in self.by.items() for p in cat.passage_ids()}

    def article_text(self, article_id: str) -> str:
        for cat in self.by.values():
            try:
                return cat.article_text(article_id)
            except NotFoundError:
                continue
        raise NotFoundError(f"no article {article_id!r} in this index")

    def iter_passages(self, batch: int = 2000) -> Iterator[dict[str, Any]]:
        for n, cat in self.by.items():
            for row in cat.iter_passages(batch):
                yield self._row(n, row)

    def close(self) -> None:
        pass  # each shard's Searcher closes its own


def merged_manifest(index_dir: Path, manifests: list[tuple[int, Manifest]]) -> Manifest:
    """One ``Manifest`` describing the sharded index: the first shard's model and format, generation
    and counts summed, metadata fields united.

    Raises:
        IndexCorruptError: shards built with different models, dimensions or ``--embed-field`` lists.
    """
    first = manifests[0][1]
    for n, m in manifests[1:]:
        if (m.model, m.dimension, m.embed_fields) != (first.model, first.dimension, first.embed_fields):
            raise IndexCorruptError(
                f"shard {n} of {index_dir} differs from shard {manifests[0][0]} in its model or --embed-field "
                f"({m.model}, {m.embed_fields} vs {first.model}, {first.embed_fields}): "
                f"`claims reindex` that shard to match"
            )
    counts: dict[str, int] = {}
    for _, m in manifests:
        for k, v in m.counts.items():
            counts[k] = counts.get(k, 0) + v
    kinds = {m.vectors_kind for _, m in manifests}
    return Manifest(
        generation=sum(m.generation for _, m in manifests),
        model=first.model,
        model_path=first.model_path,
        dimension=first.dimension,
        vectors_kind=kinds.pop() if len(kinds) == 1 else "mixed",
        metadata_fields=sorted({f for _, m in manifests for f in m.metadata_fields}),
        embed_fields=list(first.embed_fields),
        # one extractor for all, else "" (stale): a shard extracted by an older version needs `reindex`
        extractor=first.extractor if all(m.extractor == first.extractor for _, m in manifests) else "",
        counts=counts,
        created=min(m.created for _, m in manifests),
        updated=max(m.updated for _, m in manifests),
        format_version=first.format_version,
        tool_version=first.tool_version,
    )


class ShardedSearcher(Searcher):
    """Read-only view of a sharded index: one ``Searcher`` per non-empty shard, at the generation
    each shard had when opened. ``Searcher(DIR)`` returns one when ``DIR`` is sharded.

    Raises:
        IndexNotFoundError: no shard holds anything yet; IndexCorruptError: shards disagree (model).
    """

    def __init__(self, index_dir: Path | None = None, model: str | None = None):
        self.dir = Path(index_dir) if index_dir else default_index()
        self.model = model
        self.shards: list[tuple[int, Searcher]] = []
        try:
            for n, d in read_shards(self.dir).dirs(self.dir):
                if (d / MANIFEST).exists():  # a shard nothing was routed to yet is empty
                    self.shards.append((n, Searcher(d, model=model)))
            if not self.shards:
                raise IndexNotFoundError(
                    f"the sharded index {self.dir} holds nothing yet: `claims ingest PATH --index {self.dir}`"
                )
            self.manifest = merged_manifest(self.dir, [(n, s.manifest) for n, s in self.shards])
        except BaseException:
            self.close()
            raise
        self.catalog = ShardedCatalog(self.shards)
        self._pinned = None
        self._stats: GlobalStats | None = None
        self._dense = None
        self._embedder = None

    def close(self) -> None:
        for _, s in self.shards:
            s.close()

    def manifest_bytes(self) -> bytes:
        """The shard manifests at the generations opened, as one JSON document (for export manifests)."""
        doc = {
            "generation": self.manifest.generation,
            "shards": {n: s.manifest_bytes().decode() for n, s in self.shards},
        }
        return json.dumps(doc, sort_keys=True).encode("utf-8")

    # -- stores --------------------------------------------------------------------------------
    @property
    def stats(self) -> GlobalStats:
        """The global statistics, installed on every shard's Whoosh searcher on first use."""
        if self._stats is None:
            self._stats = GlobalStats([s.whoosh for _, s in self.shards])
            self._stats.install()
        return self._stats

    @property
    def ix(self):
        _ = self.stats
        return self.shards[0][1].ix

    @property
    def whoosh(self):
        _ = self.stats
        return self.shards[0][1].whoosh

    @property
    def impacts(self):
        return None  # per shard: see keyword_run

    @property
    def dense(self) -> ShardedDense:
        if self._dense is None:
            self._dense = ShardedDense([(n, s.dense) for n, s in self.shards])
        return self._dense

    @property
    def embedder(self):
        if self._embedder is None:
            self._embedder = self.shards[0][1].embedder
        return self._embedder

    def filter_plan(self, filters) -> ShardedPlan:
        return filters if isinstance(filters, ShardedPlan) else ShardedPlan(self, filters)

    # -- legs ----------------------------------------------------------------------------------
    def keyword_run(self, q, depth: int | None, filters, operator: str = "auto", conj=None) -> Run:
        """BM25F top ``depth`` over every shard with global statistics, as ``(global pid, score)``."""
        from search.keyword_leg import and_first
        from search.keyword_leg import keyword_run as shard_run
        from search.query import conjunctive

        _ = self.stats
        fp = self.filter_plan(filters)
        if operator == "auto" and depth and conj is None:
            conj = conjunctive(q)

        def top(query) -> Run:
            hits: Run = []
            for (n, s), part in zip(self.shards, fp.parts, strict=True):
                if part is None:
                    continue
                hits += [(global_pid(n, p), sc) for p, sc in shard_run(s, query, depth, part, "or")]
            hits.sort(key=lambda h: (-h[1], h[0]))
            return hits if depth is None else hits[:depth]

        return and_first(top, q, conj, depth, operator)

    def allowed_ids(self, filters) -> set[int] | None:
        return self.filter_plan(filters).allowed()
