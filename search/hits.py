"""The Hit record and its JSON Lines schema (stable: add fields, never rename or remove).

JSON Lines schema of ``claims search --json`` (one object a line, best first)::

    passage_id   int      join key across catalog, Whoosh and FAISS
    article_id   str      the article's stable id
    rank         int      1-based rank in this result list
    score        float    the score the list is sorted by (fused score in hybrid mode)
    scores       object   per-leg raw scores, e.g. {"keyword": 12.3, "semantic": 0.71} ("date" with --around)
    ranks        object   per-leg 1-based ranks, e.g. {"keyword": 1, "semantic": 4}
    text         str      the passage text (== article text[start:end])
    title        str      article title
    date         str|null ISO 8601 date of the article
    source       str      outlet / collection
    url          str      link to the original, or ""
    start, end   int      character offsets of the passage in the article text
    highlights   [[int,int]...]  offsets of matched words inside ``text``
    metadata     object   the article's other fields
    cluster      object|null  {"size", "sources", "first_seen", "first_seen_passage_id", "members", "conflicts"}
                              when results are clustered (``conflicts``: ``search.clusters.conflicts``)

Claim features (``index.intel``, extracted at ingest; all null / empty when the index has none for
the passage, e.g. ingested with ``--no-extract`` before a ``claims reindex``). Every span carries
``text``, ``start``, ``end``: character offsets into the ARTICLE text, like ``start``/``end``::

    speaker      object|null  {"text", "start", "end", "name", "pronoun"}: who the claim is attributed to
                              (``name``: the named speaker, a pronoun resolved when unambiguous, or null)
    cue          object|null  {"text", "start", "end"}: "said", "told reporters", "according to"...
    mode         str|null     "quote", "reported" or "assertion" (the outlet's own)
    hedged       bool|null    "reportedly", "allegedly", unnamed sources...
    entities     [object]     {"text", "start", "end", "label", "canonical"}; label: PERSON ORG GPE LOC
                              NORP FAC or a gazetteer class (aircraft, missile, base...)
    numbers      [object]     {"text", "start", "end", "value", "unit", "kind", "approx", "low", "high"}
    event_date   object|null  {"text", "start", "end", "date_start", "date_end", "granularity"} (ISO dates,
                              resolved against the article date; kept apart from ``date``)
    checkworthy  float|null   probability in [0, 1] that the passage holds a claim worth checking
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

FEATURE_FIELDS = ("speaker", "cue", "mode", "hedged", "entities", "numbers", "event_date", "checkworthy")


@dataclass
class Hit:
    """One ranked passage with its provenance."""

    passage_id: int
    article_id: str = ""
    rank: int = 0
    score: float = 0.0
    scores: dict[str, float] = field(default_factory=dict)
    ranks: dict[str, int] = field(default_factory=dict)
    text: str = ""
    title: str = ""
    date: str | None = None
    source: str = ""
    url: str = ""
    start: int = 0
    end: int = 0
    highlights: list[tuple[int, int]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    cluster: dict[str, Any] | None = None
    speaker: dict[str, Any] | None = None
    cue: dict[str, Any] | None = None
    mode: str | None = None
    hedged: bool | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    numbers: list[dict[str, Any]] = field(default_factory=list)
    event_date: dict[str, Any] | None = None
    checkworthy: float | None = None

    def set_features(self, features: dict[str, Any] | None) -> None:
        """Fill the claim-feature fields from a stored ``ClaimFeatures.to_dict()`` (None: leave empty)."""
        if not features:
            return
        for name in FEATURE_FIELDS:
            setattr(self, name, features.get(name))
        self.entities = self.entities or []
        self.numbers = self.numbers or []

    def to_dict(self) -> dict[str, Any]:
        """The JSON Lines object documented in this module's docstring."""
        d = asdict(self)
        d["highlights"] = [list(h) for h in self.highlights]
        return d
