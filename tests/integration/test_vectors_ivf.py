"""The approximate vector store (IVF past ``ANN_THRESHOLD``) with real FAISS: recall against exact
search, deletes as tombstones, filters, save/load, and the switch from exact search."""

from __future__ import annotations

import numpy as np
import pytest

from index import vectors
from index.vectors import VectorWriter, ivf_lists
from search.dense import DenseIndex

DIM = 64


def clustered(n: int, seed: int = 0) -> np.ndarray:
    """Unit vectors around 200 centres: neighbours exist, as with real passage embeddings."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(200, DIM))
    x = centres[rng.integers(0, 200, n)] + 0.35 * rng.normal(size=(n, DIM))
    x = x.astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def stores():
    x = clustered(20_000)
    ids = np.arange(1, len(x) + 1, dtype=np.int64)
    exact = VectorWriter(DenseIndex.empty(DIM))
    exact.add(ids, x)
    approx = VectorWriter(DenseIndex.empty(DIM))
    approx.add(ids, x)
    approx.rebuild("ivf")
    return x, exact.store, approx


def test_ivf_recall_against_exact(stores):
    x, exact, approx = stores
    s = approx.store
    assert s.kind == "ivf" and s.nlist == min(ivf_lists(len(x)), len(x) // 39) == 512
    assert s.nprobe == 256  # at least 256 lists, an eighth of them past 2048
    queries = clustered(100, seed=1)
    recall = np.mean(
        [len({i for i, _ in s.search(q, 10)} & {i for i, _ in exact.search(q, 10)}) / 10 for q in queries]
    )
    assert recall >= 0.95, recall


def test_ivf_deletes_filters_and_reload(stores, tmp_path):
    x, _, approx = stores
    w = VectorWriter(DenseIndex(approx.store.index, approx.store.tombstones.copy()))
    top = w.store.search(x[0], 1)[0][0]
    assert top == 1  # a stored vector finds itself
    w.remove([1, 2, 3])
    assert 1 not in {i for i, _ in w.store.search(x[0], 10)}
    assert len(w.store) == len(x) - 3
    allowed = set(range(5000, 5400))
    got = w.store.search(x[0], 10, allowed=allowed)
    assert len(got) == 10 and {i for i, _ in got} <= allowed
    w.add(np.array([900_001], np.int64), x[:1])  # adds after training land in the trained lists
    assert w.store.search(x[0], 1)[0][0] == 900_001
    path = tmp_path / "v.faiss"
    w.save(path)
    back = DenseIndex.load(path)
    assert back.kind == "ivf" and len(back) == len(w.store)
    assert back.search(x[0], 1)[0][0] == 900_001
    np.testing.assert_allclose(back.reconstruct(np.array([10]))[0], x[9], atol=1e-6)


def test_store_switches_to_ivf_past_the_threshold(monkeypatch):
    monkeypatch.setattr(vectors, "ANN_THRESHOLD", 3_000)
    x = clustered(4_000, seed=2)
    w = VectorWriter(DenseIndex.empty(DIM))
    w.add(np.arange(1, 2_001, dtype=np.int64), x[:2_000])
    w.maybe_restructure()
    assert w.store.kind == "flat"
    w.add(np.arange(2_001, 4_001, dtype=np.int64), x[2_000:])
    w.maybe_restructure()
    assert w.store.kind == "ivf" and len(w.store) == 4_000
    w.remove(list(range(1, 1_000)))  # a quarter dead: rebuilt without the tombstones
    w.maybe_restructure()
    assert w.store.kind == "ivf" and len(w.store.tombstones) == 0 and len(w.store) == 3_001
