"""The military gazetteer (``gazetteer.json``, versioned data with its sources): weapon systems, aircraft,
ships, missiles, air defence, rocket artillery, drones, vehicles, units and bases, each with aliases, a
canonical name and a class.

:func:`find_mentions` matches it over raw text with one compiled regular expression (longest alias first,
word-bounded, optional plural ``s``/``'s``), so it runs with or without spaCy; the pipeline puts its
matches in front of spaCy's NER (``index.intel.pipeline``).

``places.json`` (same format, its own version and sources) holds conflict geography (GPE, LOC) and
nationalities (NORP); :func:`places` compiles it and the pipeline applies it AFTER spaCy's NER, so a
known place is a place whatever spaCy said. Its ``not_entities`` (:func:`not_entities`) are surfaces spaCy
mistakes for names ("Mach").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PATH = Path(__file__).with_name("gazetteer.json")
PLACES_PATH = Path(__file__).with_name("places.json")


@dataclass(frozen=True)
class Mention:
    """A gazetteer hit: ``text[start:end]`` names ``canonical`` of class ``cls`` (``aircraft``, ``missile``...)."""

    text: str
    start: int
    end: int
    canonical: str
    cls: str


@dataclass(frozen=True)
class Gazetteer:
    version: str
    classes: tuple[str, ...]
    sensitive: re.Pattern[str] | None
    insensitive: re.Pattern[str] | None
    lookup: dict[str, tuple[str, str]]  # _key(alias) -> (canonical, class)


def _case_sensitive(alias: str) -> bool:
    return alias.isalpha() and any(c.isupper() for c in alias)


def _pattern(aliases: list[str], flags: int) -> re.Pattern[str] | None:
    if not aliases:
        return None
    alts = "|".join(re.escape(a).replace(r"\ ", r"[\s-]+") for a in sorted(aliases, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alts})(?:s|'s|’s)?(?![\w-])", flags)


@lru_cache(maxsize=4)
def load(path: str | None = None) -> Gazetteer:
    """The gazetteer at ``path`` (default: the shipped ``gazetteer.json``), compiled.

    Raises ``ValueError`` when an alias maps to two different canonical names.
    """
    data = json.loads(Path(path or PATH).read_text(encoding="utf-8"))
    lookup: dict[str, tuple[str, str]] = {}
    sensitive, insensitive = [], []
    for entry in data["entries"]:
        for alias in {entry["canonical"], *entry["aliases"]}:
            key = _key(alias)
            hit = (entry["canonical"], entry["class"])
            if lookup.get(key, hit) != hit:
                raise ValueError(f"gazetteer: alias {alias!r} names both {lookup[key]} and {hit}")
            lookup[key] = hit
            if _case_sensitive(alias):
                sensitive += [alias, alias.upper()]
            else:
                insensitive.append(alias)
    return Gazetteer(
        version=data["version"],
        classes=tuple(data["classes"]),
        sensitive=_pattern(sensitive, 0),
        insensitive=_pattern(insensitive, re.IGNORECASE),
        lookup=lookup,
    )


def places() -> Gazetteer:
    """The conflict-geography list (``places.json``), compiled; classes ``GPE``, ``LOC``, ``NORP``."""
    return load(str(PLACES_PATH))


@lru_cache(maxsize=1)
def not_entities() -> frozenset[str]:
    """Surfaces never kept as named entities (``places.json`` ``not_entities``: "Mach")."""
    return frozenset(json.loads(PLACES_PATH.read_text(encoding="utf-8")).get("not_entities", ()))


def _key(surface: str) -> str:
    """The lookup form of a surface or alias: lower case, hyphens and runs of spaces as one space,
    no possessive."""
    s = re.sub(r"[\s-]+", " ", surface.lower())
    for suffix in ("'s", "’s"):
        s = s.removesuffix(suffix)
    return s


def find_mentions(text: str, gazetteer: Gazetteer | None = None) -> list[Mention]:
    """Non-overlapping gazetteer mentions in ``text``, by start offset (the longer wins an overlap)."""
    gaz = gazetteer or load()
    found: list[Mention] = []
    for rx in (gaz.insensitive, gaz.sensitive):
        if rx is None:
            continue
        for m in rx.finditer(text):
            hit = _lookup(gaz, m.group())
            if hit:
                found.append(Mention(m.group(), m.start(), m.end(), *hit))
    found.sort(key=lambda x: (x.start, -(x.end - x.start)))
    out: list[Mention] = []
    for mention in found:
        if out and mention.start < out[-1].end:
            continue
        out.append(mention)
    return out


def _lookup(gaz: Gazetteer, surface: str) -> tuple[str, str] | None:
    key = _key(surface)
    return gaz.lookup.get(key) or (gaz.lookup.get(key[:-1]) if key.endswith("s") else None)
