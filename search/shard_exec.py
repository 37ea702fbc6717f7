"""The scatter side of a sharded search: the per-shard work and the executors that run it.

``search.sharded.ShardedSearcher`` does the gather (merging runs, fusion, the page) and asks its
executor for every piece of per-shard work, by method name of ``ShardWorker``:

* ``LocalShards``: one ``ShardWorker`` per shard in this process, called one after another
  (``claims search --index SHARDED``).
* ``RayShards``: one Ray actor per shard, each holding that shard's ``ShardWorker`` (its ``Searcher``
  kept open), called in parallel (``claims search --index SHARDED --ray ADDRESS``).

Both run the same ``ShardWorker`` methods on the same arguments, so a query is ranked by one code path
whichever executor runs it. A query takes these round trips: the **DFS phase** (``dfs``: each shard's
document frequencies of the query's terms, its document count and field lengths, and the shard's
expansions of wildcards and prefixes; merged into ``GlobalStats`` as Elasticsearch's
``dfs_query_then_fetch`` does), the **query phase** (``keyword`` with the global statistics,
``dense``, ``allowed`` for filters; one more ``keyword`` when the AND-first rule falls back to OR), and
the **fetch phase** (``catalog``: the page's rows, from the shards that hold them).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

Run = list[tuple[int, float]]


@dataclass
class ShardStats:
    """One shard's answer to the DFS phase (or, merged, the whole index's: ``GlobalStats.merge``).

    ``doc_count``: Whoosh documents (deleted-but-unmerged ones included, as Whoosh counts them);
    ``field_lengths``: total terms per scorable field; ``df``: ``{(field, term bytes): documents}`` of
    the query's terms the shard holds (wildcards expanded); ``expansions``: ``{multi-term query:
    the term bytes it expands to}``.
    """

    doc_count: int = 0
    field_lengths: dict[str, int] = field(default_factory=dict)
    df: dict[tuple[str, bytes], int] = field(default_factory=dict)
    expansions: dict[Any, list[bytes]] = field(default_factory=dict)


class GlobalStats:
    """BM25F collection statistics of the whole sharded index for one query (dfs_query_then_fetch).

    ``idf(field, text)`` is Whoosh's ``ln(N / (df + 1)) + 1`` with ``N`` and ``df`` summed over shards;
    ``avg_field_length(field)`` is the summed field length over the summed ``N``; ``term_present``
    says whether any shard holds a term (the coordination's term count, ``index.whoosh_patch``);
    ``expansions`` gives a wildcard or prefix its terms over every shard. ``install`` puts them on a
    shard's Whoosh searcher, where both Whoosh and the numpy impact path (``search.impacts``) read them.
    """

    def __init__(self, parts: Iterable[ShardStats]):
        self.doc_count = 0
        self.field_lengths: dict[str, int] = {}
        self.df: dict[tuple[str, bytes], int] = {}
        words: dict[Any, set[bytes]] = {}
        for p in parts:
            self.doc_count += p.doc_count
            for f, n in p.field_lengths.items():
                self.field_lengths[f] = self.field_lengths.get(f, 0) + n
            for key, n in p.df.items():
                self.df[key] = self.df.get(key, 0) + n
            for q, got in p.expansions.items():
                words.setdefault(q, set()).update(got)
        self.expansions = {q: sorted(w) for q, w in words.items()}  # lexicon order, as a reader gives them
        self.schema = None

    def idf(self, fieldname: str, text) -> float:
        n = self.df.get((fieldname, self._bytes(fieldname, text)), 0)
        return math.log(self.doc_count / (n + 1)) + 1  # whoosh.scoring.WeightingModel.idf

    def avg_field_length(self, fieldname: str, default=None):
        if fieldname not in self.field_lengths:
            return default  # not scorable
        return self.field_lengths[fieldname] / (self.doc_count or 1)  # whoosh.searching.Searcher

    def term_present(self, fieldname: str, btext: bytes) -> bool:
        return self.df.get((fieldname, btext), 0) > 0

    def _bytes(self, fieldname: str, text) -> bytes:
        return text if isinstance(text, bytes) else self.schema[fieldname].to_bytes(text)

    def install(self, whoosh_searcher) -> None:
        """Make ``whoosh_searcher`` score with these statistics (until the next ``install``)."""
        self.schema = whoosh_searcher.schema
        whoosh_searcher.idf = self.idf
        whoosh_searcher.avg_field_length = self.avg_field_length
        whoosh_searcher.claims_term_present = self.term_present
        whoosh_searcher.claims_expansions = self.expansions


class ShardWorker:
    """One shard's ``search.searcher.Searcher`` and the per-shard work of a sharded query.

    Ids are the shard's own (local) passage and vector ids; the caller maps them to global ones.
    ``filters`` arguments are ``search.query.Filters`` (or None); the shard's ``FilterPlan`` for the
    last one is kept, so the keyword and dense legs of a query compute it once.
    """

    def __init__(self, number: int, index_dir: str | Path, model: str | None = None):
        from search.searcher import Searcher

        self.number = number
        self.searcher = Searcher(Path(index_dir), model=model)
        self._plan: tuple[Any, Any] = (object(), None)

    # -- what the driver needs once ----------------------------------------------------------------
    def manifest(self):
        return self.searcher.manifest

    def schema(self):
        return self.searcher.schema

    def manifest_bytes(self) -> bytes:
        return self.searcher.manifest_bytes()

    def dense_info(self) -> tuple[int, str]:
        """``(vectors, store kind)`` (loads FAISS)."""
        d = self.searcher.dense
        return d.ntotal, d.kind

    # -- DFS and query phases ----------------------------------------------------------------------
    def dfs(self, queries: Sequence[Any]) -> ShardStats:
        """This shard's statistics for the terms of ``queries`` (Whoosh queries; None skipped)."""
        from whoosh.query.terms import MultiTerm

        s = self.searcher.whoosh
        r = s.reader()
        schema = s.schema
        out = ShardStats(s.doc_count_all(), {n: r.field_length(n) for n in schema.scorable_names()}, {}, {})
        for q in queries:
            if q is None:
                continue
            for leaf in q.leaves():
                if isinstance(leaf, MultiTerm):
                    if leaf in out.expansions:
                        continue
                    got = [b for b in leaf._btexts(r) if b]
                    out.expansions[leaf] = got
                    terms = [(leaf.field(), b) for b in got]
                else:
                    terms = []
                    for fname, text in leaf.terms(phrases=True):
                        if fname not in schema:
                            continue
                        try:
                            terms.append((fname, schema[fname].to_bytes(text)))
                        except ValueError:
                            continue
                for key in terms:
                    if key not in out.df and key in r:
                        out.df[key] = r.doc_frequency(*key)
        return out

    def _filter_plan(self, filters):
        from search.keyword_leg import FilterPlan

        if self._plan[0] != filters:
            self._plan = (filters, FilterPlan(self.searcher, filters))
        return self._plan[1]

    def keyword(self, q, depth: int | None, filters, stats: GlobalStats) -> Run:
        """BM25F top ``depth`` of ``q`` (OR as given; the AND-first rule is the driver's) scored with
        the index-wide ``stats``: ``(local passage id, score)``."""
        from search.keyword_leg import keyword_run

        stats.install(self.searcher.whoosh)
        return keyword_run(self.searcher, q, depth, self._filter_plan(filters), "or")

    def allowed(self, filters) -> set[int] | None:
        """The local passage ids ``filters`` admits (None: all)."""
        return self._filter_plan(filters).allowed()

    def dense(self, vector: np.ndarray, k: int, allowed: set[int] | None) -> Run:
        """Top ``k`` ``(local vector id, cosine)``; ``allowed``: local vector ids, or None."""
        return self.searcher.dense.search(vector, k, allowed)

    def reconstruct(self, ids: list[int]) -> np.ndarray:
        return self.searcher.dense.reconstruct(np.asarray(ids, dtype=np.int64))

    # -- fetch phase -------------------------------------------------------------------------------
    def catalog(self, method: str, *args) -> Any:
        """``CatalogReader.<method>(*args)`` on this shard (a generator comes back as a list)."""
        got = getattr(self.searcher.catalog, method)(*args)
        return list(got) if hasattr(got, "__next__") else got

    def feature_pids(self, conditions: dict) -> set[int]:
        return self.searcher.catalog.feature_pids(**conditions)

    def close(self) -> None:
        self.searcher.close()


class LocalShards:
    """The in-process executor: a ``ShardWorker`` per shard, called one after another."""

    def __init__(self, dirs: Sequence[tuple[int, Path]], model: str | None = None):
        self.numbers = [n for n, _ in dirs]
        self.workers: dict[int, ShardWorker] = {}
        try:
            for n, d in dirs:
                self.workers[n] = ShardWorker(n, d, model)
        except BaseException:
            self.close()
            raise

    def searchers(self) -> list[tuple[int, Any]]:
        """``(shard number, Searcher)`` of every shard (in-process only)."""
        return [(n, w.searcher) for n, w in self.workers.items()]

    def map(self, method: str, calls: dict[int, tuple]) -> dict[int, Any]:
        """``{shard: ShardWorker.<method>(*args)}`` for each ``{shard: args}`` of ``calls``."""
        return {n: getattr(self.workers[n], method)(*args) for n, args in calls.items()}

    def close(self) -> None:
        for w in self.workers.values():
            w.close()


class RayShards:
    """The Ray executor: one actor per shard holding its ``ShardWorker`` (the shard's ``Searcher`` stays
    open in the actor, as ``claims serve`` keeps one); a ``map`` calls every shard at once and waits
    for all. The shard folders must be on storage the actors' nodes see.

    An actor that dies is not restarted (a new one would open its shard at a later generation than
    the others): the query fails with one ``ClaimsError`` and the searcher should be reopened.

    Raises:
        IndexNotFoundError...: from an actor that cannot open its shard (the first error is raised).
    """

    def __init__(self, ray, dirs: Sequence[tuple[int, Path]], model: str | None = None):
        self.ray = ray
        self.numbers = [n for n, _ in dirs]
        actor = ray.remote(ShardWorker)
        self.actors = {n: actor.remote(n, str(d), model) for n, d in dirs}
        try:
            self.map("manifest", {n: () for n in self.actors})  # raise now if a shard cannot open
        except BaseException:
            self.close()
            raise

    def searchers(self) -> list[tuple[int, Any]]:
        return []  # the Searchers live in the actors

    def map(self, method: str, calls: dict[int, tuple]) -> dict[int, Any]:
        refs = {n: getattr(self.actors[n], method).remote(*args) for n, args in calls.items()}
        try:
            got = self.ray.get(list(refs.values()))
        except self.ray.exceptions.RayTaskError as e:  # the actor's own error (ClaimsError...), unwrapped
            if isinstance(getattr(e, "cause", None), Exception):
                raise e.cause from None
            raise
        except self.ray.exceptions.RayActorError as e:
            from index.errors import ClaimsError

            raise ClaimsError(
                f"the Ray actor of a shard died ({type(e).__name__}): run the command again "
                "(on a cluster, `ray status` shows whether a node was lost)"
            ) from None
        return dict(zip(refs, got, strict=True))

    def close(self) -> None:
        for a in self.actors.values():
            self.ray.kill(a)
        self.actors = {}


@contextmanager
def open_ray(index_dir: Path | None, model: str | None = None, address: str = "local") -> Iterator[Any]:
    """A ``search.sharded.ShardedSearcher`` over ``index_dir`` whose shards are Ray actors
    (``RayShards``), closed (and a cluster this call started shut down) when the block ends.

    Args:
        address: ``local`` (start a cluster here with a CPU per shard, up to the machine's cores),
            ``auto`` or ``HOST:PORT`` (a running cluster), as ``claims ingest --ray``.

    Raises:
        RayMissingError: Ray is not installed (names ``pip install -e '.[ray]'``); checked first.
        ShardError: ``index_dir`` is not a sharded index. ClaimsError: no cluster at ``address``.
    """
    import os

    from index.ray_cluster import connect, require_ray
    from index.shards import ShardError, is_sharded
    from search.searcher import default_index
    from search.sharded import ShardedSearcher, shard_dirs

    ray = require_ray()
    index_dir = Path(index_dir) if index_dir else default_index()
    if not is_sharded(index_dir):
        raise ShardError(
            f"--ray fans a search out over the shards of a sharded index, and {index_dir} is one index: "
            "drop --ray (or build a sharded one with `claims ingest PATH --shards N`)"
        )
    dirs = shard_dirs(index_dir)
    started = connect(ray, address, max(1, min(len(dirs), os.cpu_count() or 1)))
    try:
        with ShardedSearcher(index_dir, model, shards=RayShards(ray, dirs, model)) as s:
            yield s
    finally:
        if started:
            ray.shutdown()
