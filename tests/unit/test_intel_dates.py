"""Event-date resolution (index.intel.eventdates) against an article date, checked by hand with a
calendar: 2022-08-19 is a Friday."""

from __future__ import annotations

from datetime import date

import pytest

from index.intel.eventdates import find_dates, parse_article_date

FRIDAY = "2022-08-19"


def one(text, ref=FRIDAY):
    found = find_dates(text, ref)
    assert len(found) == 1, [d.text for d in found]
    d = found[0]
    assert text[d.offset_start : d.offset_end] == d.text
    return d.start, d.end


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("the ministry said on Thursday that", "2022-08-18", "2022-08-18"),
        ("on Friday", "2022-08-19", "2022-08-19"),  # the article's own day
        ("on Monday", "2022-08-15", "2022-08-15"),
        ("last Friday", "2022-08-12", "2022-08-12"),
        ("next Monday", "2022-08-22", "2022-08-22"),
        ("yesterday", "2022-08-18", "2022-08-18"),
        ("tomorrow", "2022-08-20", "2022-08-20"),
        ("Last week, the US Mission", "2022-08-08", "2022-08-14"),
        ("this week", "2022-08-15", "2022-08-21"),
        ("next week", "2022-08-22", "2022-08-28"),
        ("two weeks ago", "2022-08-01", "2022-08-07"),
        ("three days ago", "2022-08-16", "2022-08-16"),
        ("This month, NATO announced", "2022-08-01", "2022-08-31"),
        ("last month", "2022-07-01", "2022-07-31"),
        ("last year", "2021-01-01", "2021-12-31"),
        ("earlier this year", "2022-01-01", "2022-08-19"),
        ("later this year", "2022-08-19", "2022-12-31"),
        ("at the end of July", "2022-07-22", "2022-07-31"),
        ("in early March", "2022-03-01", "2022-03-10"),
        ("in April", "2022-04-01", "2022-04-30"),
        ("in December", "2021-12-01", "2021-12-31"),  # a later month than the article's: last year
        ("on March 3", "2022-03-03", "2022-03-03"),
        ("On Feb. 24", "2022-02-24", "2022-02-24"),
        ("on 24 February 2022", "2022-02-24", "2022-02-24"),
        ("July 20, 2021", "2021-07-20", "2021-07-20"),
        ("in March 2021", "2021-03-01", "2021-03-31"),
        ("In 2018, Russia reportedly sent", "2018-01-01", "2018-12-31"),
        ("since 2014", "2014-01-01", "2014-12-31"),
        ("2022-02-24", "2022-02-24", "2022-02-24"),
    ],
)
def test_resolved(text, start, end):
    assert one(text) == (start, end)


def test_early_next_year_is_the_first_third_of_next_year():
    # the Zircon seed: a 2021-11-30 article says "Early next year, the missiles will be introduced"
    start, end = one("Early next year, the missiles will be introduced", "2021-11-30")
    assert start == "2022-01-01"
    assert date.fromisoformat(end) < date(2022, 6, 1)
    assert (date.fromisoformat(end) - date(2022, 1, 1)).days == 120  # 365 // 3 days, inclusive


def test_weekday_on_the_same_weekday_as_the_article_is_that_day_but_last_is_a_week_back():
    assert one("on Thursday", "2022-08-18") == ("2022-08-18", "2022-08-18")
    assert one("last Thursday", "2022-08-18") == ("2022-08-11", "2022-08-11")


def test_new_year_boundary():
    assert one("last month", "2022-01-10") == ("2021-12-01", "2021-12-31")
    assert one("on December 30", "2022-01-03") == ("2021-12-30", "2021-12-30")
    assert one("last week", "2022-01-03") == ("2021-12-27", "2022-01-02")


def test_relative_dates_need_the_article_date_absolute_ones_do_not():
    assert find_dates("said on Thursday", None) == []
    assert [(d.start, d.end) for d in find_dates("In 2018 and on July 20, 2021", None)] == [
        ("2018-01-01", "2018-12-31"),
        ("2021-07-20", "2021-07-20"),
    ]


def test_designations_are_not_years():
    assert find_dates("the MAKS-2021 air show", FRIDAY) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2022-08-19", date(2022, 8, 19)),
        ("2022-08-19T04:48:14", date(2022, 8, 19)),
        (1660884494, date(2022, 8, 19)),  # the seed's Unix timestamp header
        ("1660884494", date(2022, 8, 19)),
        (date(2022, 8, 19), date(2022, 8, 19)),
        (None, None),
        ("yesterday", None),
        ("2022-02-30", None),
    ],
)
def test_article_date(value, expected):
    assert parse_article_date(value) == expected
