"""The extraction stage (index.intel) with the real spaCy pipeline, on the two real seed articles and on
passages from the corpora and PolNeAR: what the issue's "Done when" names, checked passage by passage.

Check-worthiness is skipped here (``embedder=False``): its scores over the real model are measured by
``bench/checkworthiness.py`` and tested in test_intel_checkworthy_model.py.
"""

from __future__ import annotations

import json

import pytest
from conftest import BENCH, SEEDS, requires_shared

from index.intel import extract
from index.passages import split_article
from index.records import Passage
from index.sources import read_file


def seed(name: str):
    [article] = [a for a in read_file(SEEDS / name) if hasattr(a, "text")]
    passages, _ = split_article(article)
    return article, passages, extract(passages, article.text, article.date, embedder=False)


def find(article, passages, feats, words: str):
    for p, f in zip(passages, feats, strict=True):
        if words in p.text:
            return p, f
    raise AssertionError(f"no passage holds {words!r}")


@requires_shared
def test_defense_ministry_passage():
    article, passages, feats = seed("000_5252c1565235be4e.txt")
    assert article.date.startswith("2022-08-19")
    p, f = find(article, passages, feats, "Defense Ministry said on Thursday")
    assert f.speaker.text == "Russia’s Defense Ministry"
    assert article.text[f.speaker.start : f.speaker.end] == f.speaker.text  # offsets into the ARTICLE
    assert f.cue.text == "said" and article.text[f.cue.start : f.cue.end] == "said"
    assert f.mode == "reported"  # a reported clause that quotes a phrase is still reported speech
    assert f.event_date.date_start == f.event_date.date_end == "2022-08-18"  # the Thursday before
    assert ("MiG-31", "aircraft") in {(e.canonical, e.label) for e in f.entities}
    places = " ".join(f.places())
    assert "Chkalovsk" in places and "Kaliningrad" in places
    for e in f.entities:
        assert article.text[e.start : e.end] == e.text


@requires_shared
def test_reportedly_three_planes_is_hedged_with_three_aircraft():
    article, passages, feats = seed("000_5252c1565235be4e.txt")
    p, f = find(article, passages, feats, "Russia has reportedly sent three planes")
    assert f.hedged and "reportedly" in [h.text for h in f.hedges]
    assert (3, "aircraft") in [(n.value, n.unit) for n in f.numbers]
    assert f.mode == "assertion" and f.speaker is None


@requires_shared
def test_nuclear_threat_initiative_and_in_2018():
    article, passages, feats = seed("000_5252c1565235be4e.txt")
    p, f = find(article, passages, feats, "According to the Nuclear Threat Initiative")
    assert f.cue.text == "According to"
    assert f.speaker.text.startswith("the Nuclear Threat Initiative")
    assert ("Kinzhal", "missile") in {(e.canonical, e.label) for e in f.entities}
    p, f = find(article, passages, feats, "In 2018, Russia reportedly sent Iskander")
    assert ("Iskander", "missile") in {(e.canonical, e.label) for e in f.entities}
    assert (f.event_date.date_start, f.event_date.date_end) == ("2018-01-01", "2018-12-31")
    assert f.hedged


@requires_shared
def test_zircon_range_and_speed():
    article, passages, feats = seed("003_aa9f8dce181c1ead.txt")
    p, f = find(article, passages, feats, "The Zircon hypersonic cruise missile")
    got = {(n.value, n.unit, n.kind) for n in f.numbers}
    assert (1000, "km", "distance") in got
    assert (9, "Mach", "speed") in got
    assert not any(n.unit == "mi" for n in f.numbers)  # "(620 miles)" is the conversion, not a second range
    assert ("Zircon", "missile") in {(e.canonical, e.label) for e in f.entities}


@requires_shared
def test_putin_stated_is_a_direct_quote_and_he_resolves_to_putin():
    article, passages, feats = seed("003_aa9f8dce181c1ead.txt")
    p, f = find(article, passages, feats, "Putin stated, “")
    assert f.mode == "quote"
    assert f.speaker.text == "Putin" and f.speaker.name == "Vladimir Putin"
    assert f.cue.text == "stated"
    p, f = find(article, passages, feats, "he explained")
    assert f.speaker.pronoun and f.speaker.text == "he"
    assert f.speaker.name == "Vladimir Putin"  # the nearest named speaker, unambiguous


