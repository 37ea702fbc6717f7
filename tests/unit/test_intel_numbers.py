"""Number normalisation (index.intel.numbers): many surface forms, each checked by value, unit, kind,
approx and offsets."""

from __future__ import annotations

import pytest

from index.intel.numbers import find_numbers, parse_number_words


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1,000", 1000),
        ("1.2 billion", 1.2e9),
        ("twenty-five", 25),
        ("three hundred", 300),
        ("a dozen", 12),
        ("12", 12),
        ("2 million", 2_000_000),
        ("forty two", 42),
        ("one thousand two hundred", 1200),
    ],
)
def test_number_words(text, value):
    assert parse_number_words(text) == pytest.approx(value)


def test_not_a_number():
    assert parse_number_words("several") is None
    assert parse_number_words("") is None


def one(text):
    found = find_numbers(text)
    assert len(found) == 1, [q.text for q in found]
    q = found[0]
    assert text[q.start : q.end] == q.text  # offsets point into the searched text
    return q


@pytest.mark.parametrize(
    ("text", "value", "unit", "kind", "approx"),
    [
        ("Russia has reportedly sent three planes carrying", 3, "aircraft", "aircraft", False),
        ("two Russian MiG-31 jets", 2, "aircraft", "aircraft", False),
        ("a range of 1,000 kilometers (620 miles)", 1000, "km", "distance", False),
        ("within 500 km of the border", 500, "km", "distance", False),
        ("about 80 miles away", 80, "mi", "distance", True),
        ("at nine times the speed of sound", 9, "Mach", "speed", False),
        ("flies at Mach 5", 5, "Mach", "speed", False),
        ("at 900 km/h", 900, "km/h", "speed", False),
        ("~300 tanks", 300, "tanks", "vehicles", True),
        ("some 40 tanks", 40, "tanks", "vehicles", True),
        ("up to 2,000 troops", 2000, "troops", "troops", True),
        ("the strike killed 12 civilians", 12, "people", "casualties", False),
        ("shelling killed 12 on Monday", 12, "people", "casualties", False),
        ("12 people were killed", 12, "people", "casualties", False),
        ("at least 5 soldiers were wounded", 5, "troops", "casualties", True),
        ("a death toll of 45", 45, "people", "casualties", False),
        # a toll named earlier in the sentence (a fresh user's corpora cases)
        ("Death toll from Aleppo bomb attack at least 112", 112, "people", "casualties", True),
        ("The death toll from the attack reached at least 112 people", 112, "people", "casualties", True),
        ("raised its official death toll from the strike to 89", 89, "people", "casualties", False),
        ("put the number of dead at around 400", 400, "people", "casualties", True),
        ("a suicide bomber kills 4 in Aleppo", 4, "people", "casualties", False),
        ("a $1.2 billion package", 1.2e9, "USD", "money", False),
        ("costs 300 million euros", 3e8, "EUR", "money", False),
        ("£40m in aid", 4e7, "GBP", "money", False),
        ("about 40 percent of", 40, "%", "percent", True),
        ("a 15% rise", 15, "%", "percent", False),
        ("launched 84 cruise missiles", 84, "missiles", "missiles", False),
        ("shot down 30 drones", 30, "drones", "drones", False),
        ("four warships", 4, "ships", "ships", False),
    ],
)
def test_quantities(text, value, unit, kind, approx):
    q = one(text)
    assert (q.value, q.unit, q.kind, q.approx) == (pytest.approx(value), unit, kind, approx)


@pytest.mark.parametrize(
    ("text", "low", "high", "unit"),
    [
        ("dozens of drones were shot down", 24, 99, "drones"),
        ("hundreds of tanks", 200, 999, "tanks"),
        ("thousands of troops", 2000, 9999, "troops"),
        ("hundreds of thousands of people", 200_000, 999_999, "people"),
    ],
)
def test_vague_quantities_are_approximate_ranges(text, low, high, unit):
    q = one(text)
    assert (q.low, q.high, q.unit, q.approx) == (low, high, unit, True)


@pytest.mark.parametrize(
    "text",
    [
        "the MiG-31 and the S-400",  # designations
        "for 24/7 operations",
        "In 2018, Russia",  # a year belongs to the date stage
        "at 10:30 local time",
        "one of the planes",
        "the MAKS-2021 air show",
        "battling since June 25 to push",  # days of dates belong to the date stage
        "the town fell on 22 May 2015.",
        "on the 1st of May",
        "since the war in 2011 killed a nurse",  # a year, not 2011 casualties
        "Sun 22 Feb 2015 Suicide bomber",  # a year (words between it and "bomber"), not 2015 aircraft
        "in 2016 Russian bombers",
    ],
)
def test_not_quantities(text):
    assert find_numbers(text) == []


def test_parenthesised_conversion_is_not_a_second_distance():
    found = find_numbers(
        "a range of 1,000 kilometers (620 miles) and can travel at nine times the speed of sound"
    )
    assert [(q.value, q.unit) for q in found] == [(1000, "km"), (9, "Mach")]
    assert found[0].text == "1,000 kilometers"


def test_several_in_order_with_offsets():
    text = "Ukraine said 3 jets and 12 drones were downed, 4 soldiers killed."
    found = find_numbers(text)
    assert [q.value for q in found] == [3, 12, 4]
    assert [q.kind for q in found] == ["aircraft", "drones", "casualties"]
    assert all(text[q.start : q.end] == q.text for q in found)


@pytest.mark.parametrize(
    ("text", "value", "unit", "kind", "matched"),
    [
        # military nouns the first version missed (issue #13)
        (
            "Russia has moved three MiG-31 interceptors to",
            3,
            "aircraft",
            "aircraft",
            "three MiG-31 interceptors",
        ),
        ("two fighter-bombers", 2, "aircraft", "aircraft", "two fighter-bombers"),
        ("four choppers", 4, "helicopters", "aircraft", "four choppers"),
        ("three frigates and", 3, "ships", "ships", "three frigates"),
        ("six UAS", 6, "drones", "drones", "six UAS"),
        ("12 launchers", 12, "vehicles", "vehicles", "12 launchers"),
        ("200 conscripts", 200, "troops", "troops", "200 conscripts"),
        # a gazetteer entity between the number and the noun, or instead of it
        ("three MiG-31s", 3, "aircraft", "aircraft", "three MiG-31s"),
        ("three MiG-31s carrying hypersonic missiles", 3, "aircraft", "aircraft", "three MiG-31s"),
        (
            "two Zircon hypersonic cruise missiles",
            2,
            "missiles",
            "missiles",
            "two Zircon hypersonic cruise missiles",
        ),
        ("one million rounds of 155mm artillery", 1e6, None, "count", "one million"),  # rounds: not artillery
        ("four Patriot interceptors", 4, "missiles", "missiles", "four Patriot interceptors"),
        ("two Su-25 fighters", 2, "aircraft", "aircraft", "two Su-25 fighters"),
        ("5 Leopard 2 tanks", 5, "tanks", "vehicles", "5 Leopard 2 tanks"),
        ("two Iskander systems", 2, "missiles", "missiles", "two Iskander systems"),
        ("dozens of Shaheds", 24, "drones", "drones", "dozens of Shaheds"),
        ("two S-400 batteries", 2, None, "count", "two S-400 batteries"),  # air defence: no count kind
        ("three fighters", 3, "troops", "troops", "three fighters"),  # no entity: fighters stay troops
    ],
)
def test_military_nouns_and_gazetteer_entities(text, value, unit, kind, matched):
    q = one(text)
    assert (q.value, q.unit, q.kind, q.text) == (value, unit, kind, matched)
