"""Event dates: date expressions in a text resolved against the article's publish date.

"on Thursday" -> the latest Thursday on or before the article date (news reports the past),
"last week" -> Monday..Sunday of the week before, "early next year" -> January..April of the next year,
"In 2018" -> 2018-01-01..2018-12-31, "on March 3" -> March 3 of the latest year not after the article
date, "July 20, 2021" -> that day. Each :class:`EventDate` is a day or an inclusive range, kept apart from
the publish date. Pure regular expressions and ``datetime``.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

__all__ = ["EventDate", "find_dates", "parse_article_date"]

_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december"]  # fmt: skip
_MON = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_WD = "|".join(_WEEKDAYS)
_PART = (
    r"(?:early|earlier|late|later|mid|the\s+end\s+of|the\s+beginning\s+of|the\s+start\s+of|the\s+middle\s+of)"
)

_RX = re.compile(
    rf"""
      (?P<mdy>\b(?P<m1>{_MON})\.?\s+(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<y1>\d{{4}}))?\b)
    | (?P<dmy>\b(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m2>{_MON})\b\.?(?:,?\s+(?P<y2>\d{{4}}))?)
    | (?P<iso>\b(?P<y3>\d{{4}})-(?P<m3>\d{{2}})-(?P<d3>\d{{2}})\b)
    | (?P<rel>\b(?:(?P<rpart>{_PART})[-\s]+)?(?P<rdir>last|this|next|past|coming)\s+(?P<runit>week|month|year|weekend)\b)
    | (?P<relyear>\b(?P<ypart>early|earlier|late|later|mid)[-\s]+(?:this|that)\s+year\b)
    | (?P<wd>\b(?:(?P<wdir>last|this|next|on|past)\s+)?(?P<wday>{_WD})\b)
    | (?P<day>\b(?P<dword>today|yesterday|tomorrow|tonight)\b)
    | (?P<ago>\b(?P<n>\d+|a|one|two|three|four|five|six|seven|eight|nine|ten)\s+(?P<agounit>days?|weeks?|months?|years?)\s+ago\b)
    | (?P<monyear>\b(?:(?P<mpart>{_PART})[-\s]+)?(?P<m4>{_MON})\.?(?:\s+of)?\s+(?P<y4>\d{{4}})\b)
    | (?P<month>\b(?:in|since|until|by|during|from|(?P<mopart>early|late|mid|end\s+of|beginning\s+of|start\s+of|middle\s+of))[-\s]+(?P<m5>{_MON})\b(?!\s+\d))
    | (?P<year>\b(?:(?P<yp>{_PART})[-\s]+)?(?:in|since|by|until|during|of|from)?\s*(?<![-\w/])(?P<y5>(?:19|20)\d\d)\b(?![-/]\d))
    """,
    re.VERBOSE | re.IGNORECASE,
)
_SMALL = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
          "eight": 8, "nine": 9, "ten": 10}  # fmt: skip


@dataclass
class EventDate:
    """A resolved date expression.

    Attributes:
        start, end: ISO ``YYYY-MM-DD``, inclusive; equal for a single day.
        granularity: ``day``, ``week``, ``month``, ``part`` (part of a month or year), ``year``.
        text, offset_start, offset_end: The expression and its character offsets in the searched text.
    """

    start: str
    end: str
    granularity: str
    text: str
    offset_start: int
    offset_end: int


def parse_article_date(value: str | date | datetime | int | float | None) -> date | None:
    """The article's publish date from ISO text (``2022-08-19``, ``2022-08-19T04:48:14``), a ``date``,
    or a Unix timestamp (the seeds' header line); None when absent or unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) or (isinstance(value, str) and re.fullmatch(r"\d{9,11}", value)):
        return datetime.fromtimestamp(int(value), UTC).date()
    m = re.match(r"(\d{4})-(\d{2})-(\d{2})", str(value))
    if not m:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def _month(name: str) -> int:
    return next(i for i, full in enumerate(_MONTHS, 1) if full.startswith(name.lower().rstrip(".")[:3]))


def _month_range(y: int, m: int) -> tuple[date, date]:
    return date(y, m, 1), date(y, m, calendar.monthrange(y, m)[1])


def _part(span: tuple[date, date], part: str | None) -> tuple[date, date, bool]:
    """Narrow a month or year range to its early / mid / late third; the flag says it was narrowed."""
    if not part:
        return span[0], span[1], False
    p = part.lower()
    a, b = span
    days = (b - a).days + 1
    third = days // 3
    if p.startswith(("early", "the beginning", "the start")):
        return a, a + timedelta(days=third - 1), True
    if p.startswith(("late", "the end")):
        return b - timedelta(days=third - 1), b, True
    if p.startswith(("mid", "the middle")):
        return a + timedelta(days=third), b - timedelta(days=third), True
    return a, b, False  # "earlier", "later": the whole period


def _resolve(m: re.Match, ref: date) -> tuple[date, date, str] | None:
    g = m.groupdict()
    try:
        if g["mdy"] or g["dmy"]:
            mon, d, y = (g["m1"], g["d1"], g["y1"]) if g["mdy"] else (g["m2"], g["d2"], g["y2"])
            mo = _month(mon)
            if y:
                day = date(int(y), mo, int(d))
            else:
                day = date(ref.year, mo, int(d))
                if day > ref + timedelta(days=7):  # "on December 30" in a January article: last year
                    day = date(ref.year - 1, mo, int(d))
            return day, day, "day"
        if g["iso"]:
            day = date(int(g["y3"]), int(g["m3"]), int(g["d3"]))
            return day, day, "day"
        if g["rel"]:
            step = {"last": -1, "past": -1, "this": 0, "next": 1, "coming": 1}[g["rdir"].lower()]
            unit = g["runit"].lower()
            if unit in {"week", "weekend"}:
                monday = ref - timedelta(days=ref.weekday()) + timedelta(weeks=step)
                if unit == "weekend":
                    sat = monday + timedelta(days=5)
                    return sat, sat + timedelta(days=1), "week"
                return monday, monday + timedelta(days=6), "week"
            if unit == "month":
                y, mo = divmod(ref.year * 12 + ref.month - 1 + step, 12)
                a, b, narrowed = _part(_month_range(y, mo + 1), g["rpart"])
                return a, b, "part" if narrowed else "month"
            y = ref.year + step
            if step == 0 and (g["rpart"] or "").lower() in {"earlier", "later"}:
                return (
                    (date(y, 1, 1), ref, "part")
                    if g["rpart"].lower() == "earlier"
                    else (ref, date(y, 12, 31), "part")
                )
            a, b, narrowed = _part((date(y, 1, 1), date(y, 12, 31)), g["rpart"])
            return a, b, "part" if narrowed else "year"
        if g["relyear"]:
            p = g["ypart"].lower()
            if p == "earlier":
                return date(ref.year, 1, 1), ref, "part"
            if p == "later":
                return ref, date(ref.year, 12, 31), "part"
            a, b, _ = _part((date(ref.year, 1, 1), date(ref.year, 12, 31)), p)
            return a, b, "part"
        if g["wd"]:
            target = _WEEKDAYS.index(g["wday"].lower())
            direction = (g["wdir"] or "").lower()
            if direction == "next":
                delta = (target - ref.weekday()) % 7 or 7
                day = ref + timedelta(days=delta)
            else:
                delta = (ref.weekday() - target) % 7
                if direction in {"last", "past"} and delta == 0:
                    delta = 7
                day = ref - timedelta(days=delta)
            return day, day, "day"
        if g["day"]:
            shift = {"today": 0, "tonight": 0, "yesterday": -1, "tomorrow": 1}[g["dword"].lower()]
            day = ref + timedelta(days=shift)
            return day, day, "day"
        if g["ago"]:
            n = int(g["n"]) if g["n"].isdigit() else _SMALL[g["n"].lower()]
            unit = g["agounit"].lower().rstrip("s")
            if unit == "day":
                day = ref - timedelta(days=n)
                return day, day, "day"
            if unit == "week":
                monday = ref - timedelta(days=ref.weekday(), weeks=n)
                return monday, monday + timedelta(days=6), "week"
            if unit == "month":
                y, mo = divmod(ref.year * 12 + ref.month - 1 - n, 12)
                a, b = _month_range(y, mo + 1)
                return a, b, "month"
            return date(ref.year - n, 1, 1), date(ref.year - n, 12, 31), "year"
        if g["monyear"]:
            a, b, narrowed = _part(_month_range(int(g["y4"]), _month(g["m4"])), g["mpart"])
            return a, b, "part" if narrowed else "month"
        if g["month"]:
            mo = _month(g["m5"])
            y = ref.year if mo <= ref.month else ref.year - 1  # "in April" in an August article: this April
            part = g["mopart"] and ("the " + g["mopart"] if " of" in g["mopart"] else g["mopart"])
            a, b, narrowed = _part(_month_range(y, mo), part)
            return a, b, "part" if narrowed else "month"
        if g["year"]:
            y = int(g["y5"])
            a, b, narrowed = _part((date(y, 1, 1), date(y, 12, 31)), g["yp"])
            return a, b, "part" if narrowed else "year"
    except (ValueError, StopIteration):
        return None
    return None


def find_dates(text: str, article_date: str | date | datetime | None) -> list[EventDate]:
    """Every date expression of ``text`` resolved against ``article_date`` (see the module doc), in order.

    Relative expressions ("on Thursday", "last week") need the article date and are skipped without it;
    absolute ones ("July 20, 2021", "In 2018") resolve anyway.
    """
    ref = parse_article_date(article_date)
    out: list[EventDate] = []
    for m in _RX.finditer(text):
        absolute = m["mdy"] and m["y1"] or m["dmy"] and m["y2"] or m["iso"] or m["monyear"] or m["year"]
        if ref is None and not absolute:
            continue
        resolved = _resolve(m, ref or date(1970, 1, 1))
        if resolved is None:
            continue
        a, b, gran = resolved
        s, e = m.start(), m.end()
        while s < e and text[s].isspace():
            s += 1
        out.append(EventDate(a.isoformat(), b.isoformat(), gran, text[s:e], s, e))
    return out
