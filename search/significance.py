"""Is a holdout win real? The paired randomisation (permutation) test over per-query scores.

``claims tune`` adopts a tuned model or a learned ranker only when it beats the current ranking on the
holdout queries *significantly*: a 0.001 MAP@5 win on 20 queries is noise. The test (Fisher's
randomisation test as used for IR evaluation: Smucker, Allan and Carterette, "A comparison of
statistical significance tests for information retrieval evaluation", CIKM 2007):

* per holdout query ``q``, the difference ``d_q = after_q - before_q`` of its AP@5;
* under the null hypothesis (the two systems are exchangeable) each ``d_q`` is as likely ``+d_q`` as
  ``-d_q``; the one-sided p-value is the share of the ``2^n`` sign assignments whose mean difference
  is at least the observed one (the observed assignment included);
* with ``2^n <= rounds`` every assignment is enumerated (an exact p); otherwise ``rounds`` seeded
  random assignments estimate it as ``(1 + hits) / (1 + rounds)`` (never 0: Phipson and Smyth 2010).

With ``n`` queries the smallest exact p is ``1 / 2^n``: fewer than 5 holdout queries can never reach
p < 0.05, which is the point.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

ROUNDS = 10_000  # random sign assignments when 2^n is larger
SIGNIFICANCE = 0.05  # adopt when p < this (``claims tune --significance``)
_EPS = 1e-12  # differences are sums of float APs: ties within this count as "at least"


def paired_randomization(
    before: Sequence[float], after: Sequence[float], rounds: int = ROUNDS, seed: int = 0
) -> float:
    """One-sided p-value that ``after`` beats ``before`` (paired per query, same order).

    Args:
        before, after: Per-query scores (e.g. AP@5) of the current and the candidate system, one per
            query, the same queries in the same order.
        rounds: Random sign assignments when ``2^n > rounds``; else the test is exact.
        seed: Seeds the random assignments (the same inputs and seed give the same p).

    Returns:
        p in ``(0, 1]``: 1.0 when there are no queries or every difference is zero.

    Raises:
        ValueError: ``before`` and ``after`` differ in length.
    """
    if len(before) != len(after):
        raise ValueError(f"{len(before)} scores before but {len(after)} after: pair them per query")
    d = np.asarray(after, dtype=np.float64) - np.asarray(before, dtype=np.float64)
    d = d[d != 0]  # a tie contributes the same under every sign
    if d.size == 0:
        return 1.0
    observed = d.sum()
    if 2**d.size <= rounds:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=d.size)))
        return float(np.mean(signs @ d >= observed - _EPS))
    rng = np.random.default_rng(seed)
    hits = 0
    for start in range(0, rounds, 1000):  # bounded memory for large holdouts
        n = min(1000, rounds - start)
        signs = rng.choice((1.0, -1.0), size=(n, d.size))
        hits += int(np.count_nonzero(signs @ d >= observed - _EPS))
    return (1 + hits) / (1 + rounds)


def significant_win(
    before: Sequence[float], after: Sequence[float], significance: float = SIGNIFICANCE, seed: int = 0
) -> tuple[bool, float]:
    """``(adopt, p)``: ``after`` has the higher mean and ``p < significance`` (``paired_randomization``)."""
    p = paired_randomization(before, after, seed=seed)
    better = float(np.mean(after)) > float(np.mean(before)) if len(after) else False
    return better and p < significance, p
