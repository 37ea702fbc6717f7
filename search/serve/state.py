"""One ``Searcher`` per committed generation, shared by requests, swapped when an ingest commits.

Each request ``lease()``s the current generation: a cheap ``stat`` of ``manifest.json`` (inode, size,
mtime) tells whether a writer committed since the last look; only then is the manifest read and, for a
new generation, a new ``Searcher`` opened. Requests in flight keep the ``Searcher`` they leased; the
old one is closed when its last lease ends (reference counted, as Lucene's ``SearcherManager``).

Calls into one ``Searcher`` are serialised by its lock: a Whoosh reader keeps file positions and is
not thread-safe, and query encoding is serialised anyway (``index.embed``). Requests on different
generations do not wait for each other. ``run_limited`` runs a call on the worker pool with a time
limit (``QueryTimeout`` past it; the call finishes in the background, holding its worker).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from index.errors import ClaimsError
from index.manifest import manifest_path, read_manifest

T = TypeVar("T")
QUERY_SECONDS = 10.0  # per-query time limit (--time-limit)
WORKERS = 4  # searches run at once (each generation's calls are serialised; see the module docstring)


class QueryTimeout(ClaimsError):
    """A query ran past the per-query time limit (HTTP 503)."""


class Generation:
    """A ``Searcher`` over one committed generation, its lock and its lease count."""

    def __init__(self, index_dir: Path, model: str | None):
        from search.searcher import Searcher

        self.searcher = Searcher(index_dir, model=model)
        self.number = self.searcher.manifest.generation
        self.lock = threading.Lock()
        self.leases = 0
        self.retired = False

    def close_if_done(self) -> None:
        if self.retired and self.leases == 0:
            self.searcher.close()


class Generations:
    """The current ``Generation`` of ``index_dir`` (see the module docstring).

    Raises (from ``lease``): ``IndexNotFoundError``, ``IndexCorruptError``, ``IndexVersionError``.
    """

    def __init__(self, index_dir: Path, model: str | None = None):
        self.dir = Path(index_dir)
        self.model = model
        self._lock = threading.Lock()
        self._current: Generation | None = None
        self._stamp: tuple[int, int, int] | None = None

    def _manifest_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(manifest_path(self.dir))
        except OSError:
            return None
        return st.st_ino, st.st_size, st.st_mtime_ns

    def _refresh(self) -> Generation:
        """The generation to lease (called with ``self._lock`` held)."""
        stamp = self._manifest_stamp()
        if self._current is not None and stamp is not None and stamp == self._stamp:
            return self._current
        number = read_manifest(self.dir).generation  # raises for a missing or damaged manifest
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
        future = loop.run_in_executor(self.pool, fn, *args)
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
