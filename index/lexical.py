"""Write side of the Whoosh (BM25F) store: one document per passage, keyed by passage id."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.query import NumericRange

from index import whoosh_patch
from index.analysis import build_schema, metadata_field_name, metadata_value, source_key
from index.errors import IndexCorruptError
from index.impacts import sync_impacts


def parse_date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value[:10])
    except ValueError:
        return None


def passage_doc(pid: int, gen: int, p: Any, article: Any, context: str = "") -> dict[str, Any]:
    """The Whoosh document of one passage (``p``: Passage; ``article``: Article; ``context``: the
    text of the article's embedded fields other than the title)."""
    doc: dict[str, Any] = {
        "passage_id": str(pid),
        "pid": pid,
        "article_id": article.article_id,
        "gen": gen,
        "text": p.text,
        "title": article.title or "",
        "source": article.source or "",
        "source_id": source_key(article.source or ""),
        "url": article.url or "",
    }
    if context:
        doc["context"] = context
    date = parse_date(article.date)
    if date:
        doc["date"] = date
    for key, value in article.metadata.items():
        kw = metadata_value(value)
        if kw is not None:
            doc[metadata_field_name(key)] = kw
    return doc


def open_lexical(path: Path, create: bool = False):
    """Open (or create) the Whoosh index in ``path``."""
    whoosh_patch.apply()
    path = Path(path)
    try:
        if create and not whoosh_index.exists_in(str(path)):
            path.mkdir(parents=True, exist_ok=True)
            return whoosh_index.create_in(str(path), build_schema())
        return whoosh_index.open_dir(str(path))
    except Exception as e:  # noqa: BLE001 - Whoosh raises many kinds for a damaged folder
        raise IndexCorruptError(
            f"keyword store {path} is unreadable ({e.__class__.__name__}): run `claims repair`"
        ) from None


class LexicalWriter:
    """Buffers one batch of adds and deletes and commits them as one Whoosh generation."""

    def __init__(self, path: Path, create: bool = False):
        self.ix = open_lexical(path, create=create)
        self._writer = None

    @property
    def writer(self):
        if self._writer is None:
            self._writer = self.ix.writer(limitmb=256)
        return self._writer

    def add(self, docs: Iterable[dict[str, Any]]) -> None:
        w = self.writer
        for doc in docs:
            w.add_document(**doc)

    def delete(self, pids: Iterable[int]) -> None:
        w = self.writer
        for pid in pids:
            w.delete_by_term("passage_id", str(pid))

    def delete_generations_after(self, gen: int) -> int:
        """Remove documents an interrupted batch added (crash recovery)."""
        q = NumericRange("gen", gen + 1, None)
        with self.ix.searcher() as s:
            if not s.search(q, limit=1):
                return 0
        return self.writer.delete_by_query(q)

    def commit(self) -> None:
        if self._writer is not None:
            self._writer.commit()
            self._writer = None
            sync_impacts(self.ix)

    def cancel(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            self._writer = None
