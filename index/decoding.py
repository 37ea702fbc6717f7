"""Bytes of an input file -> text, as editors, spreadsheets, shells and scrapers write them.

Read, in this order: a byte-order mark (UTF-8, UTF-16 LE/BE as Excel's "Unicode Text" and Windows
PowerShell's ``>`` / ``Out-File`` write, UTF-32), then UTF-16 without a BOM when every other byte of
ASCII text is NUL, then UTF-8, then cp1252 (Windows editors and Excel's "CSV" save), then latin-1
(which reads every byte). Line endings ``\\r\\n`` (Windows) and a lone ``\\r`` (classic Mac OS,
Excel for Mac's CSV) become ``\\n``; nothing else is changed, because passage offsets are computed
into the text.
"""

from __future__ import annotations

import codecs
import re

from index.records import Problem

SNIFF_BYTES = 8192  # how much of a file is checked for NUL bytes and control characters
BINARY = "binary file, not text; convert it to UTF-8 text or leave it out"
# Bytes below 0x20 are the same control characters in UTF-8, cp1252 and latin-1, so they can be
# counted before decoding. Not \t \n \v \f \r.
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1f\x7f]")
_MOSTLY_CONTROL = 0.3
# Longest first: the UTF-32 LE mark begins with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_NEWLINES = re.compile(r"\r\n?")


def bom_encoding(head: bytes) -> tuple[str, int] | None:
    """``(encoding, BOM length)`` when ``head`` starts with a byte-order mark, else None."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding, len(bom)
    return None


def wide_encoding(head: bytes) -> str | None:
    """The UTF-16 or UTF-32 encoding of ``head`` (by its BOM, or by NUL bytes in BOM-less UTF-16), else None.

    Such text cannot be split into lines as bytes, and its NUL bytes are not a sign of a binary file.
    """
    found = bom_encoding(head)
    if found:
        return found[0] if found[0] != "utf-8" else None
    return _bomless_utf16(head)


def _bomless_utf16(head: bytes) -> str | None:
    """UTF-16 without a BOM (some exporters): ASCII text with a NUL in every other byte."""
    sample = head[: len(head) - len(head) % 2][:SNIFF_BYTES]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) == len(odd) and even.count(0) == 0:
        return "utf-16-le"
    if even.count(0) == len(even) and odd.count(0) == 0:
        return "utf-16-be"
    return None


def decode(data: bytes) -> tuple[str, str]:
    """Text (BOM stripped, line endings as they were) and the name of the encoding that read it.

    The name is ``utf-8``, ``utf-16-le``, ``utf-16-be``, ``utf-32-le``, ``utf-32-be``, ``cp1252``
    or ``latin-1``; only the last two are worth a warning (see :func:`needs_warning`).
    """
    found = bom_encoding(data)
    if found:
        encoding, skip = found
        return data[skip:].decode(encoding, errors="replace"), encoding
    if encoding := _bomless_utf16(data):
        return data.decode(encoding, errors="replace"), encoding
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1"  # every byte is a latin-1 character


def needs_warning(encoding: str) -> bool:
    """Whether the encoding was a guess (a legacy 8-bit code page), not declared or valid Unicode."""
    return encoding in ("cp1252", "latin-1")


def newlines(text: str) -> str:
    """``\\r\\n`` and a lone ``\\r`` -> ``\\n``."""
    return _NEWLINES.sub("\n", text) if "\r" in text else text


def encoding_warning(origin: str, encoding: str, where: str = "") -> Problem:
    return Problem(
        origin,
        f"not valid UTF-8; decoded as {encoding}{where}; re-save it as UTF-8 if characters look wrong",
        fatal=False,
    )


def is_binary(sniff: bytes) -> bool:
    """Whether the first bytes of a file are those of a binary file (NUL bytes, mostly control bytes)."""
    if wide_encoding(sniff):
        return False
    return b"\x00" in sniff or len(_CONTROL_BYTES.findall(sniff)) > _MOSTLY_CONTROL * len(sniff)


# What a binary file that users feed by mistake usually is, by its first bytes, and the fix.
_MAGIC = (
    (
        b"PK\x03\x04",
        "a ZIP archive (an Excel .xlsx or Word .docx file?); save it as CSV or text, or unzip it",
    ),
    (b"%PDF", "a PDF document; extract its text first (e.g. pdftotext) or leave it out"),
    (b"\x1f\x8b", "gzip-compressed without a .gz name; rename it to end in .gz"),
    (b"\xd0\xcf\x11\xe0", "an old Office file (.xls/.doc); save it as CSV or text"),
    (b"SQLite format 3\x00", "an SQLite database; export the table as CSV or JSON Lines"),
    (b"PAR1", "a Parquet file; export it as JSON Lines or CSV"),
)


def binary_reason(head: bytes) -> str:
    """The one-line message for a binary file: what it looks like and the fix."""
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return f"binary file: {what}"
    return BINARY


def clip(value: object, limit: int = 160) -> str:
    """One line of at most ``limit`` characters, for messages built from input data."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
