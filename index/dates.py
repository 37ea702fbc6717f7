"""Dates in the shapes news data carries them, normalised to ISO ``YYYY-MM-DD``.

``normalize_date`` runs once per ingested record, so the common shapes are matched by regexes and
``dateutil`` is only a fallback for short odd strings. It never raises: a bad date is not worth
losing a record over, it just becomes None.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from dateutil import parser as dateutil_parser

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# Whole month names or abbreviations only, so "Marching" or "Mayor" never read as a month.
_MONTH = (
    r"(?P<m>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?"
)
_DAY = r"(?P<d>\d{1,2})(?:st|nd|rd|th)?"
# Tried in order; each must name year, month and day. Searched, not anchored, so that
# "stated on October 22, 2019 in a campaign mailer.:" and "Wed 05 Apr 2017 ..." work.
_SHAPES = (
    # 2022-08-01T16:23:25Z, 2022/06/23
    re.compile(r"(?<!\d)(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})(?!\d)"),
    re.compile(r"(?<!\d)(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4})(?!\d)"),  # 05.04.2017 is day-first
    re.compile(rf"(?<!\d){_DAY}\s+(?:of\s+)?{_MONTH},?\s+(?P<y>\d{{4}})(?!\d)", re.IGNORECASE),
    re.compile(rf"\b{_MONTH}\s+{_DAY},?\s+(?P<y>\d{{4}})(?!\d)", re.IGNORECASE),
)
_EPOCH = re.compile(r"\d{9,17}(?:\.\d*)?")
_EPOCH_RANGE = (1e8, 1e11)  # 9 to 11 integer digits of seconds: 1973 to 5138
# Milliseconds (JavaScript's Date.now(), most scrapers' JSON) and microseconds, told by their size.
_EPOCH_SCALES = ((1e11, 1.0), (1e14, 1e3), (1e17, 1e6))
_DOTNET = re.compile(r"/?Date\((-?\d+)(?:[+-]\d{4})?\)/?")  # .NET's JSON "/Date(1690848000000+0200)/"
_FUZZY_MAX_CHARS = 64  # longer strings are prose, where fuzzy parsing finds dates that are not there
_FUZZY_MAX_WORDS = 2  # "in 2014, 5 people died" skips 3 words; "Fri 07 Apr 2017 at 0914" skips 1
# dateutil fills missing parts from its default; parsing with two defaults shows which were guessed.
_DEFAULTS = (datetime(2000, 1, 1), datetime(2001, 2, 1))


def normalize_date(value: object) -> str | None:
    """Normalise a date of any common shape to ISO ``YYYY-MM-DD``.

    Timestamps keep the date as written (``2022-08-01T23:30:00-05:00`` and ``...Z`` ->
    ``2022-08-01``), except timezone-aware ``datetime`` objects, which are converted to UTC first.
    Unix epochs (int, float or string) are read as UTC seconds (9 to 11 digits), milliseconds (12 to
    14) or microseconds (15 to 17); .NET's ``/Date(ms)/`` too. Also read: RFC 2822 (RSS, e-mail:
    ``Tue, 01 Aug 2023 14:05:00 +0000``), ``01 Aug 2023``, ``Aug. 1, 2023``, ``1st of August, 2023``,
    ``2023/08/01``, ``2023.08.01``, ``01.08.2023`` (day first), ``20230801``, ``2023-08``.

    Args:
        value: A string, Unix epoch, ``datetime`` or ``date``; anything else gives None.

    Returns:
        The ISO date, or None when no date with at least a year and a month can be read.
    """
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):  # a bool is an int, but never a timestamp
        return None
    if isinstance(value, int | float):
        return _from_epoch(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _EPOCH.fullmatch(text):
        return _from_epoch(float(text))
    if dotnet := _DOTNET.fullmatch(text):
        return _from_epoch(int(dotnet[1]) / 1000)
    for shape in _SHAPES:
        match = shape.search(text)
        if match and (iso := _iso(match["y"], match["m"], match["d"])):
            return iso
    return _fuzzy(text)


def _from_epoch(seconds: float) -> str | None:
    for bound, scale in _EPOCH_SCALES:
        if seconds < bound:
            seconds /= scale
            break
    if not _EPOCH_RANGE[0] <= seconds < _EPOCH_RANGE[1]:  # also rejects NaN
        return None
    return datetime.fromtimestamp(seconds, UTC).date().isoformat()


def _iso(year: str, month: str, day: str) -> str | None:
    number = int(month) if month.isdigit() else _MONTHS.index(month[:3].lower()) + 1
    try:
        return date(int(year), number, int(day)).isoformat()
    except ValueError:  # 2021-02-30, month 13, year 0000
        return None


def _fuzzy(text: str) -> str | None:
    """dateutil as a last resort, for short strings such as ``20211130`` or ``5/4/17``."""
    if len(text) > _FUZZY_MAX_CHARS or not any(ch.isdigit() for ch in text):
        return None
    try:
        results = [
            dateutil_parser.parse(text, default=default, fuzzy_with_tokens=True, ignoretz=True)
            for default in _DEFAULTS
        ]
    except (ValueError, OverflowError):  # ParserError is a ValueError
        return None
    (first, skipped), (second, _) = results
    words = sum(token.isalpha() for part in skipped for token in part.split())
    if words > _FUZZY_MAX_WORDS or (first.year, first.month) != (second.year, second.month):
        return None  # prose, or the year or month came from the default
    return first.date().isoformat()
