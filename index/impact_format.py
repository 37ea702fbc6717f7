"""The impact arrays' on-disk format: each Whoosh segment's postings as numpy arrays.

Layout: ``<lexical>/impacts/<segment id>/`` per Whoosh segment (segments never change once written;
deletions stay in Whoosh's table of contents and are read from there):

* ``meta.json``: format, doc count, fields, sources (the code table of ``source.npy``);
* ``<field>.keys.npy`` (int64, sorted): the term's offset in the segment's postings file, which is
  what Whoosh's own term lookup returns; ``<field>.offsets.npy`` (int64, nterms + 1);
  ``<field>.docs.npy`` (int32, segment docnums), ``<field>.weights.npy`` (float32, Whoosh's stored
  weight: frequency x field boost); ``<field>.lengths.npy`` (float32 per doc, Whoosh's byte-rounded
  field length, the one BM25F uses);
* ``pids.npy`` (int64 per doc), ``date.npy`` (int64, Whoosh's date long; ``NO_DATE`` when none),
  ``source.npy`` (int32 code per doc, -1 when none).

``index.impacts`` writes them; ``search.impacts`` ranks over them, loading them with ``load_segment``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

IMPACT_DIR = "impacts"
FORMAT = 2
FIELDS = ("text", "title", "context")  # the text fields bare words search (search.query.DEFAULT_FIELDS)
FIELD_PARTS = ("keys", "offsets", "docs", "weights", "lengths")
NO_DATE = np.iinfo(np.int64).min


class ImpactFormatError(ValueError):
    """A segment's arrays are of another format or another segment (the searcher falls back to Whoosh)."""


def read_meta(folder: Path) -> dict[str, Any]:
    """The ``meta.json`` of one segment folder. Raises ``OSError`` or ``ValueError`` when unreadable."""
    return json.loads((Path(folder) / "meta.json").read_text(encoding="utf-8"))


def is_current(folder: Path) -> bool:
    """Does ``folder`` hold complete arrays of this ``FORMAT``?"""
    try:
        return read_meta(folder).get("format") == FORMAT
    except (OSError, ValueError):
        return False


@dataclass
class SegmentArrays:
    """One segment's arrays, memory-mapped read-only. ``fields[f]``: ``(keys, offsets, docs, weights,
    lengths)`` of text field ``f`` (``FIELD_PARTS``); ``pids``, ``date``, ``source``: one entry a doc."""

    meta: dict[str, Any]
    fields: dict[str, tuple[np.ndarray, ...]]
    pids: np.ndarray
    date: np.ndarray
    source: np.ndarray

    @property
    def source_codes(self) -> dict[str, int]:
        """Source key -> its code in ``source``."""
        return {s: i for i, s in enumerate(self.meta["sources"])}


def load_segment(folder: Path, doc_count: int) -> SegmentArrays:
    """Memory-map the arrays of the segment folder ``folder``, whose segment holds ``doc_count`` docs.

    Raises:
        ImpactFormatError: another format, or arrays of a segment with another doc count.
        OSError, ValueError: a missing or unreadable file.
    """
    folder = Path(folder)
    meta = read_meta(folder)
    if meta.get("format") != FORMAT or meta.get("doc_count") != doc_count:
        raise ImpactFormatError(f"impact arrays in {folder} do not match their segment")

    def load(name: str) -> np.ndarray:
        return np.load(folder / name, mmap_mode="r")

    fields = {f: tuple(load(f"{f}.{part}.npy") for part in FIELD_PARTS) for f in FIELDS}
    return SegmentArrays(meta, fields, load("pids.npy"), load("date.npy"), load("source.npy"))
