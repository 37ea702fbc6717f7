"""The records the claim-intelligence stage returns: plain dataclasses, JSON-serialisable with
:meth:`ClaimFeatures.to_dict` (every offset is a Python character offset into the ARTICLE text, like
passages' ``start``/``end``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

MODES = ("quote", "reported", "assertion")
PLACE_LABELS = ("GPE", "LOC", "FAC", "base")


class PassageLike(Protocol):
    """Anything with ``start``, ``end`` (offsets into the article text) and ``text``
    (``index.records.Passage`` is one)."""

    start: int
    end: int
    text: str


@dataclass
class Span:
    """``article_text[start:end] == text``."""

    text: str
    start: int
    end: int


@dataclass
class Speaker(Span):
    """Who a passage's claim is attributed to.

    Attributes:
        name: The named speaker: the span itself, or for a pronoun ("he said") the nearest named speaker
            in the article when that is unambiguous, else None.
        pronoun: True when the span is a pronoun.
    """

    name: str | None = None
    pronoun: bool = False


@dataclass
class Entity(Span):
    """A named entity. ``label``: spaCy's PERSON, ORG, GPE, LOC, NORP, FAC, or a gazetteer class
    (``aircraft``, ``missile``, ``air_defence``, ``rocket_artillery``, ``drone``, ``tank``, ``ship``,
    ``base``...). ``canonical``: the gazetteer's canonical name, or the full name seen in the article
    ("Putin" -> "Vladimir Putin"), else the text without a leading "the" or a possessive."""

    label: str = ""
    canonical: str = ""


@dataclass
class Number(Span):
    """A normalised quantity (see ``index.intel.numbers.Quantity`` for ``kind`` and ``unit``)."""

    value: float = 0.0
    unit: str | None = None
    kind: str = "count"
    approx: bool = False
    low: float = 0.0
    high: float = 0.0


@dataclass
class EventDate(Span):
    """When the reported event happened: ``date_start``..``date_end`` (ISO, inclusive), resolved against
    the article's publish date (kept apart from it). ``granularity``: day, week, month, part, year."""

    date_start: str = ""
    date_end: str = ""
    granularity: str = "day"


@dataclass
class ClaimFeatures:
    """What the extraction stage reads into one passage.

    Attributes:
        start, end: The passage's offsets in the article text.
        speaker: Source of the (first) attribution, or None for the outlet's own assertion.
        cue: The cue span ("said", "told reporters", "according to"), or None.
        content: The attributed content span, or None.
        mode: ``quote`` (direct quotation), ``reported`` (reported speech) or ``assertion``.
        hedged: True when ``hedges`` is not empty ("reportedly", "allegedly", unnamed sources...).
        hedges: The hedge cues found.
        entities: People, organisations, places, nationalities and gazetteer hits, by offset.
        numbers: Normalised quantities, by offset.
        event_date: The first date expression (a day or a range), or None.
        dates: Every date expression found.
        checkworthy: Probability in [0, 1] that the passage holds a claim worth checking (None when not
            scored).
    """

    start: int
    end: int
    speaker: Speaker | None = None
    cue: Span | None = None
    content: Span | None = None
    mode: str = "assertion"
    hedged: bool = False
    hedges: list[Span] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    numbers: list[Number] = field(default_factory=list)
    event_date: EventDate | None = None
    dates: list[EventDate] = field(default_factory=list)
    checkworthy: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``json.dumps`` works on it as is)."""
        return asdict(self)

    def places(self) -> list[str]:
        """Canonical names of the place entities (GPE, LOC, FAC and gazetteer bases)."""
        return [e.canonical for e in self.entities if e.label in PLACE_LABELS]