@requires_shared
def test_early_next_year_resolves_against_the_article_date():
    article, passages, feats = seed("003_aa9f8dce181c1ead.txt")
    p, f = find(article, passages, feats, "Early next year")
    assert ("2022-01-01", "2022-05-01") in [(d.date_start, d.date_end) for d in f.dates]


def test_ambiguous_pronoun_stays_unresolved_and_result_is_json():
    text = "John Smith met Peter Jones in Kyiv. He said the talks failed."
    passages = [Passage(0, 35, text[:35]), Passage(36, len(text), text[36:])]
    feats = extract(passages, text, "2022-03-01", embedder=False)
    assert feats[1].speaker.text == "He" and feats[1].speaker.pronoun
    assert feats[1].speaker.name is None  # two men named just before: ambiguous
    json.dumps([f.to_dict() for f in feats])  # JSON-serialisable as is


def test_offsets_must_match_the_article():
    with pytest.raises(ValueError, match="does not match"):
        extract([Passage(0, 5, "Hello")], "Howdy there", None, embedder=False)


def test_gazetteer_beats_spacy_ner_on_weapon_names():
    text = "Ukraine used Patriot and HIMARS systems against Kinzhal missiles, the Pentagon said."
    [f] = extract([Passage(0, len(text), text)], text, "2023-05-16", embedder=False)
    labels = {e.canonical: e.label for e in f.entities}
    assert labels["Patriot"] == "air_defence" and labels["HIMARS"] == "rocket_artillery"
    assert labels["Kinzhal"] == "missile"
    assert f.speaker.text == "the Pentagon" and f.mode == "reported"


@requires_shared
def test_polnear_dev_article_sources():
    """First dev article of PolNeAR: "sources said" / "a source said" are found as hedged reported speech."""
    art = json.loads((BENCH / "attribution-polnear-en" / "dev.jsonl").open(encoding="utf-8").readline())
    text = art["text"]
    i = text.index("sources said") if "sources said" in text else None
    if i is None:
        pytest.skip("the first dev article changed")
    start = text.rfind(".", 0, i) + 1
    end = text.index(".", i) + 1
    while text[start].isspace():
        start += 1
    [f] = extract([Passage(start, end, text[start:end])], text, art["publication_date"], embedder=False)
    assert f.speaker.text == "sources" and f.cue.text == "said" and f.hedged


CORPUS_CASES = [
    # (record id in nyt-guardian-ukraine-2022, words of the passage, speaker, cue, entity (canonical, label), number)
    (
        "guardian-0135",
        "Kim said four S-300 missiles hit",
        "Kim",
        "said",
        ("S-300", "air_defence"),
        (4, "missiles"),
    ),
    (
        "guardian-0084",
        "rockets from an S-300 surface-to-air system",
        "local authorities",
        "said",
        ("S-300", "air_defence"),
        None,
    ),
]


@requires_shared
@pytest.mark.parametrize(("rid", "words", "speaker", "cue", "entity", "number"), CORPUS_CASES)
def test_corpus_passages(rid, words, speaker, cue, entity, number):
    """Passages of the real Guardian corpus: speaker and cue, the gazetteer class, the counted weapons."""
    path = SEEDS.parent / "corpora" / "nyt-guardian-ukraine-2022" / "nyt-guardian-ukraine-2022.jsonl.gz"
    [article] = [a for a in read_file(path) if getattr(a, "article_id", None) == rid]
    passages, _ = split_article(article)
    p, f = find(article, passages, extract(passages, article.text, article.date, embedder=False), words)
    assert (f.speaker.text, f.cue.text, f.mode) == (speaker, cue, "reported")
    assert entity in {(e.canonical, e.label) for e in f.entities}
    if number:
        assert number in [(n.value, n.unit) for n in f.numbers]
