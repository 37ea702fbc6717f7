"""Input files -> ``Article`` records.

Every function here is a pure generator (no global state, no output), so a Ray ``map_batches``
can later run it on many nodes. Bad input never raises: it comes out as a ``Problem`` in the same
stream, one line naming the file (``path`` or ``path:line``) and, where there is one, the fix, so
the caller can report it and go on. A ``Problem`` with ``fatal=False`` is a warning whose record
still comes out (e.g. a file decoded as cp1252).

Formats, each optionally gzipped (``.gz``):

* ``.txt`` / ``.md``: one article per file, with the scraped-news headers of ``shared/seeds``
  (``EPOCH title``, ``date YYYY-MM-DD title``, or a plain title line).
* ``.jsonl`` / ``.ndjson``: one JSON object per line, streamed line by line.
* ``.json``: a JSON array of objects, a single object, or JSON Lines.
* ``.csv``: a header row, then one record per row.
* ``.html`` / ``.htm``: the main text and metadata as extracted by trafilatura.

Records map their fields through ``FieldMap``; all other fields are kept in ``metadata``.
Line endings ``\\r\\n`` become ``\\n``; text is otherwise kept verbatim, because passage offsets
are computed into it.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import gzip
import io
import itertools
import json
import re
import zlib
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from index.dates import normalize_date
from index.records import Article, Problem


@dataclass(frozen=True)
class FieldMap:
    """Which field of a JSON or CSV record holds each ``Article`` attribute."""

    id: str = "id"
    text: str = "text"
    title: str = "title"
    date: str = "date"
    source: str = "source"
    url: str = "url"


_SNIFF_BYTES = 8192  # how much of a file is checked for NUL bytes and control characters
_BINARY = "binary file, not text; convert it to UTF-8 text or leave it out"
# Bytes below 0x20 are the same control characters in UTF-8, cp1252 and latin-1, so they can be
# counted before decoding. Not \t \n \v \f \r.
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1f\x7f]")
_MOSTLY_CONTROL = 0.3
_TITLE_MAX = 200  # a longer first line is body text, not a headline
_EPOCH_HEADER = re.compile(r"(\d{9,11})(?:\s+(.*))?")
_DATE_HEADER = re.compile(r"date\s+(\d{4}-\d{2}-\d{2})(?:\s+(.*))?", re.IGNORECASE)
_MARKDOWN_HEADING = re.compile(r"\A#+\s+")
_LEADING_BLANK_LINES = re.compile(r"\A(?:[ \t]*\n)+")
# csv's default field limit (128 KiB) is below some article bodies; 2**31-1 fits a C long everywhere.
_CSV_FIELD_LIMIT = 2**31 - 1
_CSV_DELIMITERS = ",;\t|"


def iter_files(paths: Sequence[str | Path]) -> Iterator[Path | Problem]:
    """Expand the given paths into the input files to read.

    Files are taken as given; folders are walked recursively in sorted order, skipping hidden
    files and folders and silently leaving out files of unsupported types.

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
        elif _split_name(path)[1] in _READERS:
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
        Articles, and Problems for whatever could not be read (warnings have ``fatal=False``).
    """
    path = Path(path)
    stem, ext, gzipped = _split_name(path)
    reader = _READERS.get(ext)
    if reader is None:
        yield Problem(str(path), _unsupported(path))
        return
    try:
        yield from reader(_Input(path, stem, gzipped, fields, source))
    except (OSError, EOFError, zlib.error) as exc:  # may come mid-file, after some records
        if isinstance(exc, OSError) and exc.errno is not None:
            yield Problem(str(path), f"cannot read file: {exc.strerror}")
        else:  # BadGzipFile (an OSError without errno), EOFError when truncated, zlib.error
            yield Problem(str(path), f"corrupt gzip file ({_clip(exc)}); re-download or re-compress it")


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


@dataclass(frozen=True)
class _Input:
    """One file being read, with what every reader needs to know about it."""

    path: Path
    stem: str  # file name without the format and .gz extensions: the default article id
    gzipped: bool
    fields: FieldMap
    source: str | None

    @property
    def origin(self) -> str:
        return str(self.path)

    @property
    def folder(self) -> str:
        return self.path.absolute().parent.name

    def open(self) -> BinaryIO:
        return gzip.open(self.path, "rb") if self.gzipped else open(self.path, "rb")


# Readers are generators that yield Articles and Problems; helpers that may fail yield their
# Problems and *return* their result (None on failure), used as ``value = yield from helper(...)``.
_Reader = Generator[Article | Problem, None, None]


def _read_text(f: _Input) -> _Reader:
    """A ``.txt`` / ``.md`` article: a header line (epoch, date or title), then the body."""
    content = yield from _load_text(f)
    if content is None:
        return
    header, _, body = content.lstrip().partition("\n")
    header = header.strip()
    body = _LEADING_BLANK_LINES.sub("", body)
    date = None
    if match := _EPOCH_HEADER.fullmatch(header) or _DATE_HEADER.fullmatch(header):
        date, title = normalize_date(match[1]), (match[2] or "").strip()
    elif len(header) < _TITLE_MAX:
        title = _MARKDOWN_HEADING.sub("", header, count=1)
    else:  # no headline: the first line is part of the body
        title, body = "", _LEADING_BLANK_LINES.sub("", content)
    if not body.strip():  # a lone line is the article itself, not its headline
        title, body = "", title
    if not body.strip():
        yield Problem(f.origin, "no text after the header line")
        return
    # Scraped headers cut the headline short ("...to NATO borders for"); the body's first line
    # often repeats it in full. The body itself stays as it is.
    first_line = body.lstrip().partition("\n")[0].strip()
    if title and first_line.startswith(title) and len(title) < len(first_line) < _TITLE_MAX:
        title = first_line
    yield Article(
        article_id=f.stem, text=body, title=title, date=date, source=f.source or f.folder, origin=f.origin
    )


def _read_jsonl(f: _Input) -> _Reader:
    """JSON Lines, streamed: a huge file is never held in memory."""
    with f.open() as stream:
        head = stream.read(_SNIFF_BYTES)
        head += stream.readline()  # finish the line the sniff cut
        if _is_binary(head[:_SNIFF_BYTES]):
            yield Problem(f.origin, _BINARY)
            return
        warned: set[str] = set()  # warn once per encoding, not once per line
        seen = False
        for number, raw in enumerate(itertools.chain(io.BytesIO(head), stream), start=1):
            line, encoding = _decode(raw)
            if not line.strip():
                continue
            seen = True
            if encoding not in ("utf-8", *warned):
                warned.add(encoding)
                yield _encoding_warning(f"{f.origin}:{number}", encoding, " (first at this line)")
            yield _json_line(f, line, number)
    if not seen:
        yield Problem(f.origin, "empty file")


def _read_json(f: _Input) -> _Reader:
    """A JSON array of objects or a single object (loaded whole), else JSON Lines."""
    content = yield from _load_text(f)
    if content is None:
        return
    try:
        document = json.loads(content)
    except (ValueError, RecursionError) as exc:
        if _parses(content.lstrip().partition("\n")[0]):  # JSON Lines: a bad line costs only itself
            for number, line in enumerate(content.split("\n"), start=1):
                if line.strip():
                    yield _json_line(f, line, number)
        else:
            yield Problem(f"{f.origin}:{getattr(exc, 'lineno', 1)}", _json_error(exc))
        return
    if isinstance(document, list):
        for index, value in enumerate(document):
            yield _json_record(f, value, f"{f.origin}[{index}]", f"{f.stem}-{index}")
    elif isinstance(document, dict):
        yield _json_record(f, document, f.origin, f.stem)
    else:
        yield Problem(
            f.origin,
            f"JSON file holds a {_json_type(document)}; it must hold objects (an array or one per line)",
        )


def _read_csv(f: _Input) -> _Reader:
    """CSV with a header row; the delimiter is the commonest of ``, ; TAB |`` in the header."""
    content = yield from _load_text(f)
    if content is None:
        return
    csv.field_size_limit(_CSV_FIELD_LIMIT)  # process-wide, but the same value every time
    header = content.partition("\n")[0]
    delimiter = max(_CSV_DELIMITERS, key=header.count)
    # Rows longer than the header keep their extra cells under "_extra" (the default key None
    # would put a non-string key into metadata).
    reader = csv.DictReader(io.StringIO(content, newline=""), delimiter=delimiter, restkey="_extra")
    try:
        columns = reader.fieldnames or []
        if f.fields.text not in columns:
            yield Problem(
                f.origin,
                f"no column '{f.fields.text}' in CSV header (columns: {_clip(', '.join(columns))}); "
                "map it with --text-field",
            )
            return
        line, rows = reader.line_num + 1, 0
        for row in reader:
            yield _record(f, row, f"{f.origin}:{line}", f"{f.stem}-{line}")
            line, rows = reader.line_num + 1, rows + 1
        if not rows:
            yield Problem(f.origin, "no rows after the CSV header")
    except csv.Error as exc:
        yield Problem(
            f"{f.origin}:{reader.line_num}", f"malformed CSV ({_clip(exc)}); the rest of the file is skipped"
        )


def _read_html(f: _Input) -> _Reader:
    """An HTML page: main text, title, date and url as extracted by trafilatura."""
    data = yield from _load_bytes(f)
    if data is None:
        return
    from trafilatura import bare_extraction  # lazy: a heavy import, needed only for HTML

    # Bytes, not text: trafilatura honours the page's declared charset (e.g. windows-1251).
    try:
        page = bare_extraction(data, with_metadata=True, include_comments=False)
    except Exception as exc:  # a third-party parser on arbitrary markup: report it and go on
        yield Problem(f.origin, f"cannot parse HTML ({_clip(exc)})")
        return
    text = (page.text or "").replace("\r\n", "\n") if page else ""
    if not text.strip():
        yield Problem(f.origin, "no article text found in the HTML page; is it an article page?")
        return
    yield Article(
        article_id=f.stem,
        text=text,
        title=page.title or "",
        date=normalize_date(page.date),
        source=f.source or page.sitename or f.folder,
        url=page.url or "",
        metadata={key: value for key in ("author", "description") if (value := getattr(page, key))},
        origin=f.origin,
    )


def _json_line(f: _Input, line: str, number: int) -> Article | Problem:
    origin = f"{f.origin}:{number}"
    try:
        value = json.loads(line)
    except (ValueError, RecursionError) as exc:
        return Problem(origin, _json_error(exc))
    return _json_record(f, value, origin, f"{f.stem}-{number}")


def _json_record(f: _Input, value: Any, origin: str, fallback_id: str) -> Article | Problem:
    if not isinstance(value, dict):
        return Problem(
            origin, f"JSON value is a {_json_type(value)}, not an object; each record must be an object"
        )
    return _record(f, value, origin, fallback_id)


def _record(f: _Input, record: dict[str, Any], origin: str, fallback_id: str) -> Article | Problem:
    """A JSON object or CSV row -> Article, mapping fields through ``f.fields``."""
    fields = f.fields
    text = _as_str(record.get(fields.text)).replace("\r\n", "\n")
    if not text.strip():
        known = "" if fields.text in record else f" (fields: {_clip(', '.join(map(str, record)))})"
        return Problem(
            origin, f"record has no text in field '{fields.text}'{known}; map it with --text-field"
        )
    mapped = set(dataclasses.astuple(fields))
    return Article(
        article_id=_as_str(record.get(fields.id)).strip() or fallback_id,
        text=text,
        title=_as_str(record.get(fields.title)).replace("\r\n", "\n").strip(),
        date=normalize_date(record.get(fields.date)),
        source=f.source or _as_str(record.get(fields.source)).replace("\r\n", "\n").strip() or f.folder,
        url=_as_str(record.get(fields.url)).strip(),
        metadata={key: value for key, value in record.items() if key not in mapped},
        origin=origin,
    )


def _load_bytes(f: _Input) -> Generator[Problem, None, bytes | None]:
    """The whole file's bytes, or None (with a Problem) when it is empty or binary."""
    with f.open() as stream:
        data = stream.read()
    if not data.removeprefix(codecs.BOM_UTF8).strip():
        yield Problem(f.origin, "empty file")
        return None
    if _is_binary(data[:_SNIFF_BYTES]):
        yield Problem(f.origin, _BINARY)
        return None
    return data


