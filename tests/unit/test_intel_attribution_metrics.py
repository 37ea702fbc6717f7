"""The measures of bench/attribution.py on a tiny hand-made PolNeAR record (no spaCy): token sets,
one-to-one matching, exact and overlap span matches, attribution matches."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("bench_attribution", ROOT / "bench" / "attribution.py")
B = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(B)

TEXT = "The Post reports that Clinton left early, sources said."


def test_tokens_are_word_starts_inside_spans():
    assert B.tokens(TEXT, [(0, 8)]) == {0, 4}
    assert B.tokens(TEXT, [(42, 49), (50, 54)]) == {42, 50}
    assert B.tokens(TEXT, [(40, 42)]) == set()  # ", " holds no word


def test_greedy_is_one_to_one():
    same = lambda p, g: p == g  # noqa: E731
    assert B.greedy([1, 1, 2], [1, 2], same) == 2
    assert B.greedy([1, 1], [1], same) == 1


def test_exact_and_overlap_matches():
    gold = [(0, 8)]  # "The Post"
    assert B.is_exact((0, 8), gold)
    assert not B.is_exact((4, 8), gold)
    assert B.shares((4, 8), gold)
    assert not B.shares((8, 9), gold)
    pieces = [(0, 3), (4, 8)]  # a discontinuous role: its hull or one piece is exact
    assert B.is_exact((0, 8), pieces) and B.is_exact((4, 8), pieces)


def test_attribution_match_needs_content_and_source():
    gold = {"source": [(0, 8)], "cue": [(9, 16)], "content": [(17, 40)]}
    pred = SimpleNamespace(source=(4, 8), content=(22, 40))
    assert B.attr_match(TEXT, pred, gold)
    assert not B.attr_match(TEXT, SimpleNamespace(source=(42, 49), content=(22, 40)), gold)
    assert not B.attr_match(TEXT, SimpleNamespace(source=(4, 8), content=None), gold)
    no_source = {"source": [], "cue": [(50, 54)], "content": [(0, 40)]}
    assert B.attr_match(TEXT, SimpleNamespace(source=None, content=(22, 40)), no_source)
    assert not B.attr_match(TEXT, SimpleNamespace(source=(42, 49), content=(22, 40)), no_source)


def test_counts_prf_by_hand():
    c = B.Counts()
    c.add(2, 4, 5)
    c.add(1, 1, 1)
    p, r, f = c.prf()
    assert (p, r) == (3 / 5, 3 / 6)
    assert abs(f - 2 * 0.6 * 0.5 / 1.1) < 1e-12


def test_gold_uses_the_first_annotator_by_id():
    art = {
        "annotations": [
            {
                "annotator": "ffff",
                "attributions": [{"source": [[0, 8, "The Post"]], "cue": [], "content": []}],
            },
            {"annotator": "0001", "attributions": []},
        ]
    }
    assert B.gold_attributions(art) == []
