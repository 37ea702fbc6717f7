"""The adopt rule of ``claims tune`` (``search.significance``): a paired randomisation test over the
holdout queries' AP@5, on hand-built per-query lists."""

from __future__ import annotations

import itertools
import random

import pytest

from search.significance import paired_randomization, significant_win
from search.tune import TuneOptions, TuneReport, adopt, check_options


def test_exact_p_on_three_queries_by_full_enumeration():
    """d = (+0.5, +0.2, -0.1), observed sum +0.6. The 8 sign assignments give sums
    0.6, 0.8 (flip q3), 0.2 (flip q2), 0.4 (q2, q3), -0.4 (q1), -0.2 (q1, q3), -0.8 (q1, q2), -0.6 (all):
    two of eight are >= 0.6, so p = 2/8 = 0.25."""
    before = [0.2, 0.5, 0.6]
    after = [0.7, 0.7, 0.5]
    assert paired_randomization(before, after) == 0.25
    # the same by an independent enumeration written out here
    d = [a - b for a, b in zip(after, before, strict=True)]
    sums = [
        sum(s * x for s, x in zip(signs, d, strict=True)) for signs in itertools.product((1, -1), repeat=3)
    ]
    assert sum(v >= sum(d) - 1e-12 for v in sums) / 8 == 0.25
    # ties drop out: a fourth query scored the same by both changes nothing
    assert paired_randomization([*before, 0.3], [*after, 0.3]) == 0.25
    # the reverse direction: the observed sum -0.6 is met or beaten by 7 of 8 assignments
    assert paired_randomization(after, before) == 7 / 8


def test_a_clear_win_is_adopted():
    rng = random.Random(1)
    before = [rng.choice([0.0, 0.2, 0.5]) for _ in range(30)]
    after = [min(1.0, b + 0.5) for b in before]  # every query better
    win, p = significant_win(before, after)
    # 30 queries > log2(10000): sampled, p = (1 + hits) / (1 + 10000) with no assignment but the
    # observed one reaching the observed sum (all differences positive: only all-plus does)
    assert win and p == pytest.approx(1 / 10001, abs=2e-4)
    # every difference positive on 10 queries, exact: only the all-plus assignment, p = 1/1024
    assert paired_randomization([0.5] * 10, [1.0] * 10) == 1 / 1024


def test_a_tiny_noisy_win_is_refused():
    """A 0.0125 MAP@5 win that is noise (+0.5 on 11 queries, -0.5 on 10, 19 tied), then a 0.001 win."""
    before = [0.5] * 40
    after = [1.0] * 11 + [0.0] * 10 + [0.5] * 19
    assert sum(after) / 40 - sum(before) / 40 == pytest.approx(0.0125)
    win, p = significant_win(before, after, seed=3)
    assert not win and p > 0.3  # a coin flip's worth
    # the same shape scaled down to a 0.001 win on a 20-query holdout
    before = [0.5] * 20
    after = [0.52] + [0.5] * 19
    win, p = significant_win(before, after)
    assert not win and p == 0.5  # one nonzero difference: half the assignments reach it


def test_few_queries_can_never_reach_five_percent():
    assert paired_randomization([0.0] * 4, [1.0] * 4) == 1 / 16 > 0.05
    assert paired_randomization([0.0] * 5, [1.0] * 5) == 1 / 32 < 0.05


def test_seeded_and_paired():
    before = [random.Random(i).random() for i in range(40)]
    after = [b + random.Random(100 + i).uniform(-0.1, 0.15) for i, b in enumerate(before)]
    assert paired_randomization(before, after, seed=7) == paired_randomization(before, after, seed=7)
    assert paired_randomization([], []) == 1.0 and paired_randomization([0.3], [0.3]) == 1.0
    with pytest.raises(ValueError, match="pair them"):
        paired_randomization([0.1], [0.1, 0.2])


def test_the_tune_rule_records_p_and_notes_a_refused_win():
    report = TuneReport()
    t = TuneOptions()
    assert adopt(report, "ranker", [0.5] * 10, [1.0] * 10, t)
    assert report.p_values["ranker"] == pytest.approx(1 / 1024, abs=1e-6) and not report.notes
    assert not adopt(report, "tuned model", [0.5] * 4, [1.0] * 4, t)  # p = 1/16
    assert report.p_values["tuned model"] == 0.0625
    assert "not adopted" in report.notes[0] and "p = 0.0625" in report.notes[0]
    # --significance 1 adopts any higher MAP@5 (the old rule)
    assert adopt(TuneReport(), "x", [0.5] * 4, [1.0] * 4, TuneOptions(significance=1.0))
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(Exception, match="--significance"):
            check_options(TuneOptions(significance=bad))
