"""Canonical names of speakers and organisations: the variants of one body get one ``name``.

"Russia's Defense Ministry", "Russian Defense Ministry", "the Russian Ministry of Defence" and
"Ministry of Defense of the Russian Federation" all become ``Russian Defense Ministry``:

* a leading "the" and a trailing possessive go; curly apostrophes are straight; runs of spaces one;
* British spellings take the American form (``Defence`` -> ``Defense``, ``Organisation``,
  ``Centre``, ``Programme``, ``Armoured``);
* "Ministry of X" / "Department of X" -> "X Ministry" / "X Department" ("Foreign Affairs" ->
  "Foreign", "Internal Affairs" -> "Interior"); a trailing "of COUNTRY" becomes the prefix;
* a possessive country ("Russia's", "the UK's") or a nationality adjective ("Russian") in front
  becomes the nationality (``places.json``: each NORP entry's ``country``; ``name_prefix`` overrides
  it: "U.S."); an abbreviated country in front ("US", "U.K.") too;
* a lower-case office ("the defence ministry") is title-cased.

What this module cannot know from the name alone, :class:`OrgName` says: ``deictic`` ("the
country's Defense Ministry": the prefix is the country the article names) and ``office`` (a bare
"the ministry" / "the Defense Ministry": one of the article's named ministries). The extraction stage
(``index.intel.pipeline``) resolves them against the article, as it resolves pronoun speakers.
Pure functions over strings; no spaCy.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache

from index.intel.gazetteer import PLACES_PATH

_SPELLING = {
    "defence": "defense",
    "organisation": "organization",
    "centre": "center",
    "programme": "program",
    "armoured": "armored",
    "offence": "offense",
}
_SPELLING_RX = re.compile(r"\b(" + "|".join(_SPELLING) + r")\b", re.I)
_SUBJECTS = {"foreign affairs": "Foreign", "internal affairs": "Interior"}
_OFFICE_HEADS = ("Ministry", "Department")
_MINISTRY_OF = re.compile(r"^(?P<head>Ministry|Department) of (?:the )?(?P<subject>.+?)$", re.I)
_DEICTIC = re.compile(r"^(?:the )?(?:country|nation)'s? (?P<rest>\S.*)$", re.I)


@dataclass(frozen=True)
class OrgName:
    """A speaker's or organisation's name, split.

    Attributes:
        prefix: The nationality in front (``"Russian"``, ``"U.S."``), or None.
        body: The rest (``"Defense Ministry"``).
        deictic: The name said "the country's"/"the nation's": the prefix is the article's country.
        office: ``body`` is a bare office ("Ministry", "Defense Ministry") with no prefix: the article's
            named ministry it refers to, when there is one.
    """

    prefix: str | None
    body: str
    deictic: bool = False

    @property
    def office(self) -> bool:
        return self.prefix is None and self.body.split()[-1:] in ([h] for h in _OFFICE_HEADS)

    @property
    def name(self) -> str:
        """The canonical name (``prefix body``; ``body`` alone when no prefix is known)."""
        return f"{self.prefix} {self.body}" if self.prefix else self.body


@lru_cache(maxsize=1)
def _countries() -> tuple[dict[str, tuple[str, bool]], dict[str, str]]:
    """``(surface -> (prefix, is a nationality adjective), canonical country -> prefix)``: every alias of
    a linked country and every nationality adjective (``places.json``), lower-cased."""
    data = json.loads(PLACES_PATH.read_text(encoding="utf-8"))
    prefix_of = {
        e["country"]: e.get("name_prefix", e["canonical"])
        for e in data["entries"]
        if e["class"] == "NORP" and e.get("country")
    }
    surfaces: dict[str, tuple[str, bool]] = {}
    for e in data["entries"]:
        if e["class"] == "NORP" and e.get("country"):
            for a in {e["canonical"], *e["aliases"]}:
                surfaces[a.lower()] = (prefix_of[e["country"]], True)
        elif e["canonical"] in prefix_of:
            for a in {e["canonical"], *e["aliases"]}:
                surfaces[a.lower()] = (prefix_of[e["canonical"]], False)
    return surfaces, prefix_of


def country_prefix(country: str) -> str | None:
    """The name prefix of a country or nationality (``Russia``/``Russian`` -> ``Russian``,
    ``United States``/``U.S.``/``American`` -> ``U.S.``), or None when ``places.json`` does not link it."""
    surfaces, prefix_of = _countries()
    hit = surfaces.get(country.strip().lower())
    return prefix_of.get(country) or (hit[0] if hit else None)


def _clean(text: str) -> str:
    t = " ".join(text.replace("’", "'").replace("‘", "'").split())
    t = re.sub(r"^the\s+", "", t, flags=re.I)
    return re.sub(r"(?:'s|')$", "", t).strip()


def _spelling(text: str) -> str:
    def american(m: re.Match) -> str:
        word = _SPELLING[m.group().lower()]
        return word.capitalize() if m.group()[0].isupper() else word

    return _SPELLING_RX.sub(american, text)


def _split_prefix(text: str) -> tuple[str | None, str]:
    """``("Russian", "Defense Ministry")`` from "Russia's Defense Ministry", "Russian Defense Ministry",
    "the UK's ..." or "US ..."; ``(None, text)`` when no linked country leads."""
    surfaces, _ = _countries()
    words = text.split(" ")
    for n in (4, 3, 2, 1):  # the longest country first: "United States of America's"
        if len(words) <= n:
            continue
        head = " ".join(words[:n])
        possessive = re.sub(r"(?:'s|')$", "", head)
        hit = surfaces.get(possessive.lower())
        if possessive != head and hit:
            return hit[0], " ".join(words[n:])
        # a possessive that lost its apostrophe ("Russias Ministry of Defence", as some corpora print it)
        hit = surfaces.get(head.lower()[:-1]) if head.endswith("s") else None
        if hit and not hit[1] and head[0].isupper():
            return hit[0], " ".join(words[n:])
        # an adjective ("Russian") or an abbreviated country ("US", "U.K.") in front, never a bare
        # country name ("Russia Today" is a name of its own)
        hit = surfaces.get(head.lower())
        if hit and (hit[1] or "." in head or head.isupper()):
            return hit[0], " ".join(words[n:])
    return None, text


def _office(body: str) -> tuple[str | None, str]:
    """ "Ministry of Defense of Russia" -> ``("Russian", "Defense Ministry")``; a lower-case office
    ("defense ministry") is title-cased; anything else is returned as is."""
    m = _MINISTRY_OF.match(body)
    prefix = None
    if m:
        subject = m["subject"]
        tail = re.search(r" of (?:the )?(?P<c>[\w. ]+)$", subject)
        if tail and country_prefix(tail["c"]):
            prefix, subject = country_prefix(tail["c"]), subject[: tail.start()]
        subject = _SUBJECTS.get(subject.lower(), subject)
        body = f"{subject} {m['head'].capitalize()}"
    words = body.split(" ")
    if (
        len(words) <= 4
        and words[-1].lower() in {h.lower() for h in _OFFICE_HEADS}
        and all(w.isalpha() for w in words)
    ):
        body = " ".join(w if w[0].isupper() else w.capitalize() for w in words)
    return prefix, body


def parse_org(text: str) -> OrgName:
    """Split a speaker or organisation name into its canonical parts (see the module docstring).

    ``parse_org(x).name`` is the canonical name when nothing needs the article's context; an empty
    or blank ``text`` gives ``OrgName(None, "")``.
    """
    t = _spelling(_clean(text))
    deictic = _DEICTIC.match(t)
    if deictic:
        t = deictic["rest"]
    prefix, body = _split_prefix(t)
    of_prefix, body = _office(body)
    return OrgName(prefix or of_prefix, body, deictic=bool(deictic) and not (prefix or of_prefix))


def canonical_name(text: str) -> str:
    """The canonical name of ``text`` without the article's context ("the country's Defense Ministry"
    -> "Defense Ministry"): for query values and comparisons."""
    return parse_org(text).name
