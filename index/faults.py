"""Fault injection for the crash tests: die (or pause) at a named point of the write path.

The write path calls ``checkpoint(name)`` at the points where a crash matters (after each chunk of
vectors cached, after each catalog chunk, around the Whoosh commit, before the FAISS and manifest
renames, after the embedding cache's WAL is folded in, before the old-file cleanup).
Without ``CLAIMS_FAULT`` (or ``CLAIMS_FAULT_LOG``) in the environment a checkpoint is two comparisons. With
``CLAIMS_FAULT="NAME:N"`` the ``N``-th hit of checkpoint ``NAME`` sends this process SIGKILL (no
cleanup, no ``finally``: what a power cut or the OOM killer does to the process).
``CLAIMS_FAULT="NAME:N:pause"`` instead creates ``$CLAIMS_FAULT_DIR/paused`` and waits until
``$CLAIMS_FAULT_DIR/resume`` exists, so a test can look at the index at exactly that point.
``CLAIMS_FAULT_LOG=FILE`` appends the name of every checkpoint passed to ``FILE``.

Checkpoints named ``whoosh-*`` lie inside Whoosh's own commit; they are hooked into Whoosh only
when one of them is the target or the log is on. ``tests/crash_rig.py`` uses this (run by
``tests/integration/test_crash.py`` and ``bench/crash.py``).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

# Every checkpoint of the write path, in the order a batch reaches them.
CHECKPOINTS = (
    "embcache-put",  # index/embcache.py: a chunk of fresh vectors committed to the cache, not yet used
    "catalog-chunk",  # index/ingest.py: after each committed chunk of catalog rows
    "before-lexical-commit",  # index/writer.py
    "whoosh-segment-written",  # inside Whoosh's commit: segment files written, TOC not
    "whoosh-toc-rename",  # inside Whoosh's commit: temp TOC written, not renamed
    "whoosh-toc-written",  # inside Whoosh's commit: new TOC in place, old files not yet cleaned
    "impacts-before-rename",  # index/impacts.py: a segment's numpy arrays written, folder not renamed
    "after-lexical-commit",  # index/writer.py
    "vectors-before-rename",  # index/vectors.py: temp FAISS file written and fsynced, not renamed
    "embcache-synced",  # index/embcache.py: the cache's WAL folded into its file, manifest not written
    "before-manifest-rename",  # index/manifest.py: temp manifest written, not renamed
    "after-manifest-rename",  # index/writer.py: committed; batch log not yet marked
    "before-cleanup",  # index/writer.py: before the old vectors file is removed
)
# Reached once per format-1 index (tests/integration/test_embcache.py kills there).
MIGRATION_CHECKPOINTS = (
    "embcache-migrated",  # index/embcache.py: catalog rows copied to the cache; manifest still format 1
)


def _parse(spec: str | None) -> tuple[str, int, str] | None:
    if not spec:
        return None
    name, _, rest = spec.partition(":")
    count, _, action = rest.partition(":")
    return name, int(count or 1), action or "kill"


_TARGET = _parse(os.environ.get("CLAIMS_FAULT"))
_LOG = os.environ.get("CLAIMS_FAULT_LOG")  # where did a kill land? the last checkpoint logged
_hits = 0


def checkpoint(name: str) -> None:
    """A named point of the write path: kill or pause here when ``CLAIMS_FAULT`` says so."""
    global _hits
    if _TARGET is None and _LOG is None:
        return
    if _LOG:
        fd = os.open(_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{name}\n".encode())
        finally:
            os.close(fd)
    if _TARGET is None or name != _TARGET[0]:
        return
    _hits += 1
    if _hits != _TARGET[1]:
        return
    if _TARGET[2] == "pause":
        folder = Path(os.environ.get("CLAIMS_FAULT_DIR", "."))
        (folder / "paused").touch()
        while not (folder / "resume").exists():
            time.sleep(0.02)
        return
    os.kill(os.getpid(), signal.SIGKILL)


def _hook_whoosh() -> None:
    """Put the ``whoosh-*`` checkpoints inside Whoosh's commit (only when they are asked for)."""
    from whoosh import index as whoosh_index
    from whoosh import writing
    from whoosh.filedb.filestore import FileStorage

    commit_toc = writing.SegmentWriter._commit_toc
    clean_files = whoosh_index.clean_files
    rename_file = FileStorage.rename_file

    def _commit_toc(self, segments):
        checkpoint("whoosh-segment-written")
        return commit_toc(self, segments)

    def _clean_files(*args, **kwargs):
        checkpoint("whoosh-toc-written")
        return clean_files(*args, **kwargs)

    def _rename_file(self, oldname, newname, safe=False):
        if newname.endswith(".toc"):
            checkpoint("whoosh-toc-rename")
        return rename_file(self, oldname, newname, safe=safe)

    writing.SegmentWriter._commit_toc = _commit_toc
    whoosh_index.clean_files = _clean_files
    FileStorage.rename_file = _rename_file


if (_TARGET is not None and _TARGET[0].startswith("whoosh-")) or _LOG:
    _hook_whoosh()