def _load_text(f: _Input) -> Generator[Problem, None, str | None]:
    """The whole file decoded (warning when not UTF-8), or None (with a Problem)."""
    data = yield from _load_bytes(f)
    if data is None:
        return None
    text, encoding = _decode(data)
    if encoding != "utf-8":
        yield _encoding_warning(f.origin, encoding)
    return text.replace("\r\n", "\n")


def _decode(data: bytes) -> tuple[str, str]:
    """Text and the encoding that read it: UTF-8 (BOM stripped), else cp1252, else latin-1."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding), encoding.removesuffix("-sig")
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1"  # every byte is a latin-1 character


def _encoding_warning(origin: str, encoding: str, where: str = "") -> Problem:
    return Problem(
        origin,
        f"not valid UTF-8; decoded as {encoding}{where}; re-save it as UTF-8 if characters look wrong",
        fatal=False,
    )


def _is_binary(sniff: bytes) -> bool:
    return b"\x00" in sniff or len(_CONTROL_BYTES.findall(sniff)) > _MOSTLY_CONTROL * len(sniff)


def _parses(line: str) -> bool:
    try:
        json.loads(line)
    except (ValueError, RecursionError):
        return False
    return True


def _json_error(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"malformed JSON: {exc.msg} at column {exc.colno}"
    return f"malformed JSON: {_clip(exc)}"  # absurd nesting, integers with thousands of digits


def _json_type(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")


def _as_str(value: Any) -> str:
    """A field value as text: None is "", strings as they are, other JSON values as JSON."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _clip(value: object, limit: int = 160) -> str:
    """One line of at most ``limit`` characters, for messages built from input data."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
        elif entry.is_file() and _split_name(entry)[1] in _READERS:
            yield entry


_READERS: dict[str, Callable[[_Input], _Reader]] = {
    ".txt": _read_text,
    ".md": _read_text,
    ".jsonl": _read_jsonl,
    ".ndjson": _read_jsonl,
    ".json": _read_json,
    ".csv": _read_csv,
    ".html": _read_html,
    ".htm": _read_html,
}
SUPPORTED = tuple(_READERS)  # the format extensions, each also read gzipped
