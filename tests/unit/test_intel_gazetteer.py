"""The military gazetteer: the data file is well formed and versioned, aliases map to canonical names
and classes, and matching respects case rules, plurals and overlaps."""

from __future__ import annotations

import json

import pytest

from index.intel import gazetteer


def test_data_file_is_versioned_with_sources_and_a_few_hundred_entries():
    data = json.loads(gazetteer.PATH.read_text(encoding="utf-8"))
    assert data["version"] and data["sources"]
    assert len(data["entries"]) >= 300
    classes = {e["class"] for e in data["entries"]}
    for needed in (
        "aircraft",
        "missile",
        "air_defence",
        "rocket_artillery",
        "drone",
        "tank",
        "ship",
        "unit_type",
    ):
        assert needed in classes
    assert set(data["classes"]) == classes
    for e in data["entries"]:
        assert e["canonical"] and e["aliases"], e


def test_no_alias_names_two_things():
    gazetteer.load.cache_clear()
    gaz = gazetteer.load()  # raises ValueError on a conflict
    assert len(gaz.lookup) > 800


@pytest.mark.parametrize(
    ("text", "canonical", "cls"),
    [
        ("MiG-31", "MiG-31", "aircraft"),
        ("MiG-31K", "MiG-31", "aircraft"),
        ("the MiG-31s", "MiG-31", "aircraft"),
        ("Kinzhal", "Kinzhal", "missile"),
        ("a Kh-47M2", "Kinzhal", "missile"),
        ("HIMARS", "HIMARS", "rocket_artillery"),
        ("the M142", "HIMARS", "rocket_artillery"),
        ("Patriot", "Patriot", "air_defence"),
        ("MIM-104", "Patriot", "air_defence"),
        ("S-400", "S-400", "air_defence"),
        ("s-400 systems", "S-400", "air_defence"),
        ("Bayraktar TB2", "Bayraktar TB2", "drone"),
        ("Zircon", "Zircon", "missile"),
        ("3M22", "Zircon", "missile"),
        ("Iskander-M", "Iskander", "missile"),
        ("Javelins", "Javelin", "missile"),
        ("Leopard 2A6", "Leopard 2", "tank"),
        ("Leopard-2", "Leopard 2", "tank"),
        ("Shahed-136", "Shahed-136", "drone"),
        ("Chkalovsk", "Chkalovsk air base", "base"),
        ("Russia’s Black Sea Fleet", "Black Sea Fleet", "unit"),
    ],
)
def test_alias_to_canonical_and_class(text, canonical, cls):
    found = gazetteer.find_mentions(text)
    assert [(m.canonical, m.cls) for m in found] == [(canonical, cls)]
    assert text[found[0].start : found[0].end] == found[0].text


def test_single_word_capitalised_aliases_are_case_sensitive():
    assert gazetteer.find_mentions("a true patriot said") == []
    assert [m.canonical for m in gazetteer.find_mentions("PATRIOT batteries")] == ["Patriot"]
    assert gazetteer.find_mentions("a tow truck") == []


def test_longest_alias_wins_and_mentions_do_not_overlap():
    found = gazetteer.find_mentions("a Bayraktar TB2 and the 3M22 Zircon")
    assert [m.text for m in found] == ["Bayraktar TB2", "3M22 Zircon"]


def test_designations_do_not_match_inside_longer_tokens():
    assert gazetteer.find_mentions("the T-72B3M-X prototype") == []  # hand-made non-designation
    assert gazetteer.find_mentions("S-4000") == []


def test_places_list_is_versioned_data_apart_from_the_weapons():
    data = json.loads(gazetteer.PLACES_PATH.read_text(encoding="utf-8"))
    assert data["version"] and data["sources"] and data["not_entities"] == ["Mach"]
    assert {e["class"] for e in data["entries"]} == set(data["classes"]) == {"GPE", "LOC", "NORP"}
    gazetteer.load.cache_clear()
    places, weapons = gazetteer.places(), gazetteer.load()
    assert not set(places.lookup) & set(weapons.lookup)  # no surface is both a place and a weapon


@pytest.mark.parametrize(
    ("text", "canonical", "cls"),
    [
        ("to its Kaliningrad exclave", "Kaliningrad", "GPE"),
        ("in Kiev", "Kyiv", "GPE"),
        ("the U.S.", "United States", "GPE"),
        ("near Artemovsk", "Bakhmut", "GPE"),
        ("in the Black Sea", "Black Sea", "LOC"),
        ("Ukrainians", "Ukrainian", "NORP"),
        ("near Belgorod", "Belgorod", "GPE"),
    ],
)
def test_places_match(text, canonical, cls):
    [m] = gazetteer.find_mentions(text, gazetteer.places())
    assert (m.canonical, m.cls) == (canonical, cls)
    assert not gazetteer.find_mentions(text)  # and the weapons gazetteer does not claim it
