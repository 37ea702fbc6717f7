"""Numbers with units in a text, normalised: "three planes" -> 3 aircraft, "1,000 kilometers (620 miles)"
-> 1000 km, "nine times the speed of sound" -> Mach 9, "~300 tanks" (approx), "dozens of" (approx range
24..99), "killed 12" (casualties), "$1.2 billion" (1.2e9 USD).

Pure regular expressions, no model: :func:`find_numbers` is called once per passage. Numbers that are
part of a designation ("MiG-31", "S-400", "24/7"), years, clock times and the converted value in
parentheses right after another quantity ("(620 miles)") are not reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.intel import gazetteer

__all__ = ["Quantity", "find_numbers", "parse_number_words"]

_UNITS_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    "a dozen": 12, "dozen": 12, "a hundred": 100, "a thousand": 1000,
}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 10**9, "trillion": 10**12,
           "k": 1_000, "m": 1_000_000, "mn": 1_000_000, "bn": 10**9}  # fmt: skip
# "dozens of", "hundreds of": an approximate range.
_VAGUE = {"dozens": (24, 99), "scores": (40, 99), "hundreds": (200, 999), "thousands": (2_000, 9_999),
          "tens of thousands": (20_000, 99_999), "hundreds of thousands": (200_000, 999_999),
          "millions": (2_000_000, 9_999_999)}  # fmt: skip
_APPROX = (
    r"about|around|approximately|roughly|some|nearly|almost|up to|more than|over|at least|at most|"
    r"fewer than|less than|as many as|an estimated|estimated|close to|just over|just under|upwards of"
)

_APPROX = _APPROX.replace(" ", r"\s+")  # the big regex is VERBOSE: spaces must be explicit
_WORD = "|".join(sorted((re.escape(w) for w in _UNITS_WORDS), key=len, reverse=True))
_DIGITS = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_SCALE = r"hundred|thousand|million|billion|trillion|bn|mn|k\b|m\b"
# number: digits or words ("twenty-five", "1.2 billion", "three hundred")
_NUM = rf"(?:(?:{_DIGITS})|(?:(?:{_WORD})(?:[- ](?:{_WORD}))?))(?:\s*(?:{_SCALE}))*"
_VAGUE_RX = "|".join(sorted((re.escape(w) for w in _VAGUE), key=len, reverse=True))

# noun (plural or singular) -> (kind, unit)
_NOUNS: dict[str, tuple[str, str]] = {}
for _kind, _unit, _words in (
    ("aircraft", "aircraft", "planes plane jets jet aircraft warplanes warplane fighters fighter bombers bomber "
     "fighter-jets airplanes airplane interceptors interceptor fighter-bombers fighter-bomber airframes "
     "airframe gunships gunship"),
    ("aircraft", "helicopters", "helicopters helicopter choppers chopper rotorcraft"),
    ("drones", "drones", "drones drone UAVs UAV UASs UAS quadcopters quadcopter loitering-munitions"),
    ("missiles", "missiles", "missiles missile rockets rocket projectiles shells warheads interceptor-missiles"),
    ("vehicles", "tanks", "tanks tank"),
    ("vehicles", "vehicles", "vehicles vehicle APCs APC IFVs IFV armored armoured howitzers howitzer artillery "
     "launchers launcher"),
    ("ships", "ships", "ships ship warships warship vessels vessel submarines submarine boats frigates frigate "
     "corvettes corvette destroyers destroyer cruisers cruiser"),
    ("troops", "troops", "troops soldiers soldier servicemen personnel fighters militants mercenaries sailors "
     "marines paratroopers reservists conscripts"),
    ("people", "people", "people civilians children residents refugees prisoners journalists"),
):  # fmt: skip
    for _w in _words.split():
        _NOUNS[_w.lower()] = (_kind, _unit)
# Nouns that name no type ("three Iskander systems", "two Patriot units"): the gazetteer entity before
# them decides the kind; without one they stay a plain count.
_GENERIC = ("systems", "system", "units", "unit", "batteries", "battery", "pieces", "models", "examples")
for _w in _GENERIC:
    _NOUNS[_w] = ("count", None)  # type: ignore[assignment]
# gazetteer class -> (kind, unit) of a number right before an entity of that class ("three MiG-31s")
_CLASS_KIND: dict[str, tuple[str, str]] = {
    "aircraft": ("aircraft", "aircraft"), "helicopter": ("aircraft", "helicopters"),
    "drone": ("drones", "drones"), "missile": ("missiles", "missiles"), "tank": ("vehicles", "tanks"),
    "armoured_vehicle": ("vehicles", "vehicles"), "artillery": ("vehicles", "vehicles"),
    "rocket_artillery": ("vehicles", "vehicles"), "ship": ("ships", "ships"), "submarine": ("ships", "ships"),
}  # fmt: skip
# nouns whose kind an entity before them decides: "Patriot interceptors" are missiles, "MiG-31 interceptors"
# aircraft; "Su-25 fighters" aircraft, bare "fighters" troops
_AMBIGUOUS = {"interceptors": {"air_defence": ("missiles", "missiles")},
              "interceptor": {"air_defence": ("missiles", "missiles")}, "fighters": {}}  # fmt: skip
# between a number and its gazetteer entity: "of", "the", up to two modifiers ("three Russian MiG-31s")
# ("one million rounds of 155mm artillery": "rounds of" is no modifier, the rounds are not artillery)
_TO_ENTITY = re.compile(r"\s+(?:of\s+)?(?:the\s+)?(?:(?!of\b)[A-Za-z][\w-]*\s+){0,2}")
# words that part an entity from a later noun ("three MiG-31s carrying missiles"); plain modifiers do not
# ("two Zircon hypersonic cruise missiles")
_PARTING = re.compile(r"\b(?:\w+ing|\w+ed|with|and|or|to|from|at|in|on|of|for|by|as|which|that)\b", re.I)
_NOUN_RX = "|".join(sorted((re.escape(w) for w in _NOUNS), key=len, reverse=True))
_NOUN_AFTER = re.compile(rf"[\s-]+(?P<noun>{_NOUN_RX})\b", re.IGNORECASE)

_DIST = {"km": "km", "kilometers": "km", "kilometres": "km", "kilometer": "km", "kilometre": "km",
         "miles": "mi", "mile": "mi", "nautical miles": "nmi", "meters": "m", "metres": "m", "meter": "m",
         "metre": "m", "feet": "ft"}  # fmt: skip
_SPEED = {"km/h": "km/h", "kph": "km/h", "kilometers per hour": "km/h", "kilometres per hour": "km/h",
          "mph": "mph", "miles per hour": "mph", "knots": "kn"}  # fmt: skip
_CURRENCY_SYM = {"$": "USD", "€": "EUR", "£": "GBP", "₽": "RUB"}
_CURRENCY_WORD = {"dollars": "USD", "dollar": "USD", "euros": "EUR", "euro": "EUR", "pounds": "GBP",
                  "rubles": "RUB", "roubles": "RUB", "hryvnias": "UAH", "hryvnia": "UAH"}  # fmt: skip
_CASUALTY = r"killed|dead|died|deaths|wounded|injured|casualties|killing|wounding|injuring|perished"
_ADJ = r"(?:[A-Za-z][\w-]*\s+){0,3}?"  # up to three modifiers: "three Russian MiG-31 planes"

_RX = re.compile(
    rf"""
    (?P<approx>~\s*|(?:{_APPROX})\s+)?
    (?:
      (?P<vague>{_VAGUE_RX})\s+of
    | (?P<cur>[$€£₽])\s*(?P<mnum>{_NUM})
    | (?P<mach_num>{_NUM})\s+times\s+the\s+speed\s+of\s+sound
    | [Mm]ach\s+(?P<mach>\d+(?:\.\d+)?)
    | (?P<num>{_NUM})
    )
    (?:
      (?P<pct>\s*%|\s+per\s?cent\b)
    | \s*(?P<speed>km/h|kph|kilometers\ per\ hour|kilometres\ per\ hour|mph|miles\ per\ hour|knots)\b
    | [\s-]*(?P<dist>nautical\ miles|km|kilometers|kilometres|kilometer|kilometre|miles|mile|meters|metres|meter|metre|feet)\b
    | \s+(?P<curw>dollars|dollar|euros|euro|pounds|rubles|roubles|hryvnias|hryvnia)\b
    | \s+(?:of\s+)?{_ADJ}(?P<noun>{_NOUN_RX})\b(?:\s+(?:were|was|have\s+been|had\s+been|are)?\s*(?P<cas_after>{_CASUALTY})\b)?
    | \s+(?:were\s+|have\s+been\s+)?(?P<cas_bare>killed|dead|wounded|injured)\b
    )?
    """,
    re.VERBOSE | re.IGNORECASE,
)
_CASUALTY_BEFORE = re.compile(rf"\b(?:{_CASUALTY}|kills|death toll (?:of|at|rose to|to)|toll of)\s*$", re.I)
# "the death toll from the attack reached at least 112", "put the number of dead at around 400": a toll
# named earlier in the same sentence, no other number between
_TOLL_BEFORE = re.compile(
    r"\b(?:death toll|number of (?:the )?(?:dead|deaths|casualties|victims|fatalities))\b[^.;!?\d]{0,60}$",
    re.I,
)
_MONTHS = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_MONTH_AFTER = re.compile(rf"(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTHS}\b", re.I)
_MONTH_BEFORE = re.compile(rf"\b{_MONTHS}\.?\s+$", re.I)
_BLOCK_BEFORE = re.compile(r"(?:[\w/\-.,]|\d:)$")


@dataclass
class Quantity:
    """One normalised number in a text.

    Attributes:
        value: The number (``low`` of a vague range such as "dozens of").
        unit: Normalised unit: ``aircraft``, ``km``, ``Mach``, ``USD``, ``%``, ``tanks``... or None.
        kind: What is counted or measured: ``aircraft``, ``drones``, ``missiles``, ``vehicles``, ``ships``,
            ``troops``, ``people``, ``casualties``, ``distance``, ``speed``, ``money``, ``percent``, ``count``.
        approx: True for hedged or vague quantities ("about", "~", "up to", "dozens of").
        low, high: The range a vague quantity stands for, else both equal ``value``.
        text, start, end: The matched text and its character offsets in the searched text.
    """

    value: float
    unit: str | None
    kind: str
    approx: bool
    low: float
    high: float
    text: str
    start: int
    end: int


def parse_number_words(s: str) -> float | None:
    """``"1,000"`` -> 1000, ``"1.2 billion"`` -> 1.2e9, ``"twenty-five"`` -> 25, ``"three hundred"``
    -> 300, ``"a dozen"`` -> 12; None when ``s`` is not a number."""
    s = s.strip().lower().replace(",", "")
    if not s:
        return None
    total, current, seen = 0.0, 0.0, False
    for tok in re.findall(r"a dozen|a hundred|a thousand|[\d.]+|[a-z]+", s.replace("-", " ")):
        if re.fullmatch(r"\d+(?:\.\d+)?", tok):
            current += float(tok)
            seen = True
        elif tok in _UNITS_WORDS:
            current += _UNITS_WORDS[tok]
            seen = True
        elif tok in _SCALES and seen:
            scale = _SCALES[tok]
            if scale == 100:
                current *= 100
            else:
                total += current * scale
                current = 0.0
        else:
            return None
    return total + current if seen else None


def _num(v: float) -> float | int:
    return int(v) if float(v).is_integer() else v


def find_numbers(text: str) -> list[Quantity]:
    """Every quantity in ``text``, in order, offsets into ``text`` (see the module doc for what is kept)."""
    out: list[Quantity] = []
    mentions = _Mentions(text)
    for m in _RX.finditer(text):
        start = m.start()
        if out and start < out[-1].end:
            continue  # inside the entity of the quantity before ("5 Leopard 2 tanks")
        if m["approx"] is None and _BLOCK_BEFORE.search(text[:start]):
            continue  # part of a designation or a bigger token: "MiG-31", "S-400", "24/7"
        if re.match(r"[\w/-]|:\d", text[m.end() : m.end() + 2]) and not (
            m["noun"] or m["dist"] or m["speed"]
        ):
            continue  # "10:30", "24/7"
        approx = m["approx"] is not None
        kind, unit, low, high = "count", None, None, None
        if m["vague"]:
            low, high = _VAGUE[m["vague"].lower()]
            value, approx = float(low), True
            if m["noun"]:
                kind, unit = _NOUNS[m["noun"].lower()]
                kind = "casualties" if m["cas_after"] else kind
            kind, unit, end = _entity_kind(text, m, kind, unit, mentions)
            out.append(_q(text, start, end, value, unit, kind, approx, low, high))
            continue
        if m["mach_num"] or m["mach"]:
            value = parse_number_words(m["mach_num"] or m["mach"])
            if value is not None:
                out.append(_q(text, start, m.end(), value, "Mach", "speed", approx))
            continue
        raw = m["mnum"] or m["num"]
        value = parse_number_words(raw)
        if value is None:
            continue
        if m["cur"]:
            kind, unit = "money", _CURRENCY_SYM[m["cur"]]
        elif m["curw"]:
            kind, unit = "money", _CURRENCY_WORD[m["curw"].lower()]
        elif m["pct"]:
            kind, unit = "percent", "%"
        elif m["speed"]:
            kind, unit = "speed", _SPEED[m["speed"].lower()]
        elif m["dist"]:
            kind, unit = "distance", _DIST[m["dist"].lower()]
            if _after_paren_quantity(text, start, out):
                continue
        elif m["noun"]:
            kind, unit = _NOUNS[m["noun"].lower()]
            if m["cas_after"]:
                kind = "casualties"
        elif m["cas_bare"]:
            kind, unit = "casualties", "people"
        end = m.end()
        if m["num"] and not (m["dist"] or m["speed"] or m["pct"] or m["curw"] or m["cas_bare"]):
            kind, unit, end = _entity_kind(text, m, kind, unit, mentions)
        if kind in {"count", "people", "troops"} and (
            _CASUALTY_BEFORE.search(text[:start]) or _TOLL_BEFORE.search(text[:start])
        ):
            kind, unit = "casualties", unit or "people"
        bare = not (m["noun"] or m["dist"] or m["speed"] or m["pct"] or m["cur"] or m["curw"])
        if m["num"] and re.fullmatch(r"(1[89]|20)\d\d", raw.strip()):
            apart = m["noun"] and text[m.end("num") : m.start("noun")].strip()
            if bare or apart or _MONTH_BEFORE.search(text, 0, start):
                continue  # a year ("in 2011 killed", "Feb 2015 Suicide bomber"): the date stage owns it
        if bare and (
            _MONTH_AFTER.match(text, m.end("num") if m["num"] else m.end())
            or _MONTH_BEFORE.search(text, 0, start)
        ):
            continue  # the day of a date ("June 25", "22 May 2015"): the date stage owns it
        if m["num"] and raw.strip().lower() == "one" and re.match(r"\s+of\b", text[m.end("num") :]):
            continue  # "one of the planes"
        if kind == "count" and re.fullmatch(r"(?:one|a dozen|a hundred|a thousand)", raw.strip(), re.I):
            continue  # "one of the", "a thousand reasons": not a claimed count
        out.append(_q(text, start, end, value, unit, kind, approx))
    return out


class _Mentions:
    """The gazetteer mentions of a text, found on first use (most passages never need them)."""

    def __init__(self, text: str):
        self.text, self._found = text, None

    def after(self, pos: int) -> gazetteer.Mention | None:
        """The first mention that starts at or after ``pos``."""
        if self._found is None:
            self._found = gazetteer.find_mentions(self.text)
        return next((x for x in self._found if x.start >= pos), None)


def _entity_kind(text: str, m: re.Match, kind: str, unit: str | None, mentions: _Mentions):
    """``(kind, unit, end)`` of a count whose gazetteer entity follows the number ("three MiG-31s",
    "three MiG-31 interceptors", "two Iskander systems"): the entity's class decides when the noun is
    absent, generic or ambiguous, or when the noun is not the entity's ("three MiG-31s carrying
    missiles": 3 aircraft, the match then ends at the entity)."""
    num_end = m.end("num") if m["num"] else m.end("vague")
    after = None
    noun = m["noun"].lower() if m["noun"] else None
    hit = mentions.after(num_end)
    if (
        hit is None
        or (noun and hit.end > m.start("noun"))
        or not _TO_ENTITY.fullmatch(text, num_end, hit.start)
    ):
        return kind, unit, m.end()
    if noun is None and (after := _NOUN_AFTER.match(text, hit.end)):  # "5 Leopard 2 tanks"
        noun, kind, unit = after["noun"].lower(), *_NOUNS[after["noun"].lower()]
        if noun not in _AMBIGUOUS and kind != "count":
            return kind, unit, after.end()
    attached = noun is not None and (after is not None or not _PARTING.search(text, hit.end, m.start("noun")))
    end = after.end() if after else m.end()
    by_class = (_AMBIGUOUS.get(noun or "") or {}).get(hit.cls) or _CLASS_KIND.get(hit.cls)
    if attached and noun not in _AMBIGUOUS and kind != "count":
        return kind, unit, end  # "three MiG-31 jets": the noun says it
    if by_class is None:
        return (kind, unit, end) if attached else ("count", None, hit.end)
    if m["cas_after"] and attached:
        return "casualties", by_class[1], end
    return by_class[0], by_class[1], (end if attached else hit.end)


def _after_paren_quantity(text: str, start: int, found: list[Quantity]) -> bool:
    """True for the conversion in "1,000 kilometers (620 miles)": a distance right after an opening
    parenthesis that follows another distance."""
    before = text[:start].rstrip()
    return bool(before.endswith("(") and found and found[-1].kind == "distance" and
                start - found[-1].end <= 3)  # fmt: skip


def _q(text, start, end, value, unit, kind, approx, low=None, high=None) -> Quantity:
    while end > start and text[end - 1].isspace():
        end -= 1
    v = _num(value)
    return Quantity(
        value=v, unit=unit, kind=kind, approx=bool(approx), low=_num(low if low is not None else v),
        high=_num(high if high is not None else v), text=text[start:end], start=start, end=end,
    )  # fmt: skip
