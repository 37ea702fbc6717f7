"""The per-format readers: one input file -> ``Article`` records and ``Problem`` lines.

Every reader is a pure generator over one :class:`Input` (no global state, no output), so a Ray
``map_batches`` can later run it on many nodes. Bad input never raises: it comes out as a
``Problem`` in the same stream. ``index.sources`` finds the files and picks the reader.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
import itertools
import json
import re
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from index.dates import normalize_date
from index.decoding import (
    SNIFF_BYTES,
    binary_reason,
    bom_encoding,
    clip,
    decode,
    encoding_warning,
    is_binary,
    needs_warning,
    newlines,
    wide_encoding,
)
from index.records import Article, FieldMap, Problem

_TITLE_MAX = 200  # a longer first line is body text, not a headline
_EPOCH_HEADER = re.compile(r"(\d{9,11})(?:\s+(.*))?")
_DATE_HEADER = re.compile(r"date\s+(\d{4}-\d{2}-\d{2})(?:\s+(.*))?", re.IGNORECASE)
_MARKDOWN_HEADING = re.compile(r"\A#+\s+")
_LEADING_BLANK_LINES = re.compile(r"\A(?:[ \t]*\n)+")
# csv's default field limit (128 KiB) is below some article bodies; 2**31-1 fits a C long everywhere.
_CSV_FIELD_LIMIT = 2**31 - 1
_CSV_DELIMITERS = ",;\t|"
# Excel's first line "sep=;" names the delimiter of the rest.
_CSV_SEP_LINE = re.compile(r"sep=(.)\s*")


@dataclass(frozen=True)
class Input:
    """One file being read, with what every reader needs to know about it."""

    path: Path
    stem: str  # file name without the format and .gz extensions
    gzipped: bool
    fields: FieldMap
    source: str | None

    @property
    def origin(self) -> str:
        return str(self.path)

    @property
    def folder(self) -> str:
        return self.path.absolute().parent.name

    def article_id(self, suffix: str = "") -> str:
        """The id of an article that has none of its own: ``<folder name>/<file stem><suffix>``.

        The folder keeps two folders' ``2023-05-01.txt`` apart; the same file always gets the same id,
        however the path to it is written.
        """
        return f"{self.folder}/{self.stem}{suffix}"

    def open(self) -> BinaryIO:
        return gzip.open(self.path, "rb") if self.gzipped else open(self.path, "rb")


# Readers are generators that yield Articles and Problems; helpers that may fail yield their
# Problems and *return* their result (None on failure), used as ``value = yield from helper(...)``.
_Reader = Generator[Article | Problem, None, None]


def _read_text(f: Input) -> _Reader:
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
        article_id=f.article_id(),
        text=body,
        title=title,
        date=date,
        source=f.source or f.folder,
        origin=f.origin,
    )


def _read_jsonl(f: Input) -> _Reader:
    """JSON Lines, streamed: a huge file is never held in memory."""
    with f.open() as stream:
        head = stream.read(SNIFF_BYTES)
        head += stream.readline()  # finish the line the sniff cut
        if is_binary(head[:SNIFF_BYTES]):
            yield Problem(f.origin, binary_reason(head))
            return
        wide = wide_encoding(head)
        if wide:  # UTF-16/32 (PowerShell's `>`): lines are not split at a "\n" byte
            stream.seek(0)
            # With a BOM, "utf-16"/"utf-32" read it and drop it; without, the byte order was sniffed.
            codec = wide[:6] if bom_encoding(head) else wide
            text = io.TextIOWrapper(stream, encoding=codec, errors="replace", newline=None)
            lines: Any = (line.encode("utf-8") for line in text)
        else:
            lines = itertools.chain(io.BytesIO(head), stream)
        warned: set[str] = set()  # warn once per encoding, not once per line
        number, seen = 0, False
        for raw in lines:
            # A lone "\r" ends a line too (classic Mac); JSON holds no raw "\r" inside a value.
            for piece in raw.rstrip(b"\r\n").split(b"\r"):
                number += 1
                line, encoding = decode(piece)
                if not line.strip():
                    continue
                seen = True
                if needs_warning(encoding) and encoding not in warned:
                    warned.add(encoding)
                    yield encoding_warning(f"{f.origin}:{number}", encoding, " (first at this line)")
                yield _json_line(f, line, number)
    if not seen:
        yield Problem(f.origin, "empty file")


def _read_json(f: Input) -> _Reader:
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
            yield _json_record(f, value, f"{f.origin}[{index}]", f.article_id(f"-{index}"))
    elif isinstance(document, dict):
        yield _json_record(f, document, f.origin, f.article_id())
    else:
        yield Problem(
            f.origin,
            f"JSON file holds a {_json_type(document)}; it must hold objects (an array or one per line)",
        )


def _read_csv(f: Input) -> _Reader:
    """CSV with a header row; the delimiter is named by Excel's ``sep=`` first line, else the commonest
    of ``, ; TAB |`` in the header."""
    content = yield from _load_text(f)
    if content is None:
        return
    csv.field_size_limit(_CSV_FIELD_LIMIT)  # process-wide, but the same value every time
    header, _, rest = content.partition("\n")
    first = 1  # the file's line number of the header
    if sep := _CSV_SEP_LINE.fullmatch(header):  # Excel's "sep=;" line
        delimiter, content, first = sep[1], rest, 2
    else:
        delimiter = max(_CSV_DELIMITERS, key=header.count)
    # Rows longer than the header keep their extra cells under "_extra" (the default key None
    # would put a non-string key into metadata).
    reader = csv.DictReader(io.StringIO(content, newline=""), delimiter=delimiter, restkey="_extra")
    try:
        columns = reader.fieldnames or []
        if f.fields.text not in columns:
            yield Problem(
                f.origin,
                f"no column '{f.fields.text}' in CSV header (columns: {clip(', '.join(columns))}); "
                "map it with --text-field",
            )
            return
        line, rows = reader.line_num + first, 0
        for row in reader:
            yield _record(f, row, f"{f.origin}:{line}", f.article_id(f"-{line}"))
            line, rows = reader.line_num + first, rows + 1
        if not rows:
            yield Problem(f.origin, "no rows after the CSV header")
    except csv.Error as exc:
        yield Problem(
            f"{f.origin}:{reader.line_num + first - 1}",
            f"malformed CSV ({clip(exc)}); the rest of the file is skipped",
        )


def _read_html(f: Input) -> _Reader:
    """An HTML page: main text, title, date and url as extracted by trafilatura."""
    data = yield from _load_bytes(f)
    if data is None:
        return
    from trafilatura import bare_extraction  # lazy: a heavy import, needed only for HTML

    # Bytes, not text: trafilatura honours the page's declared charset (e.g. windows-1251).
    try:
        page = bare_extraction(data, with_metadata=True, include_comments=False)
    except Exception as exc:  # a third-party parser on arbitrary markup: report it and go on
        yield Problem(f.origin, f"cannot parse HTML ({clip(exc)})")
        return
    text = newlines(page.text or "") if page else ""
    if not text.strip():
        yield Problem(f.origin, "no article text found in the HTML page; is it an article page?")
        return
    yield Article(
        article_id=f.article_id(),
        text=text,
        title=page.title or "",
        date=normalize_date(page.date),
        source=f.source or page.sitename or f.folder,
        url=page.url or "",
        metadata={key: value for key in ("author", "description") if (value := getattr(page, key))},
        origin=f.origin,
    )


def _json_line(f: Input, line: str, number: int) -> Article | Problem:
    origin = f"{f.origin}:{number}"
    try:
        value = json.loads(line)
    except (ValueError, RecursionError) as exc:
        return Problem(origin, _json_error(exc))
    return _json_record(f, value, origin, f.article_id(f"-{number}"))


def _json_record(f: Input, value: Any, origin: str, fallback_id: str) -> Article | Problem:
    if not isinstance(value, dict):
        return Problem(
            origin, f"JSON value is a {_json_type(value)}, not an object; each record must be an object"
        )
    return _record(f, value, origin, fallback_id)


def _record(f: Input, record: dict[str, Any], origin: str, fallback_id: str) -> Article | Problem:
    """A JSON object or CSV row -> Article, mapping fields through ``f.fields``."""
    fields = f.fields
    text = newlines(_as_str(record.get(fields.text)))
    if not text.strip():
        if fields.text in record:  # the field is there, its value is not: nothing to map
            return Problem(origin, f"text in field '{fields.text}' is empty; nothing to index")
        known = clip(", ".join(map(str, record)))
        return Problem(
            origin, f"record has no field '{fields.text}' (fields: {known}); map the text with --text-field"
        )
    mapped = set(dataclasses.astuple(fields))
    return Article(
        article_id=_as_str(record.get(fields.id)).strip() or fallback_id,
        text=text,
        title=newlines(_as_str(record.get(fields.title))).strip(),
        date=normalize_date(record.get(fields.date)),
        source=f.source or newlines(_as_str(record.get(fields.source))).strip() or f.folder,
        url=_as_str(record.get(fields.url)).strip(),
        metadata={key: value for key, value in record.items() if key not in mapped},
        origin=origin,
    )


def _load_bytes(f: Input) -> Generator[Problem, None, bytes | None]:
    """The whole file's bytes, or None (with a Problem) when it is empty or binary."""
    with f.open() as stream:
        data = stream.read()
    if not data.strip() or not decode(data)[0].strip():
        yield Problem(f.origin, "empty file")
        return None
    if is_binary(data[:SNIFF_BYTES]):
        yield Problem(f.origin, binary_reason(data))
        return None
    return data


def _load_text(f: Input) -> Generator[Problem, None, str | None]:
    """The whole file decoded (warning when not UTF-8), or None (with a Problem)."""
    data = yield from _load_bytes(f)
    if data is None:
        return None
    text, encoding = decode(data)
    if needs_warning(encoding):
        yield encoding_warning(f.origin, encoding)
    return newlines(text)


def _parses(line: str) -> bool:
    try:
        json.loads(line)
    except (ValueError, RecursionError):
        return False
    return True


def _json_error(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"malformed JSON: {exc.msg} at column {exc.colno}"
    return f"malformed JSON: {clip(exc)}"  # absurd nesting, integers with thousands of digits


def _json_type(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")


def _as_str(value: Any) -> str:
    """A field value as text: None is "", strings as they are, other JSON values as JSON."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


READERS: dict[str, Callable[[Input], _Reader]] = {
    ".txt": _read_text,
    ".md": _read_text,
    ".jsonl": _read_jsonl,
    ".ndjson": _read_jsonl,
    ".json": _read_json,
    ".csv": _read_csv,
    ".html": _read_html,
    ".htm": _read_html,
}
