"""Attribution rules (index.intel.attribution) on hand-made sentences, with the real spaCy pipeline
(the unit tier cannot load spaCy: it imports torch). Each case is one rule added after studying the
errors on PolNeAR train; ``bench/attribution.py`` measures them on PolNeAR dev."""

from __future__ import annotations

import pytest

from index.intel.attribution import _quote_spans, relations
from index.intel.pipeline import parse


def rels(text: str) -> list[tuple[str, str | None, str]]:
    """``(kind, source text, cue text)`` of every relation in ``text``."""
    [doc] = parse([text])
    return [
        (r.kind, text[r.source[0] : r.source[1]] if r.source else None, text[r.cue[0] : r.cue[1]])
        for r in relations(doc)
    ]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        # a misparsed dateline gives the verb two subjects: the nearest one that is not a time speaks
        (
            "9:30 p.m.\n\nDonald Trump says he may move to the South if he does not win.",
            ("clause", "Donald Trump", "says"),
        ),
        # a subject after the cue keeps its whole phrase ("of the Tax Policy Center")
        (
            "“It is a new revenue source,” said Mr. Burman of the Tax Policy Center.",
            ("clause", "Mr. Burman of the Tax Policy Center", "said"),
        ),
        # "As X reported, ...": a cue verb with a subject and no clause of its own
        ("As The Washington Post reported, the talks failed.", ("object", "The Washington Post", "reported")),
        # a participle modifying a noun phrase of people or their products: that phrase is the source
        (
            "A new poll showing that Trump leads in Ohio was released on Monday.",
            ("clause", "A new poll", "showing"),
        ),
        # the subject through a preposition ("before explaining") and an adjective ("likely to say")
        (
            "Sheppard spoke for an hour before explaining why she backs Clinton.",
            ("clause", "Sheppard", "explaining"),
        ),
        (
            "Democratic voters are more likely to say that Clinton represents their views.",
            ("clause", "Democratic voters", "to say"),
        ),
        # stance verbs (learned from PolNeAR train) whatever their subject: PolNeAR "acts"
        (
            "The Clinton campaign refused to release the transcripts.",
            ("act", "The Clinton campaign", "refused"),
        ),
        ("Most voters support a ban on the sale of assault weapons.", ("act", "Most voters", "support")),
    ],
)
def test_rule(text, want):
    assert want in rels(text)


def test_no_attribution_in_a_plain_event():
    assert rels("The weather improved on Tuesday.") == []


def test_a_stray_quotation_mark_does_not_hide_the_rest_of_the_text():
    text = 'He said it was over."\n\nThe senator said the wall would be “big” and paid for.'
    # the stray mark's quotation ends at the line break (empty here); the next paragraph's quote is its own
    assert _quote_spans(text) == [(text.index("“") + 1, text.index("”"))]
    assert ("clause", "The senator", "said") in rels(text)
