"""Where a run or an export is written: a file (replaced atomically), stdout (``-``) or a special file.

* ``-``: standard output.
* An existing special file (a FIFO, a terminal...) or any path under ``/dev`` or ``/proc`` (``/dev/stdout``
  names the shell's redirection target, maybe a regular file that a rename would detach): written in
  place (appended: nothing already there is truncated), never replaced.
* A symlink to a regular file: the file it names is replaced; the link stays.
* A folder, or a file in a folder that does not exist: refused with one line (``OutputError``), before
  anything is loaded; missing folders are never created (as ``sqlite-utils`` and ``llm`` do not).
* Anything else: written to a temp file beside it, fsynced and renamed onto it at the end, so a failed
  run leaves the old file (or none), never half a file.

Everything is first written to a temp file (beside the target, or in the temp folder for stdout and
special files) and lands at ``commit``: a run that fails half-way writes nothing.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from index.errors import ClaimsError

STDOUT = "-"


class OutputError(ClaimsError):
    """An output path that cannot take a file (a folder)."""


class Output:
    """One output target (see the module docstring).

    Raises:
        OutputError: ``target`` is a folder, or its folder does not exist (or is not a folder).
    """

    def __init__(self, target: str | Path, option: str = "-o"):
        text = str(target)
        self.name = text
        self.stdout = text == STDOUT
        self.path: Path | None = None if self.stdout else Path(text)
        self.special = self.stdout
        if self.path is not None:
            if self.path.is_dir():
                raise OutputError(
                    f"{option} {text} is a folder: name a file inside it, e.g. {self.path / 'results.jsonl'}"
                )
            parent = self.path.absolute().parent
            if not parent.is_dir():
                what = "is not a folder" if parent.exists() else "does not exist"
                raise OutputError(
                    f"{option} {text}: folder {parent} {what}: create it first (mkdir -p {parent}) or write "
                    "somewhere else"
                )
            under = str(self.path.absolute()).startswith(("/dev/", "/proc/"))
            if under or (self.path.exists() and not self.path.is_file()):
                self.special = True
            elif self.path.is_symlink():
                self.path = self.path.resolve()

    def beside(self, suffix: str) -> Path | None:
        """``<target><suffix>`` for a regular file (e.g. its manifest); None for stdout and special files."""
        if self.special or self.path is None:
            return None
        return self.path.with_name(self.path.name + suffix)

    def temp(self) -> Path:
        """A new empty temp file where this output's bytes are written before ``commit``."""
        folder = None
        if not self.special:
            folder = self.path.parent
        name = "claims" if self.path is None else self.path.name
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
        os.close(fd)
        return Path(tmp)

    def commit(self, tmp: Path) -> None:
        """Land ``tmp``: renamed onto a regular file (fsynced first), copied into stdout or a special file."""
        if self.stdout:
            sys.stdout.flush()
            with open(tmp, "rb") as src:
                shutil.copyfileobj(src, sys.stdout.buffer, 1 << 20)
            sys.stdout.buffer.flush()
            tmp.unlink(missing_ok=True)
        elif self.special:
            with open(tmp, "rb") as src, open(self.path, "ab") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            tmp.unlink(missing_ok=True)
        else:
            replace(tmp, self.path)


def replace(tmp: Path, target: Path) -> None:
    """fsync ``tmp``, give it the umask's permissions and rename it onto ``target`` (atomic)."""
    from index.manifest import fsync_dir

    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o666 & ~mask)
    os.replace(tmp, target)
    fsync_dir(target.parent)
