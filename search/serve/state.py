"""One ``Searcher`` per committed generation, shared by requests, swapped when an ingest commits.

Each request ``lease()``s the current generation: a cheap ``stat`` of ``manifest.json`` (inode, size,
mtime) tells whether a writer committed since the last look; only then is the manifest read and, for a
new generation, a new ``Searcher`` opened. Requests in flight keep the ``Searcher`` they leased; the
old one is closed when its last lease ends (reference counted, as Lucene's ``SearcherManager``).

A generation answers with a small pool of ``Searcher`` objects (``SEARCHERS``, one per core by
default), each used by one request at a time (``Generation.use``): a Whoosh reader keeps file positions
and is not thread-safe, but two requests on two ``Searcher``s run side by side wherever the interpreter
lock is released (FAISS, numpy, SQLite, torch). The pool shares one dense store (FAISS searches are
read-only) and one query encoder (and its cache; encoding is serialised by ``index.embed``); each
member has its own Whoosh searcher and catalog connection, opened on first need. Requests on different
generations do not wait for each other. ``Runner.run`` runs a call on the worker pool with a time
limit (``QueryTimeout`` past it; the call finishes in the background, holding its worker).

A sharded index (``index.shards``) is served the same way: the members are
``search.sharded.ShardedSearcher``s (each with a ``Searcher`` per shard), the stamp covers
``shards.json`` and every shard's manifest, and a generation's number is the sum of the shards'
(``generation_of``), which changes whenever any shard commits.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from index.errors import ClaimsError
from index.manifest import manifest_path, read_manifest

T = TypeVar("T")
QUERY_SECONDS = 10.0  # per-query time limit (--time-limit)
WORKERS = 4  # requests running at once (see the module docstring)
SEARCHERS = max(1, min(WORKERS, os.cpu_count() or 1))  # Searchers per generation


class QueryTimeout(ClaimsError):
    """A query ran past the per-query time limit (HTTP 503)."""


def _member_class(sharded: bool = False):
    """``Searcher`` (or, for a sharded index, ``search.sharded.ShardedSearcher``) for a generation's
    pool (a function: ``search.searcher`` loads on first use)."""
    from search.searcher import Searcher
    from search.sharded import ShardedSearcher

    base = ShardedSearcher if sharded else Searcher

    class Member(base):
        """A pool member: the first loads the dense store and the query encoder once, under a lock;
        the others use the first's (a sharded index: the first's view over its shards' stores)."""

        def __init__(self, index_dir: Path, model: str | None, first: Member | None = None):
            super().__init__(index_dir, model=model)
            self._first = first
            self._load_lock = first._load_lock if first is not None else threading.Lock()

        @property
        def dense(self):
            with self._load_lock:
                return base.dense.fget(self._first or self)

        @property
        def embedder(self):
            with self._load_lock:
                return base.embedder.fget(self._first or self)

    return Member


def generation_of(index_dir: Path) -> int:
    """The committed generation of an index; of a sharded one, the sum of its shards' (each only
    grows, so the sum changes whenever any shard commits).

    Raises:
        IndexNotFoundError, IndexCorruptError, IndexVersionError: a missing or damaged manifest.
    """
    from index.shards import is_sharded

    if is_sharded(index_dir):
        from search.sharded import shard_dirs

        return sum(read_manifest(d).generation for _, d in shard_dirs(index_dir))
    return read_manifest(index_dir).generation


def _stamp_paths(index_dir: Path) -> list[Path]:
    """The files whose change means a commit: ``manifest.json``; of a sharded index, ``shards.json``
    and every shard's ``manifest.json``."""
    from index.shards import SHARDS, is_sharded, read_shards

    if not is_sharded(index_dir):
        return [manifest_path(index_dir)]
    try:
        dirs = read_shards(index_dir).dirs(index_dir)
    except ClaimsError:
        return [index_dir / SHARDS]
    return [index_dir / SHARDS, *(manifest_path(d) for _, d in dirs)]


