"""Files as users' tools write them (issue 12): encodings, line endings, CSV dialects, dates, ids, folders.

Each case is written byte for byte as the named tool writes it, and the expected values are typed by hand.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index import readers
from index.dates import normalize_date
from index.decoding import decode, is_binary, newlines
from index.records import Article, Problem
from index.sources import DOC_NAMES, iter_files, read_file, read_sources

TEXT = "Drones hit the café in Kherson overnight, the governor said.\nTwo people were hurt."
ROWS = [{"id": "r1", "text": "The brigade crossed the Dnipro.", "date": "2023-08-01"}]


def articles(items) -> list[Article]:
    return [a for a in items if isinstance(a, Article)]


def problems(items) -> list[Problem]:
    return [p for p in items if isinstance(p, Problem)]


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# -- decoding ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (
            codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"),
            "utf-16-le",
        ),  # Excel "Unicode Text", PowerShell 5 `>`
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16-be"),
        (codecs.BOM_UTF32_LE + TEXT.encode("utf-32-le"), "utf-32-le"),
        (TEXT.encode("utf-16-le"), "utf-16-le"),  # some exporters write no BOM
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8"),  # Notepad, Excel "CSV UTF-8"
        (TEXT.encode("utf-8"), "utf-8"),
        (TEXT.encode("cp1252"), "cp1252"),  # Excel "CSV" on Windows, old Notepad
    ],
)
def test_decode_reads_what_tools_write(data, encoding):
    text, used = decode(data)
    assert (text, used) == (TEXT, encoding)
    assert not is_binary(data[:8192]), "UTF-16's NUL bytes are not a binary file"


# Not NUL (text files hold none: NULs mean binary, or BOM-less UTF-16) and not a leading U+FEFF (read as a BOM).
TEXTS = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=200).filter(
    lambda t: not t.startswith("\ufeff")
)


@given(TEXTS, st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32"]))
def test_unicode_with_a_bom_or_utf8_round_trips(text, encoding):
    assert decode(text.encode(encoding))[0] == text


@given(st.binary(max_size=300))
def test_any_bytes_decode_without_raising(data):
    text, used = decode(data)
    assert isinstance(text, str) and used


def test_decode_latin1_when_cp1252_cannot():
    data = "Kyiv\x81".encode("latin-1")  # 0x81 is undefined in cp1252
    assert decode(data) == ("Kyiv\x81", "latin-1")


def test_newlines_windows_and_classic_mac():
    assert newlines("a\r\nb\rc\nd") == "a\nb\nc\nd"


# -- each format as real tools write it --------------------------------------------------------------
HEADER_TXT = "date 2023-08-01 Drones hit Kherson\n\n" + TEXT + "\n"


@pytest.mark.parametrize(
    "data",
    [
        codecs.BOM_UTF16_LE + HEADER_TXT.replace("\n", "\r\n").encode("utf-16-le"),  # PowerShell Out-File
        HEADER_TXT.replace("\n", "\r").encode("utf-8"),  # classic Mac OS line endings
        HEADER_TXT.replace("\n", "\r\n").encode("cp1252"),  # Windows Notepad (ANSI)
    ],
)
def test_txt_with_tool_encodings_and_line_endings(tmp_path, data):
    items = list(read_file(write(tmp_path / "news" / "k.txt", data)))
    (a,) = articles(items)
    assert (a.title, a.date, a.text) == ("Drones hit Kherson", "2023-08-01", TEXT + "\n")
    assert "\r" not in a.text


def test_jsonl_from_powershell_utf16_with_crlf(tmp_path):
    lines = '{"id": "r1", "text": "The brigade crossed the Dnipro."}\r\n{"id": "r2", "text": "Café."}\r\n'
    path = write(tmp_path / "x.jsonl", codecs.BOM_UTF16_LE + lines.encode("utf-16-le"))
    items = list(read_file(path))
    assert [(a.article_id, a.text) for a in articles(items)] == [
        ("r1", "The brigade crossed the Dnipro."),
        ("r2", "Café."),
    ]
    assert problems(items) == []


def test_jsonl_with_classic_mac_line_endings_counts_lines(tmp_path):
    path = write(
        tmp_path / "x.jsonl", b'{"id": "a", "text": "One."}\r{"text": ""}\r{"id": "c", "text": "Three."}\r'
    )
    items = list(read_file(path))
    assert [a.article_id for a in articles(items)] == ["a", "c"]
    assert [p.origin for p in problems(items)] == [f"{path}:2"]


@pytest.mark.parametrize(
    ("data", "delimiter_name"),
    [
        (b"sep=;\r\nid;text;date\r\nr1;The brigade crossed the Dnipro.;01.08.2023\r\n", "Excel sep= line"),
        ("id;text;date\r\nr1;The brigade crossed the Dnipro.;01.08.2023\r\n".encode("cp1252"), "semicolon"),
        (
            codecs.BOM_UTF16_LE
            + "id\ttext\tdate\r\nr1\tThe brigade crossed the Dnipro.\t01.08.2023\r\n".encode("utf-16-le"),
            "Excel Unicode Text (tab, UTF-16)",
        ),
        (
            codecs.BOM_UTF8 + b"id,text,date\r\nr1,The brigade crossed the Dnipro.,2023-08-01\r\n",
            "Excel CSV UTF-8",
        ),
    ],
)
def test_csv_as_excel_writes_it(tmp_path, data, delimiter_name):
    path = write(tmp_path / "t.csv", data)
    items = list(read_file(path))
    (a,) = articles(items)
    assert (a.article_id, a.text, a.date) == ("r1", "The brigade crossed the Dnipro.", "2023-08-01"), (
        delimiter_name
    )
    assert a.origin == f"{path}:{3 if data.startswith(b'sep=') else 2}"


def test_empty_utf16_file_is_empty(tmp_path):
    (p,) = list(read_file(write(tmp_path / "e.txt", codecs.BOM_UTF16_LE)))
    assert p.reason == "empty file"


def test_empty_text_record_says_the_text_is_empty(tmp_path):
    path = write(tmp_path / "x.jsonl", b'{"id": "a", "text": "  "}\n{"id": "b", "body": "x"}\n')
    first, second = problems(read_file(path))
    assert first.reason == "text in field 'text' is empty; nothing to index"
    assert second.reason == "record has no field 'text' (fields: id, body); map the text with --text-field"


# -- dates as feeds and scrapers carry them ----------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "iso"),
    [
        ("Tue, 01 Aug 2023 14:05:00 +0000", "2023-08-01"),  # RFC 2822 (RSS pubDate, e-mail)
        ("Mon, 31 Jul 2023 23:30:00 -0500", "2023-07-31"),  # as written, not converted
        ("2023-08-01T23:30:00Z", "2023-08-01"),  # ISO 8601 with Z
        ("2023-08-01T23:30:00.123456Z", "2023-08-01"),
        ("2023-08-01T14:05:00+02:00", "2023-08-01"),
        ("2023-08-01 14:05:00 UTC", "2023-08-01"),
        ("Tuesday, August 1, 2023 2:05 PM EDT", "2023-08-01"),
        ("Aug. 1, 2023", "2023-08-01"),
        ("Sept. 5, 2023", "2023-09-05"),
        ("01-Aug-2023", "2023-08-01"),
        ("Published: 01 August 2023", "2023-08-01"),
        ("1st of August, 2023", "2023-08-01"),
        ("01.08.2023", "2023-08-01"),  # day first, as German and Russian sites write it
        ("20230801", "2023-08-01"),
        ("1690848000", "2023-08-01"),  # Unix seconds
        ("1690848000000", "2023-08-01"),  # JavaScript milliseconds
        (1690848000000, "2023-08-01"),
        ("1690848000000000", "2023-08-01"),  # microseconds
        ("/Date(1690848000000)/", "2023-08-01"),  # .NET JSON
        ("/Date(1690848000000+0200)/", "2023-08-01"),
        ("99999999", None),  # too short for an epoch, not a date
    ],
)
def test_dates_as_feeds_write_them(value, iso):
    assert normalize_date(value) == iso


# -- ids and folders ---------------------------------------------------------------------------------
def test_same_file_name_in_two_folders_gives_two_ids(tmp_path):
    write(tmp_path / "kyiv" / "2023-05-01.txt", b"Title\n\nOne claim here.")
    write(tmp_path / "odesa" / "2023-05-01.txt", b"Title\n\nAnother claim here.")
    ids = [a.article_id for a in articles(read_sources([tmp_path / "kyiv", tmp_path / "odesa"]))]
    assert ids == ["kyiv/2023-05-01", "odesa/2023-05-01"]


def test_a_file_has_one_id_however_its_path_is_written(tmp_path, monkeypatch):
    path = write(tmp_path / "kyiv" / "a.txt", b"Title\n\nOne claim here.")
    monkeypatch.chdir(tmp_path)
    ways = [path, Path("kyiv/a.txt"), Path("kyiv/../kyiv/a.txt"), Path("kyiv")]
    assert {a.article_id for w in ways for a in articles(read_sources([w]))} == {"kyiv/a"}


def test_folder_walk_leaves_out_dataset_documentation(tmp_path):
    for name in ("README.md", "readme.txt", "LICENSE.md", "CHANGELOG.md", "data.jsonl"):
        write(tmp_path / "set" / name, b'{"text": "x"}\n')
    write(tmp_path / "set" / "sub" / "README.md", b"# About\n\nThis dataset holds ...")
    assert [p.name for p in iter_files([tmp_path / "set"])] == ["data.jsonl"]
    named = tmp_path / "set" / "README.md"
    assert list(iter_files([named])) == [named], "a file named on the command line is always read"
    assert {"readme", "license", "changelog"} <= DOC_NAMES


def test_unexpected_reader_error_costs_only_that_file(tmp_path, monkeypatch):
    def broken(f):
        yield from ()
        raise ImportError("lxml.html.clean module is now a separate project lxml_html_clean")

    monkeypatch.setitem(readers.READERS, ".html", broken)
    write(tmp_path / "in" / "a.html", b"<html><body><p>x</p></body></html>")
    write(tmp_path / "in" / "b.txt", b"Title\n\nThe brigade crossed the Dnipro.")
    items = list(read_sources([tmp_path / "in"]))
    assert [a.article_id for a in articles(items)] == ["in/b"]
    (p,) = problems(items)
    assert p.origin == str(tmp_path / "in" / "a.html")
    assert p.reason.startswith("cannot read file: unexpected ImportError (lxml.html.clean module")


@pytest.mark.parametrize(
    ("name", "head", "words"),
    [
        ("sheet.csv", b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", "Excel .xlsx"),
        ("report.txt", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\x00\x00", "extract its text first"),
        ("dump.jsonl", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", "rename it to end in .gz"),
        ("old.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", "old Office file"),
        ("db.json", b"SQLite format 3\x00\x10\x00\x01\x01", "SQLite database"),
        ("blob.txt", b"\x00\x01\x02\x03\x04\x05", "binary file, not text"),
    ],
)
def test_binary_file_says_what_it_is_and_the_fix(tmp_path, name, head, words):
    (p,) = list(read_file(write(tmp_path / name, head + b"\x00" * 64)))
    assert p.reason.startswith("binary file") and words in p.reason, p.reason
