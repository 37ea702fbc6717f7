"""Open the Whoosh store read-only (the writer lives in ``index.lexical``)."""

from __future__ import annotations

from pathlib import Path

from index import whoosh_patch
from index.errors import IndexCorruptError


def open_lexical_readonly(path: Path):
    """``(index, searcher)``: the searcher is opened here, once, because opening it reads every segment
    (a damaged one shows here, not mid-query) and at 1M passages costs ~0.4 s: callers keep and reuse it."""
    from whoosh import index as whoosh_index

    whoosh_patch.apply()
    try:
        ix = whoosh_index.open_dir(str(path), readonly=True)
        return ix, ix.searcher()
    except Exception as e:  # noqa: BLE001 - Whoosh raises many kinds for a damaged folder
        raise IndexCorruptError(
            f"keyword store {path} is unreadable ({e.__class__.__name__}): run `claims repair --index {path.parent}`"
        ) from None


def pid_column(reader):
    """The ``pid`` column of a Whoosh reader: docnum -> passage id (empty when the store has no documents).

    A store without segments (nothing ingested yet, or everything deleted) has an ``EmptyReader``,
    whose ``column_reader`` raises ``NotImplementedError`` instead of returning an empty column.
    """
    return reader.column_reader("pid") if reader.has_column("pid") else {}
