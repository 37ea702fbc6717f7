"""Places and nationalities (index/intel/places.json applied after spaCy's NER) on hand-made sentences,
with the real spaCy pipeline: a known place is a place whatever spaCy said, a nationality is never one,
and "Mach" is no person (issue #13)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from index.intel.pipeline import extract


@dataclass
class P:
    text: str
    start: int = 0

    @property
    def end(self) -> int:
        return self.start + len(self.text)


def entities(text: str) -> list[tuple[str, str]]:
    [f] = extract([P(text)], text, embedder=False)
    return [(e.label, e.canonical) for e in f.entities]


def places(text: str) -> list[str]:
    [f] = extract([P(text)], text, embedder=False)
    return f.places()


@pytest.mark.parametrize(
    ("text", "want"),
    [
        # spaCy says PRODUCT or nothing for Kaliningrad, ORG for the capitals, Bakhmut and Belarus
        ("Russia has moved three MiG-31 interceptors to its Kaliningrad exclave.", ["Russia", "Kaliningrad"]),
        ("Kaliningrad is wedged between Poland and Lithuania.", ["Kaliningrad", "Poland", "Lithuania"]),
        ("Troops were sent to Vilnius, Copenhagen and Bakhmut.", ["Vilnius", "Copenhagen", "Bakhmut"]),
        ("Belarus said the drills would go on.", ["Belarus"]),
        # aliases give the canonical name; Belgorod is the city, not the submarine
        ("Drones hit a depot near Belgorod, Kiev said.", ["Belgorod", "Kyiv"]),
        ("The U.S. and the US both said so.", ["United States", "United States"]),
    ],
)
def test_known_places_are_places(text, want):
    assert places(text) == want


def test_nationalities_are_never_places_and_longer_names_stay_whole():
    ents = entities("Ukrainian forces said the Russian Defense Ministry and U.S. European Command disagreed.")
    assert ("NORP", "Ukrainian") in ents
    assert ("ORG", "Russian Defense Ministry") in ents
    assert any(label == "ORG" and "European Command" in name for label, name in ents)
    assert (
        places("Ukrainian forces said the Russian Defense Ministry and U.S. European Command disagreed.")
        == []
    )


def test_mach_is_no_person():
    ents = entities("The Zircon flies at Mach 9, Belarus said.")
    assert not [name for _, name in ents if "Mach" in name]
    assert ("GPE", "Belarus") in ents
