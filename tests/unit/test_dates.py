"""Tests of index.dates.normalize_date: every shape the inputs carry, and garbage that must stay None."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index.dates import normalize_date

CASES = [
    # ISO dates and timestamps: the date part as written
    ("2021-11-30", "2021-11-30"),
    ("2022-08-01T16:23:25Z", "2022-08-01"),
    ("2022-08-01T23:30:00-05:00", "2022-08-01"),
    ("  2021-11-30  ", "2021-11-30"),
    ("2022/06/23", "2022-06-23"),
    ("2022.06.23", "2022-06-23"),
    # day-first with a dot, as European sources write it
    ("05.04.2017", "2017-04-05"),
    # month names (FA-KES, Snopes, PolitiFact)
    ("Wed 05 Apr 2017", "2017-04-05"),
    ("Fri 07 Apr 2017 at 0914 Homs governor says", "2017-04-07"),
    ("26 May 2015", "2015-05-26"),
    ("6 March 2021", "2021-03-06"),
    ("3rd of September 2020", "2020-09-03"),
    ("stated on October 22, 2019 in a campaign mailer.:", "2019-10-22"),
    ("October 22, 2019", "2019-10-22"),
    ("Sept. 3rd, 2020", "2020-09-03"),
    # Unix epochs (9 to 11 digits), UTC
    (1660884494, "2022-08-19"),
    ("1660884494", "2022-08-19"),
    (1660884494.75, "2022-08-19"),
    (123456789, "1973-11-29"),
    # dateutil fallback for short odd strings
    ("20211130", "2021-11-30"),
    ("5/4/17", "2017-05-04"),
    ("October 2019", "2019-10-01"),
    # date and datetime objects; aware datetimes are converted to UTC
    (date(2020, 1, 2), "2020-01-02"),
    (datetime(2020, 1, 2, 23, 59), "2020-01-02"),
    (datetime(2022, 8, 1, 23, 0, tzinfo=timezone(timedelta(hours=-5))), "2022-08-02"),
    (datetime(2022, 8, 1, 1, 0, tzinfo=UTC), "2022-08-01"),
]

NOTHING = [
    None,
    "",
    "   ",
    "garbage",
    "unknown",
    "2019",  # a year alone is not a date
    2019,
    True,  # a bool is an int, never a timestamp
    12345678,  # 8 digits: not an epoch
    "2021-02-30",  # no such day
    "2021-13-01",
    "0000-01-01",
    "in 2014, Russia annexed Crimea",  # prose: no month, and fuzzy parsing must not invent one
    "in 2014, 5 people died",
    "Russia may attack in 2015",
    "March 5",  # no year
    "x" * 1000 + " 2014",
    float("nan"),
    [2021, 11, 30],
    {"date": "2021-11-30"},
]


@pytest.mark.parametrize(("value", "expected"), CASES)
def test_shapes(value, expected):
    assert normalize_date(value) == expected


@pytest.mark.parametrize("value", NOTHING)
def test_nothing_parseable_gives_none(value):
    assert normalize_date(value) is None


@given(st.one_of(st.text(max_size=80), st.integers(), st.floats(), st.none(), st.datetimes()))
def test_never_raises_and_returns_an_iso_date(value):
    result = normalize_date(value)
    assert result is None or date.fromisoformat(result).isoformat() == result


@given(st.dates(min_value=date(1000, 1, 1)))
def test_iso_round_trip(day):
    assert normalize_date(day.isoformat()) == day.isoformat()
    assert normalize_date(day.strftime("%d %B %Y")) == day.isoformat()
    assert normalize_date(day.strftime("%B %d, %Y")) == day.isoformat()
