"""Canonical speaker and organisation names (``index.intel.names``), by hand."""

from __future__ import annotations

import json

import pytest

from index.intel.gazetteer import PLACES_PATH
from index.intel.names import canonical_name, country_prefix, parse_org

# every variant of one body -> its one canonical name
VARIANTS = {
    "Russian Defense Ministry": [
        "Russia's Defense Ministry",
        "Russia’s Defense Ministry",  # curly apostrophe
        "Russian Defense Ministry",
        "the Russian Defence Ministry",  # British spelling, leading "the"
        "Russia's Ministry of Defense",
        "The Russian Ministry of Defence",
        "Ministry of Defense of the Russian Federation",
        "Ministry of Defence of Russia",
        "Russian Federation's defence ministry",  # an alias of the country, lower-case office
        "Russias Ministry of Defence",  # a possessive whose apostrophe a corpus dropped
        "russia's defense ministry",
        "Russian Defense Ministry's",  # a trailing possessive
    ],
    "Ukrainian Foreign Ministry": [
        "Ukraine's Foreign Ministry",
        "Ministry of Foreign Affairs of Ukraine",
        "the Ukrainian Ministry of Foreign Affairs",
    ],
    "British Defense Ministry": [
        "UK Ministry of Defence",
        "Britain's defence ministry",
        "the U.K.'s Ministry of Defence",
    ],
    "U.S. Defense Department": [
        "the U.S. Department of Defense",
        "US Defense Department",
        "the United States' Department of Defense",
        "American Defense Department",
    ],
    "Syrian Interior Ministry": ["Syria's Ministry of Internal Affairs", "the Syrian interior ministry"],
    "World Health Organization": ["World Health Organisation", "the World Health Organization"],
}


@pytest.mark.parametrize(
    "variant,canonical", [(v, c) for c, vs in VARIANTS.items() for v in vs], ids=lambda x: str(x)
)
def test_variants_collapse_to_one_name(variant, canonical):
    assert canonical_name(variant) == canonical


def test_different_bodies_stay_apart():
    names = {canonical_name(v) for vs in VARIANTS.values() for v in vs}
    assert names == set(VARIANTS)  # six bodies, six names: no two merged
    assert canonical_name("Russian Foreign Ministry") != canonical_name("Russian Defense Ministry")
    assert canonical_name("Russia's Defense Ministry") != canonical_name("Ukraine's Defense Ministry")


def test_names_that_are_not_a_country_and_an_office_are_left_alone():
    assert canonical_name("Russia Today") == "Russia Today"  # a bare country name in front: a name of its own
    assert canonical_name("Vladimir Putin") == "Vladimir Putin"
    assert canonical_name("Kremlin") == "Kremlin"
    assert canonical_name("the Syrian Observatory for Human Rights") == "Syrian Observatory for Human Rights"
    assert canonical_name("Russia") == "Russia"  # a country speaking is the country, not "Russian"
    assert canonical_name("") == ""


def test_what_the_name_leaves_to_the_article():
    # "the country's X": the prefix is the article's country (the extraction stage resolves it)
    org = parse_org("the country's Defence Ministry")
    assert (org.prefix, org.body, org.deictic, org.office) == (None, "Defense Ministry", True, True)
    assert parse_org("the nation's military").deictic
    # a bare office refers to one of the article's named ministries
    for text, body in [("the ministry", "Ministry"), ("the Defense Ministry", "Defense Ministry")]:
        org = parse_org(text)
        assert (org.prefix, org.body, org.deictic, org.office) == (None, body, False, True)
    # a named one needs nothing
    org = parse_org("Russia's Defense Ministry")
    assert (org.prefix, org.deictic, org.office) == ("Russian", False, False)


def test_country_prefix_comes_from_places_json():
    data = json.loads(PLACES_PATH.read_text(encoding="utf-8"))
    linked = [e for e in data["entries"] if e["class"] == "NORP" and e.get("country")]
    assert len(linked) >= 20
    canonical = {e["canonical"] for e in data["entries"] if e["class"] == "GPE"}
    for e in linked:
        assert e["country"] in canonical, e  # every link names a country of the list
        want = e.get("name_prefix", e["canonical"])
        assert country_prefix(e["country"]) == want
        assert country_prefix(e["canonical"]) == want
    assert country_prefix("U.S.") == country_prefix("American") == "U.S."
    assert country_prefix("Moscow") is None  # a city is no country
