"""Plain records passed between ingest stages.

The stages are pure functions over batches (files -> articles -> passages -> vectors), so that
a Ray ``map_batches`` can later run each one on many nodes. Records are plain dataclasses that
pickle cheaply and convert to dicts with ``dataclasses.asdict``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldMap:
    """Which field of a JSON or CSV record holds each ``Article`` attribute."""

    id: str = "id"
    text: str = "text"
    title: str = "title"
    date: str = "date"
    source: str = "source"
    url: str = "url"


@dataclass
class Article:
    """One article as read from an input file.

    Attributes:
        article_id: Stable id: the record's id field, else ``<folder name>/<file stem>`` (with
            ``-<line>`` or ``-<index>`` for a record of a JSON Lines, CSV or JSON array file).
        text: The article body; passages are offsets into exactly this string.
        title: Headline (its own field, never a passage).
        date: ISO 8601 date ``YYYY-MM-DD`` (or full timestamp ``YYYY-MM-DDTHH:MM:SS``), or None.
        source: Outlet or collection name.
        url: Link to the original, or "".
        metadata: Every other field of the record, kept and filterable.
        origin: Where it came from (``path`` or ``path:line``), for messages and provenance.
    """

    article_id: str
    text: str
    title: str = ""
    date: str | None = None
    source: str = ""
    url: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    origin: str = ""

    def content_hash(self) -> str:
        """Hash of everything that is indexed: re-ingesting the same content is a no-op."""
        h = hashlib.sha1()
        for part in (self.text, self.title, self.date or "", self.source, self.url):
            h.update(part.encode("utf-8", "surrogatepass"))
            h.update(b"\x00")
        h.update(repr(sorted(self.metadata.items())).encode("utf-8", "surrogatepass"))
        return h.hexdigest()


@dataclass
class Passage:
    """A claim-sized span of an article: ``article.text[start:end] == text``."""

    start: int
    end: int
    text: str


@dataclass
class Dropped:
    """A span that was not indexed, and why (``caption``, ``comment-request``, ``byline``...)."""

    start: int
    end: int
    text: str
    reason: str


@dataclass
class Problem:
    """A bad input (file or record) that was skipped: one line naming the file and the reason."""

    origin: str
    reason: str
    fatal: bool = True  # False for warnings (e.g. decoded as cp1252): the record still goes in

    def __str__(self) -> str:
        return f"{self.origin}: {self.reason}"


def text_hash(text: str) -> str:
    """The key under which a passage's embedding is cached (same text, same model: never re-embedded)."""
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()
