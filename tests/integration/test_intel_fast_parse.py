"""``parse_for_claims`` (entities for every passage, the dependency parse only where a cue word can
occur) against ``parse`` (the whole spaCy pipeline on every passage): the claim features ``extract``
gives must be the same, passage by passage, on the shipped samples, the seeds and a corpora subset.
The cue-word test (``may_attribute``) is also checked by hand and as a superset of what the parse finds.
"""

from __future__ import annotations

import pytest
from conftest import HAS_SHARED, SAMPLES, SEEDS

from index.intel import attribution
from index.intel.pipeline import extract, may_attribute, parse, parse_for_claims
from index.passages import split_article
from index.records import Article
from index.sources import read_file


def _items(limit_per_file: int = 25):
    files = sorted(p for p in SAMPLES.iterdir() if p.is_file())
    if HAS_SHARED:
        files += sorted(SEEDS.glob("*.txt"))
        files += sorted(SEEDS.parent.joinpath("corpora").glob("*/*.jsonl.gz"))
    items = []
    for f in files:
        n = 0
        for a in read_file(f):
            if isinstance(a, Article) and n < limit_per_file:
                items.append((split_article(a)[0], a.text, a.date))
                n += 1
    return items


@pytest.fixture(scope="module")
def both():
    items = _items()
    texts = [p.text for passages, _, _ in items for p in passages]
    return items, parse(texts), parse_for_claims(texts)


def test_same_features_as_the_whole_pipeline(both):
    items, full, fast = both
    assert len(full) > 200  # a real sample, not a handful
    k = 0
    for passages, text, date in items:
        n = len(passages)
        a = extract(passages, text, date, embedder=False, docs=full[k : k + n])
        b = extract(passages, text, date, embedder=False, docs=fast[k : k + n])
        for p, x, y in zip(passages, a, b, strict=True):
            assert x == y, p.text
        k += n


def test_the_parse_is_skipped_where_no_cue_can_be(both):
    _, full, fast = both
    parsed = [d.has_annotation("DEP") for d in fast]
    assert any(parsed) and not all(parsed)  # the cheap path is taken, and not for every passage
    for d_full, d_fast, is_parsed in zip(full, fast, parsed, strict=True):
        assert is_parsed == may_attribute(d_fast.text)
        # superset: every attribution the whole pipeline finds by the parse is in a passage that is parsed
        by_parse = [r for r in attribution.relations(d_full) if r.kind not in ("act", "label")]
        if by_parse:
            assert is_parsed, d_full.text
        if is_parsed:  # a parsed Doc went through the pipeline's components in its order: the same entities
            ents = [[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in (d_full, d_fast)]
            assert ents[0] == ents[1], d_full.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Officials said the bridge was hit.", True),
        ("He told reporters nothing.", True),  # irregular form (exceptions table)
        ("She wrote that the tanks had left.", True),
        ("According to the ministry, 12 drones were downed.", True),
        ("The ministry claims victory.", True),  # -s form by the suffix rules read backwards
        ("Kyiv denied it; Moscow was denying it too.", True),
        ("The missile hit the depot at dawn.", False),
        ("Three MiG-31 jets landed in Kaliningrad.", False),
        ("The sayings of the 1990s.", False),  # "sayings" is no form of "say" (the noun rules are not read)
    ],
)
def test_may_attribute_by_hand(text, expected):
    assert may_attribute(text) is expected
