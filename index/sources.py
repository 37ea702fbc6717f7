"""Input files and folders -> ``Article`` records.

Every function here is a pure generator (no global state, no output), so a Ray ``map_batches``
can later run it on many nodes. Bad input never raises: it comes out as a ``Problem`` in the same
stream, one line naming the file (``path`` or ``path:line``) and, where there is one, the fix, so
the caller can report it and go on. A ``Problem`` with ``fatal=False`` is a warning whose record
still comes out (e.g. a file decoded as cp1252). An unexpected error inside one file's reader is
that file's Problem too: the other files still go in.

Formats, each optionally gzipped (``.gz``), read by ``index.readers``:

* ``.txt`` / ``.md``: one article per file, with the scraped-news headers of ``shared/seeds``
  (``EPOCH title``, ``date YYYY-MM-DD title``, or a plain title line).
* ``.jsonl`` / ``.ndjson``: one JSON object per line, streamed line by line.
* ``.json``: a JSON array of objects, a single object, or JSON Lines.
* ``.csv``: a header row, then one record per row.
* ``.html`` / ``.htm``: the main text and metadata as extracted by trafilatura.

Encodings and line endings: see ``index.decoding``. Records map their fields through ``FieldMap``;
all other fields are kept in ``metadata``. An article without an id of its own is
``<folder name>/<file stem>`` (see ``Input.article_id``).

A folder is walked recursively in sorted order; hidden files and folders, files of other types,
and a dataset's documentation files (``README``, ``LICENSE``... see ``DOC_NAMES``) are left out. A
file named on the command line is always read.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

from index.decoding import clip
from index.readers import READERS, Input
from index.records import Article, FieldMap, Problem

__all__ = ["DOC_NAMES", "SUPPORTED", "FieldMap", "iter_files", "read_file", "read_sources"]

SUPPORTED = tuple(READERS)  # the format extensions, each also read gzipped
# Stems (case-insensitive) of the files a folder walk leaves out: a dataset's documentation, not articles.
DOC_NAMES = frozenset(
    {
        "readme",
        "license",
        "licence",
        "copying",
        "notice",
        "changelog",
        "changes",
        "history",
        "authors",
        "contributors",
        "contributing",
        "code_of_conduct",
        "citation",
        "security",
        "datasheet",
        "dataset_card",
    }
)


def iter_files(paths: Sequence[str | Path]) -> Iterator[Path | Problem]:
    """Expand the given paths into the input files to read.

    Files are taken as given; folders are walked recursively in sorted order, skipping hidden
    files and folders, documentation files (``DOC_NAMES``: ``README.md``, ``LICENSE.txt``...) and,
    silently, files of unsupported types.

    Args:
        paths: Files and folders, as named by the user.

    Yields:
        Each file to read, or a ``Problem`` for a missing path or an explicitly named file of an
        unsupported type.
    """
    for given in paths:
        path = Path(given)
        if path.is_dir():
            yield from _walk(path)
        elif not path.exists():
            yield Problem(str(path), "no such file or folder; check the path")
        elif _split_name(path)[1] in READERS:
            yield path
        else:
            yield Problem(str(path), _unsupported(path))


def read_file(
    path: str | Path, fields: FieldMap = FieldMap(), source: str | None = None
) -> Iterator[Article | Problem]:
    """Read one input file.

    Args:
        path: The file; its type comes from its extension (``.txt``, ``.jsonl.gz``...).
        fields: Which record fields hold id, text, title, date, source and url (JSON and CSV).
        source: Source name for every article, overriding the records' own; by default the
            record's source field, else the name of the file's folder.

    Yields:
        Articles, and Problems for whatever could not be read (warnings have ``fatal=False``). Never
        raises for the file's content: an unexpected error in its reader becomes its last Problem.
    """
    path = Path(path)
    stem, ext, gzipped = _split_name(path)
    reader = READERS.get(ext)
    if reader is None:
        yield Problem(str(path), _unsupported(path))
        return
    try:
        yield from reader(Input(path, stem, gzipped, fields, source))
    except (OSError, EOFError, zlib.error) as exc:  # may come mid-file, after some records
        if isinstance(exc, OSError) and exc.errno is not None:
            yield Problem(str(path), f"cannot read file: {exc.strerror}")
        else:  # BadGzipFile (an OSError without errno), EOFError when truncated, zlib.error
            yield Problem(str(path), f"corrupt gzip file ({clip(exc)}); re-download or re-compress it")
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except Exception as exc:  # a reader bug or a library failing on this file: lose this file, not the batch
        yield Problem(
            str(path),
            f"cannot read file: unexpected {type(exc).__name__} ({clip(exc)}); "
            "the other files went in; please report it",
        )


def read_sources(
    paths: Sequence[str | Path], fields: FieldMap = FieldMap(), source: str | None = None
) -> Iterator[Article | Problem]:
    """Read every input file under ``paths`` (``iter_files`` then ``read_file``).

    Args:
        paths: Files and folders, as named by the user.
        fields: See ``read_file``.
        source: See ``read_file``.

    Yields:
        Articles and Problems, file by file in ``iter_files`` order.
    """
    for item in iter_files(paths):
        if isinstance(item, Problem):
            yield item
        else:
            yield from read_file(item, fields, source)


def _split_name(path: Path) -> tuple[str, str, bool]:
    """``a/x.txt.gz`` -> (``x``, ``.txt``, True): stem, lower-case format extension, gzipped."""
    name = path.name
    gzipped = name.lower().endswith(".gz")
    if gzipped:
        name = name[:-3]
    stem, dot, ext = name.rpartition(".")
    return (stem, f".{ext.lower()}", gzipped) if dot and stem else (name, "", gzipped)


def _unsupported(path: Path) -> str:
    _, ext, gzipped = _split_name(path)
    kind = ext + (".gz" if gzipped else "")
    what = f"unsupported file type '{kind}'" if kind else "file has no extension"
    return f"{what} (supported: {', '.join(SUPPORTED)}, each optionally .gz); convert or rename it"


def _walk(folder: Path) -> Iterator[Path | Problem]:
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        yield Problem(str(folder), f"cannot list folder: {exc.strerror or exc}")
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            yield from _walk(entry)
        elif entry.is_file():
            stem, ext, _ = _split_name(entry)
            if ext in READERS and stem.lower() not in DOC_NAMES:
                yield entry