class Generation:
    """The ``Searcher`` pool of one committed generation (``use``) and its lease count.

    ``searcher`` is the first member: it holds the generation's dense store and query encoder, which
    the others share; ``size`` members at most, the others opened when requests overlap.
    """

    def __init__(self, index_dir: Path, model: str | None, size: int | None = None):
        from index.shards import is_sharded

        self.searcher = _member_class(is_sharded(index_dir))(index_dir, model)
        self.number = self.searcher.manifest.generation
        self.size = max(1, size or SEARCHERS)
        self._all = [self.searcher]
        self._free = [self.searcher]
        self._opening = 0
        self._cond = threading.Condition()
        self.leases = 0
        self.retired = False

    @contextmanager
    def use(self) -> Iterator[Any]:
        """A member ``Searcher`` of this generation, for this thread alone until the block ends."""
        with self._cond:
            while not self._free and len(self._all) + self._opening >= self.size:
                self._cond.wait()
            s = self._free.pop() if self._free else None
            if s is None:
                self._opening += 1
        if s is None:  # open a member outside the lock (a Whoosh searcher takes a while at 1M)
            try:
                s = self._open_member()
            finally:
                with self._cond:
                    self._opening -= 1
                    if s is None:  # a writer committed since: this generation keeps the members it has
                        self.size = len(self._all)
                    else:
                        self._all.append(s)
                    self._cond.notify_all()
            if s is None:
                with self.use() as s:
                    yield s
                return
        try:
            yield s
        finally:
            with self._cond:
                self._free.append(s)
                self._cond.notify()

    def _open_member(self):
        first = self.searcher
        s = type(first)(first.dir, first.model, first)
        if s.manifest.generation != self.number:  # opened on a newer generation
            s.close()
            return None
        return s

    def close_if_done(self) -> None:
        if self.retired and self.leases == 0:
            for s in self._all:
                s.close()


class Generations:
    """The current ``Generation`` of ``index_dir`` (see the module docstring).

    Raises (from ``lease``): ``IndexNotFoundError``, ``IndexCorruptError``, ``IndexVersionError``.
    """

    def __init__(self, index_dir: Path, model: str | None = None):
        self.dir = Path(index_dir)
        self.model = model
        self._lock = threading.Lock()
        self._current: Generation | None = None
        self._stamp: tuple | None = None

    def _manifest_stamp(self) -> tuple | None:
        stamps = []
        for path in _stamp_paths(self.dir):
            try:
                st = os.stat(path)
            except OSError:
                if path.parent == self.dir:
                    return None
                stamps.append(None)  # a shard nothing was routed to yet
                continue
            stamps.append((st.st_ino, st.st_size, st.st_mtime_ns))
        return tuple(stamps)

    def _refresh(self) -> Generation:
        """The generation to lease (called with ``self._lock`` held)."""
        stamp = self._manifest_stamp()
        if self._current is not None and stamp is not None and stamp == self._stamp:
            return self._current
        number = generation_of(self.dir)  # raises for a missing or damaged manifest
        if self._current is None or number != self._current.number:
            new = Generation(self.dir, self.model)
            old, self._current = self._current, new
            if old is not None:
                old.retired = True
                old.close_if_done()
        self._stamp = stamp
        return self._current

    @contextmanager
    def lease(self) -> Iterator[Generation]:
        """The current generation, held until the block ends (its Searcher stays open)."""
        with self._lock:
            gen = self._refresh()
            gen.leases += 1
        try:
            yield gen
        finally:
            with self._lock:
                gen.leases -= 1
                gen.close_if_done()

    def acquire(self) -> Generation:
        """``lease`` without a block: call ``release`` (streamed responses hold it across requests' steps)."""
        with self._lock:
            gen = self._refresh()
            gen.leases += 1
        return gen

    def release(self, gen: Generation) -> None:
        with self._lock:
            gen.leases -= 1
            gen.close_if_done()

    def close(self) -> None:
        with self._lock:
            if self._current is not None:
                self._current.retired = True
                self._current.close_if_done()
                self._current = None


def _one_faiss_thread() -> None:
    """One FAISS (OpenMP) thread for this worker's queries. The count is per calling thread (an OpenMP
    setting): ``Searcher.dense`` sets it only in the thread that loads the store, and the other workers
    ran each single-query search with every core, spinning OpenMP threads on a busy machine (2.7x the
    CPU of a hybrid query at 100k passages, bench/serve.py). A keyword-only server never imports FAISS."""
    faiss = sys.modules.get("faiss")
    if faiss is not None:
        faiss.omp_set_num_threads(1)


def _in_worker(fn: Callable[..., T], *args: Any) -> T:
    _one_faiss_thread()
    return fn(*args)


class Runner:
    """A bounded worker pool with a per-call time limit."""

    def __init__(self, workers: int = WORKERS, seconds: float = QUERY_SECONDS):
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="claims-q")
        self.seconds = seconds

    async def run(self, fn: Callable[..., T], *args: Any, on_abandon: Callable[[T], Any] | None = None) -> T:
        """``fn(*args)`` on the pool; ``QueryTimeout`` after ``self.seconds`` (waiting included).

        ``on_abandon(result)`` is called with the result of a call that finishes after its request
        gave up (to release what it holds)."""
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self.pool, _in_worker, fn, *args)
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.seconds)
        except TimeoutError:
            if on_abandon is not None:
                future.add_done_callback(
                    lambda f: on_abandon(f.result()) if not f.cancelled() and f.exception() is None else None
                )
            raise QueryTimeout(
                f"the query took longer than {self.seconds:g}s and was stopped: narrow it (fewer wildcards, "
                "a date range or a source) or raise the server's --time-limit"
            ) from None

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
