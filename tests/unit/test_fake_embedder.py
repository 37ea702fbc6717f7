"""The fake embedder (``fake_embedder.py``) and the guard of ``conftest.py``: the unit tier builds and
searches real indexes without the model, and a unit test that loads the model fails."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from fake_embedder import DIMENSION, NAME, HashingEmbedder, features

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def test_vectors_are_deterministic_unit_float32_of_the_real_shape():
    texts = ["Three MiG-31 jets carrying Kinzhal missiles", "", "!!!", "ß İ 🚀 日本"]
    a, b = HashingEmbedder().encode(texts), HashingEmbedder("any/model").encode(texts)
    assert a.shape == (4, DIMENSION) and a.dtype == np.float32 and a.flags.c_contiguous
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-6)
    assert HashingEmbedder().encode([]).shape == (0, DIMENSION)
    np.testing.assert_array_equal(HashingEmbedder().encode_query(texts[0]), a[0])


def test_one_word_by_hand():
    """``Ab``: the word and the 3- and 4-grams of ``#ab#``, each BLAKE2b-hashed to a slot and a sign."""
    assert features("Ab") == ["w:ab", "g:#ab", "g:ab#", "g:#ab#"]
    expected = np.zeros(DIMENSION)
    for f in ("w:ab", "g:#ab", "g:ab#", "g:#ab#"):
        h = int.from_bytes(hashlib.blake2b(f.encode(), digest_size=8).digest(), "little")
        expected[h % DIMENSION] += 1.0 if h >> 63 else -1.0
    expected /= np.linalg.norm(expected)
    np.testing.assert_allclose(HashingEmbedder().encode(["Ab"])[0], expected, rtol=1e-6)


def test_shared_words_score_higher_than_unrelated_text():
    q, near, far = HashingEmbedder().encode(
        [
            "hypersonic missiles sent to Kaliningrad",
            "Russia sent jets with Kinzhal hypersonic missiles to the Kaliningrad exclave",
            "the Christmas ceasefire was announced by the patriarch",
        ]
    )
    assert float(q @ near) > float(q @ far) + 0.2


def test_ingest_and_search_run_on_the_fake(tmp_path):
    """The writer, the manifest, FAISS and the dense leg all take the fake in place of the model."""
    import index.embed
    from index.ingest import ingest
    from index.manifest import read_manifest
    from search.searcher import Searcher, SearchOptions

    assert index.embed.Embedder is HashingEmbedder
    src = tmp_path / "articles"
    src.mkdir()
    for name in ("01_kinzhal_kaliningrad.txt", "11_christmas_ceasefire_claim.txt"):
        shutil.copy(ROOT / "samples" / "articles" / name, src / name)
    report = ingest(tmp_path / "index", [src])
    m = read_manifest(tmp_path / "index")
    assert (m.model, m.dimension) == (NAME, DIMENSION) and m.counts["passages"] > 2, report
    with Searcher(tmp_path / "index") as s:
        some = next(s.catalog.iter_passages())
        hits = s.search(some["text"], SearchOptions(mode="semantic", limit=3)).hits
        assert hits[0].passage_id == some["passage_id"]
        assert hits[0].scores["semantic"] == pytest.approx(1.0, abs=1e-5), hits[0].scores


def test_the_guard_refuses_the_real_loader_and_the_model_libraries(model_guard):
    import index.embed

    refused = "used the real embedding model"
    with pytest.raises(AssertionError, match=refused + r" \(index.embed._load.*tests/integration"):
        index.embed._load("/some/model", "cpu")
    if "sentence_transformers" in sys.modules:  # an integration test of this session imported it
        with pytest.raises(AssertionError, match=refused):
            sys.modules["sentence_transformers"].SentenceTransformer("/some/model")
    else:
        with pytest.raises(AssertionError, match=refused):
            import sentence_transformers  # noqa: F401
    assert len(model_guard.trips) == 2
    model_guard.trips.clear()  # asserted on: don't fail this test


INNER_TESTS = """
import index.embed


def test_real_loader():
    index.embed._load("/some/model", "cpu")


def test_swallowed():
    try:
        index.embed._load("/some/model", "cpu")
    except BaseException:
        pass


def test_import():
    import sentence_transformers  # noqa: F401


def test_fake_is_fine():
    assert index.embed.Embedder().encode(["x"]).shape == (1, 384)
"""


def test_a_unit_test_that_loads_the_model_fails(tmp_path):
    """The guard in a pytest run of its own: three tests that reach for the model fail (one of them
    catches the error), the one that uses the fake passes."""
    for name in ("conftest.py", "fake_embedder.py"):
        shutil.copy(HERE / name, tmp_path / name)
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(INNER_TESTS), encoding="utf-8")
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    out = r.stdout + r.stderr
    assert "3 failed, 1 passed" in out, out
    for name in ("test_real_loader", "test_swallowed", "test_import"):
        assert f"FAILED test_inner.py::{name}" in out, out
    assert "the real embedding model was used" in out
