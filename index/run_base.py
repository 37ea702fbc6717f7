"""What every ingest run shares (a local run, ``index.ingest._Run``, and a Ray run, ``index.ray_ingest``):
the open batch, the window of the last record per article id, the batched unchanged check's bookkeeping
and the periodic commit."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from index.errors import ClaimsError, InputFormatError
from index.sources import SUPPORTED
from index.writer import Batch, IndexWriter

WINDOW = (
    64  # articles read before one batched unchanged check (chunk // 8 when smaller: small chunks stay small)
)
COMMIT_ARTICLES = 20_000  # a long run commits a generation after this many articles ...
COMMIT_SECONDS = 600.0  # ... or this many seconds, whichever comes first


class RunBase:
    """What a local run (``_Run``) and a Ray run (``index.ray_ingest``) share: the open batch, the
    window of the last record per id, and the periodic commit (every ``COMMIT_ARTICLES`` articles or
    ``COMMIT_SECONDS`` seconds, each atomic; an unchanged batch is aborted, never an empty generation)."""

    def __init__(self, writer: IndexWriter, command: str, embed_fields, report, progress, chunk):
        self.w, self.command, self.report, self.progress = writer, command, report, progress
        self.chunk = max(1, chunk)
        self.embed_fields = embed_fields
        self.every = (COMMIT_ARTICLES, COMMIT_SECONDS)
        self.since = (0, time.monotonic())  # articles applied and time at the last commit
        self.applied = 0
        self.seen: set[str] = set()  # ids applied (or found unchanged) in this run
        self.window: dict[str, Any] = {}  # read, not yet checked (the last record of an id)
        self.batch = self._begin()

    def _begin(self) -> Batch:
        batch = self.w.begin(self.command)
        batch.add_embed_fields(self.embed_fields)
        return batch

    def _windowed(self, article_id: str, item) -> bool:
        """Put ``item`` in the window (a repeat replaces the earlier record and goes to the end);
        True when the window is full and should be checked."""
        if article_id in self.window:
            self.report.repeats += 1
            del self.window[article_id]
        self.window[article_id] = item
        return len(self.window) >= max(1, min(WINDOW, self.chunk // 8))

    def _unchanged(self, article_id: str, live, content_hash: str, open_: bool) -> bool:
        """Is the record the live article (counted, as unchanged or as a repeat)? ``open_``: an earlier
        record of the id is still on its way to ``apply``, whose last-wins rule decides."""
        if not (live and live[1] == content_hash and not open_):
            return False
        if article_id in self.seen:
            self.report.repeats += 1
        else:
            self.report.unchanged += 1
            self.seen.add(article_id)
        self.progress("articles", n=1)
        return True

    def _applied(self, n: int) -> None:
        """``n`` articles were applied: commit when an interval is over."""
        self.applied += n
        done, t = self.since
        if self.applied - done >= self.every[0] or time.monotonic() - t >= self.every[1]:
            self.commit()

    def problem(self, item, strict: bool) -> None:
        """Log a ``Problem`` (a bad file or record) and count it; with ``strict`` a fatal one stops the run."""
        self.w.catalog.log_problem(self.batch.gen, item)
        self.report.problems.append(("warning: " if not item.fatal else "") + str(item))
        self.progress("problem", problem=item)
        if item.fatal:
            self.report.failed += 1
            if strict:
                raise InputFormatError(item.origin, item.reason + " (--strict: nothing was ingested)")

    def finish(self, paths: Sequence, t0: float) -> None:
        """End the run: flush the window, refuse a run that ingested nothing, commit the last batch and
        record time and generation in the report."""
        finish_runs([self], paths, t0)

    def commit(self, final: bool = False) -> None:
        """Commit the batch if it changed anything (else abort it: no empty generation), then begin the
        next one unless ``final``."""
        r = self.report
        if self.w.catalog.changed(self.batch.gen):
            self.batch.commit(r.to_dict())
            r.commits += 1
            self.progress("commit", generation=self.w.gen)
        else:
            self.batch.abort()
        self.since = (self.applied, time.monotonic())
        if not final:
            self.batch = self._begin()


def finish_runs(runs: Sequence[RunBase], paths: Sequence, t0: float) -> None:
    """End runs that share one report (one per shard of a sharded Ray ingest): flush every window,
    refuse when nothing at all was ingested, then commit each last batch. The report's generation is
    the last run's writer's (a sharded caller sums its shards' instead)."""
    for run in runs:
        run.flush()
    report = runs[0].report
    if report.ingested == 0:
        raise nothing_ingested(paths, report.failed)
    report.seconds = round(time.perf_counter() - t0, 3)
    for run in runs:
        run.commit(final=True)
    report.generation = runs[-1].w.gen


def nothing_ingested(paths: Sequence, failed: int) -> ClaimsError:
    """The one-line error of a run that ingested nothing (local, Ray or sharded)."""
    where = ", ".join(map(str, paths)) or "the input"
    if failed:
        return ClaimsError(
            f"nothing could be ingested from {where} ({failed} bad input{'s' if failed != 1 else ''}): "
            "see the lines above"
        )
    kinds = ", ".join(sorted(SUPPORTED))
    return ClaimsError(
        f"no articles found in {where}: give files ({kinds}, or any of them gzipped) or folders of them"
    )
