"""Search over a sharded index (``index.shards``): scatter-gather over ordinary shard searchers that
ranks exactly as one index over the same articles.

A ``ShardedSearcher`` is a ``search.searcher.Searcher`` whose stores are views over one ``Searcher``
per shard, each held by a ``search.shard_exec.ShardWorker`` that does the shard's part of the work (in
this process, or in a Ray actor with ``--ray``: the same calls either way), so the search contract
(options, parsing, snapshot check, date leg, fusion once over the merged candidates, the page) is the
single index's own code:

* **Keyword leg**, Elasticsearch's ``dfs_query_then_fetch``: before any shard scores (the DFS phase
  collects each shard's statistics for the query's terms), every shard's Whoosh searcher is given the
  **global BM25F statistics** (``GlobalStats``: document frequency and document count summed over
  shards, for the idf; summed field lengths over the summed document count, for the average field
  length; and the coordination's term count over every shard, ``index.whoosh_patch``). Both Whoosh and
  the numpy impact path read them from that searcher. Each shard returns its top ``depth``; the merged
  top ``depth`` is the single index's (every global top-k passage is in its shard's top-k). The
  AND-first rule is decided on the merged AND results.
* **Dense leg**: each shard's exact top ``k`` (ids restricted per shard), merged by cosine: the single
  index's top ``k`` for exact stores; within each shard's ANN recall for IVF ones.
* **Filters**: one ``FilterPlan`` per shard (``ShardedPlan``); ``allowed()`` is their union.
* **Catalog**: ``ShardedCatalog`` answers by global passage id; facet counts are summed.

Passage ids are global (``index.shards.global_pid``). Ties between equal scores break by global
passage id here and by Whoosh docnum in one index, so passages with exactly equal scores may swap.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from index.catalog_reader import PassageLookup
from index.errors import IndexCorruptError, IndexNotFoundError, NotFoundError
from index.ids import FIELD_SHIFT, PID_MASK
from index.manifest import MANIFEST, Manifest
from index.shards import global_pid, read_shards, split_pid
from search.searcher import Searcher, default_index
from search.shard_exec import GlobalStats

Run = list[tuple[int, float]]


class ShardedPlan:
    """A query's filter over every shard (each shard's ``FilterPlan`` is computed by its worker).

    ``parts``: the shards that can admit anything (a ``--where`` key a shard never saw admits nothing
    there; the index as a whole knows it, so it is not an error).
    """

    def __init__(self, sharded: ShardedSearcher, filters):
        from index.analysis import metadata_key

        self.sharded = sharded
        self.filters = filters if filters else None
        keys = {
            metadata_key(k) for k, _ in (filters.where if filters else ()) if k not in ("article_id", "url")
        }
        self.parts = [n for n, m in sharded.manifests.items() if not keys - set(m.metadata_fields)]
        self._allowed: set[int] | None = None

    def __bool__(self) -> bool:
        return self.filters is not None

    def allowed(self) -> set[int] | None:
        if self.filters is None:
            return None
        if self._allowed is None:
            got = self.sharded.exec.map("allowed", {n: (self.filters,) for n in self.parts})
            self._allowed = {global_pid(n, p) for n, pids in got.items() for p in pids}
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

    def __init__(self, shards):
        self.exec = shards
        info = shards.map("dense_info", {n: () for n in shards.numbers})
        self.numbers = list(info)
        self.ntotal = sum(n for n, _ in info.values())
        kinds = {k for _, k in info.values()}
        self.kind = kinds.pop() if len(kinds) == 1 else "mixed"

    def search(self, query: np.ndarray, k: int, allowed=None) -> list[tuple[int, float]]:
        """Top ``k`` ``(global vector id, cosine)`` over every shard, ties by id."""
        per: dict[int, set[int]] = {}
        if allowed is not None:
            for gid in allowed:
                n, local = split_pid(int(gid) & PID_MASK)
                per.setdefault(n, set()).add(local | ((int(gid) >> FIELD_SHIFT) << FIELD_SHIFT))
        calls = {
            n: (query, k, per[n] if allowed is not None else None)
            for n in self.numbers
            if allowed is None or n in per
        }
        out = [(_vid_global(n, v), s) for n, run in self.exec.map("dense", calls).items() for v, s in run]
        out.sort(key=lambda x: (-x[1], x[0]))
        return out[:k]

    def reconstruct(self, ids) -> np.ndarray:
        """Vectors of global passage ids, in order. Raises RuntimeError for an id no shard holds."""
        ids = [int(i) for i in np.asarray(ids).tolist()]
        per = _split(ids)
        missing = set(per) - set(self.numbers)
        if missing:
            raise RuntimeError(f"no shard {min(missing)}")
        got = self.exec.map("reconstruct", {n: (local,) for n, local in per.items()})
        rows = {global_pid(n, p): v for n, local in per.items() for p, v in zip(local, got[n], strict=True)}
        return np.vstack([rows[i] for i in ids]) if ids else np.zeros((0, 0), np.float32)


class ShardedCatalog(PassageLookup):
    """The shards' catalogs by global passage id (the ``CatalogReader`` calls searching makes), each
    call sent to the shards that hold the ids (the fetch phase)."""

    def __init__(self, shards):
        self.exec = shards

    def _per(self, method: str, pids: Iterable[int], *args) -> dict[int, Any]:
        per = {n: local for n, local in _split(pids).items() if n in self.exec.numbers}
        return self.exec.map("catalog", {n: (method, local, *args) for n, local in per.items()})

    def _all(self, method: str, *args) -> dict[int, Any]:
        return self.exec.map("catalog", {n: (method, *args) for n in self.exec.numbers})

    @staticmethod
    def _row(n: int, row: dict[str, Any]) -> dict[str, Any]:
        row["passage_id"] = global_pid(n, row["passage_id"])
        return row

    def passages(self, pids: Iterable[int]) -> dict[int, dict[str, Any]]:
        return {
            global_pid(n, p): self._row(n, row)
            for n, rows in self._per("passages", pids).items()
            for p, row in rows.items()
        }

    def visible_dates(self, pids: Iterable[int]) -> dict[int, str | None]:
        return {
            global_pid(n, p): d for n, got in self._per("visible_dates", pids).items() for p, d in got.items()
        }

    def neighbours(self, pid: int, before: int = 1, after: int = 1) -> list[dict[str, Any]]:
        n, local = split_pid(pid)
        self.passage(pid)
        rows = self.exec.map("catalog", {n: ("neighbours", local, before, after)})[n]
        return [self._row(n, r) for r in rows]

    def features(self, pids: Iterable[int]) -> dict[int, dict[str, Any]]:
        return {global_pid(n, p): f for n, got in self._per("features", pids).items() for p, f in got.items()}

    def has_features(self) -> bool:
        return all(self._all("has_features").values())

    def feature_pids(self, **conditions) -> set[int]:
        got = self.exec.map("feature_pids", {n: (conditions,) for n in self.exec.numbers})
        return {global_pid(n, p) for n, pids in got.items() for p in pids}

    def facet_counts(self, pids: Iterable[int], by: str) -> dict[str, int]:
        """Summed over shards: each passage lives in one shard, so each counts once."""
        out: dict[str, int] = {}
        for got in self._per("facet_counts", pids, by).values():
            for v, c in got.items():
                out[v] = out.get(v, 0) + c
        return out

    def passage_ids(self) -> set[int]:
        return {global_pid(n, p) for n, pids in self._all("passage_ids").items() for p in pids}

    def article_text(self, article_id: str) -> str:
        for n in self.exec.numbers:
            try:
                return self.exec.map("catalog", {n: ("article_text", article_id)})[n]
            except NotFoundError:
                continue
        raise NotFoundError(f"no article {article_id!r} in this index")

    def iter_passages(self, batch: int = 2000) -> Iterator[dict[str, Any]]:
        for n in self.exec.numbers:
            for row in self.exec.map("catalog", {n: ("iter_passages", batch)})[n]:
                yield self._row(n, row)

    def close(self) -> None:
        pass  # each shard's worker closes its own


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
    """Read-only view of a sharded index: one ``search.shard_exec.ShardWorker`` per non-empty shard
    (its ``Searcher`` at the generation the shard had when opened), run by ``shards``: in this process
    (``LocalShards``, the default) or one Ray actor per shard (``RayShards``, see ``open_ray``).
    ``Searcher(DIR)`` returns one when ``DIR`` is sharded.

    Raises:
        IndexNotFoundError: no shard holds anything yet; IndexCorruptError: shards disagree (model).
    """

    def __init__(self, index_dir: Path | None = None, model: str | None = None, shards=None):
        from search.shard_exec import LocalShards

        self.dir = Path(index_dir) if index_dir else default_index()
        self.model = model
        self.exec = None
        try:
            self.exec = shards if shards is not None else LocalShards(shard_dirs(self.dir), model)
            self.manifests: dict[int, Manifest] = self.exec.map(
                "manifest", {n: () for n in self.exec.numbers}
            )
            self.manifest = merged_manifest(self.dir, list(self.manifests.items()))
        except BaseException:
            self.close()
            raise
        self.catalog = ShardedCatalog(self.exec)
        self._pinned = None
        self._schema = None
        self._dense = None
        self._embedder = None

    @property
    def shards(self) -> list[tuple[int, Searcher]]:
        """``(shard number, Searcher)`` of every shard held in this process (none with Ray)."""
        return self.exec.searchers()

    def close(self) -> None:
        if self.exec is not None:
            self.exec.close()

    def manifest_bytes(self) -> bytes:
        """The shard manifests at the generations opened, as one JSON document (for export manifests)."""
        got = self.exec.map("manifest_bytes", {n: () for n in self.exec.numbers})
        doc = {"generation": self.manifest.generation, "shards": {n: b.decode() for n, b in got.items()}}
        return json.dumps(doc, sort_keys=True).encode("utf-8")

    # -- stores --------------------------------------------------------------------------------
    @property
    def schema(self):
        """The Whoosh schema (the first shard's: every shard has the same fields)."""
        if self._schema is None:
            first = self.exec.numbers[0]
            self._schema = self.exec.map("schema", {first: ()})[first]
        return self._schema

    @property
    def ix(self):
        raise AttributeError("a sharded index has a Whoosh index per shard")

    @property
    def whoosh(self):
        raise AttributeError("a sharded index has a Whoosh searcher per shard")

    @property
    def impacts(self):
        return None  # per shard: see keyword_run

    @property
    def dense(self) -> ShardedDense:
        if self._dense is None:
            self._dense = ShardedDense(self.exec)
        return self._dense

    @property
    def embedder(self):
        """The query encoder, in this process (one embedding per query, sent to every shard)."""
        if self._embedder is None:
            self._embedder = Searcher.embedder.fget(self)
        return self._embedder

    def filter_plan(self, filters) -> ShardedPlan:
        return filters if isinstance(filters, ShardedPlan) else ShardedPlan(self, filters)

    # -- legs ----------------------------------------------------------------------------------
    def global_stats(self, queries, numbers) -> GlobalStats:
        """The DFS phase: the shards' statistics for ``queries`` summed (``search.shard_exec``)."""
        return GlobalStats(self.exec.map("dfs", {n: (queries,) for n in numbers}).values())

    def keyword_run(self, q, depth: int | None, filters, operator: str = "auto", conj=None) -> Run:
        """BM25F top ``depth`` over every shard with global statistics, as ``(global pid, score)``."""
        from search.keyword_leg import and_first
        from search.query import conjunctive

        fp = self.filter_plan(filters)
        if operator == "auto" and depth and conj is None:
            conj = conjunctive(q)
        stats = self.global_stats([q, conj if operator == "auto" else None], self.exec.numbers)

        def top(query) -> Run:
            got = self.exec.map("keyword", {n: (query, depth, fp.filters, stats) for n in fp.parts})
            hits = [(global_pid(n, p), sc) for n, run in got.items() for p, sc in run]
            hits.sort(key=lambda h: (-h[1], h[0]))
            return hits if depth is None else hits[:depth]

        return and_first(top, q, conj, depth, operator)

    def allowed_ids(self, filters) -> set[int] | None:
        return self.filter_plan(filters).allowed()


def shard_dirs(index_dir: Path) -> list[tuple[int, Path]]:
    """``(number, folder)`` of the shards that hold an index (one nothing was routed to yet is empty).

    Raises:
        IndexNotFoundError: no shard holds anything yet.
    """
    dirs = [(n, d) for n, d in read_shards(index_dir).dirs(index_dir) if (d / MANIFEST).exists()]
    if not dirs:
        raise IndexNotFoundError(
            f"the sharded index {index_dir} holds nothing yet: `claims ingest PATH --index {index_dir}`"
        )
    return dirs
