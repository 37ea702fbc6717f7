"""The IVF search breadth rule (``DenseIndex.nprobe``): an eighth of the lists, at least 256, never more
than there are lists. Checked against the rule computed by hand for the list counts the product builds
(``index.vectors.ivf_lists``: the power of two nearest 4 sqrt(n))."""

from __future__ import annotations

import pytest

from search.dense import DenseIndex


@pytest.mark.parametrize(
    ("nlist", "expected"),
    [
        (100, 100),  # fewer lists than the floor: all of them
        (512, 256),
        (1024, 256),  # 100k vectors
        (2048, 256),
        (4096, 512),  # 1M vectors: recall@10 1.00 at 512 against 0.96 at 256 (bench/query_semantic.py)
        (8192, 1024),
    ],
)
def test_nprobe_rule_by_hand(nlist, expected):
    class Sized(DenseIndex):
        pass

    Sized.nlist = nlist  # shadows the store's own property: only the rule is under test
    assert object.__new__(Sized).nprobe == expected
