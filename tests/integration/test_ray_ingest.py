"""``claims ingest --ray``: on a local Ray cluster (2 CPUs, one per module) the index equals a local ingest's.

The Ray tests are marked ``ray`` and skipped when Ray is not installed; the checks of the flag without
Ray (one line, exit 2, nothing heavy loaded) always run.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import CORPORA, CORPUS_NAMES, HAS_RAY, HAS_SHARED, ROOT, SAMPLES

needs_ray = pytest.mark.skipif(not HAS_RAY, reason="needs Ray for --ray ingest: pip install -e '.[ray]'")
RAY_SUBSET = 15  # records per corpus


def snapshot(index: Path) -> dict[tuple, np.ndarray]:
    """``{(article_id, ordinal, start, end, text): vector}`` of the live passages (catalog + FAISS)."""
    from index.manifest import CATALOG, read_manifest
    from index.vector_store import VectorStore

    manifest = read_manifest(index)
    store = VectorStore.load(index / manifest.vectors_file)
    with sqlite3.connect(index / CATALOG) as db:
        rows = db.execute(
            "SELECT p.pid, a.article_id, p.ordinal, p.start, p.end, p.text FROM passages p "
            "JOIN articles a ON a.aid = p.aid WHERE p.deleted_gen IS NULL AND a.deleted_gen IS NULL"
        ).fetchall()
    vectors = store.reconstruct(np.array([r[0] for r in rows], dtype=np.int64))
    return {tuple(r[1:]): v for r, v in zip(rows, vectors, strict=True)}


def assert_same_index(ray_index: Path, local_index: Path) -> dict:
    ours, theirs = snapshot(ray_index), snapshot(local_index)
    assert ours.keys() == theirs.keys()
    for key, vector in ours.items():
        np.testing.assert_allclose(vector, theirs[key], atol=1e-5, err_msg=str(key[:4]))
    return ours


@pytest.fixture(scope="module")
def corpora_small(tmp_path_factory) -> list[Path]:
    """The first ``RAY_SUBSET`` records of each shared corpus, one ``.jsonl.gz`` each."""
    if not HAS_SHARED:
        pytest.skip(f"needs the shared corpora in {CORPORA}; the shared folder is absent")
    folder = tmp_path_factory.mktemp("ray-corpora")
    out = []
    for name in CORPUS_NAMES:
        with gzip.open(CORPORA / name / f"{name}.jsonl.gz", "rt", encoding="utf-8") as f:
            lines = [line for _, line in zip(range(RAY_SUBSET), f, strict=False)]
        path = folder / f"{name}.jsonl.gz"
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.writelines(lines)
        out.append(path)
    return out


@pytest.mark.ray
@needs_ray
def test_samples_on_ray_equal_a_local_ingest_and_reingest_is_a_no_op(
    ray_cluster, sample_build, cli, tmp_path
):
    from index.embed import Embedder
    from index.manifest import CATALOG
    from index.ray_ingest import ingest_ray

    index = tmp_path / "ray"
    report = ingest_ray(index, sample_build.inputs, address="local", workers=2)
    assert report.added == sample_build.report.added and report.failed == 0
    ours = assert_same_index(index, sample_build.path)
    # by hand: each text hash embedded once across the two actors; offsets cut the article's text;
    # a vector equals the model's own encoding of the passage text
    assert report.embedded == len({text for *_, text in ours}) == report.passages - report.cached_vectors
    with sqlite3.connect(index / CATALOG) as db:
        texts = dict(db.execute("SELECT article_id, text FROM articles WHERE deleted_gen IS NULL"))
    for article_id, _, start, end, text in list(ours)[:20]:
        assert texts[article_id][start:end].strip() == text.strip()
    key = next(iter(ours))
    np.testing.assert_allclose(ours[key], Embedder().encode([key[-1]])[0], atol=1e-5)

    # the re-ingest through the command (the module's cluster is reused by --ray local)
    result = cli(
        "ingest", *sample_build.inputs, "--ray", "local", "--workers", "1", "--index", index, "--json"
    )
    assert result.exit_code == 0, result.stderr
    again = json.loads(result.stdout)
    assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, report.added)
    assert again["embedded"] == 0 and again["commits"] == 0 and again["generation"] == report.generation


@pytest.fixture(scope="module")
def local_corpora(corpora_small, tmp_path_factory):
    """``(index, report)`` of a local ingest of ``corpora_small`` (its embeddings seed other indexes)."""
    from index.ingest import ingest

    index = tmp_path_factory.mktemp("local-corpora") / "index"
    return index, ingest(index, corpora_small)


@pytest.mark.ray
@needs_ray
def test_corpora_subset_on_ray_equals_a_local_ingest(ray_cluster, corpora_small, local_corpora, tmp_path):
    from index.ray_ingest import ingest_ray

    local_index, local = local_corpora
    ray_report = ingest_ray(tmp_path / "ray", corpora_small, address="local", workers=2, chunk=128)
    assert ray_report.added == local.added == 3 * RAY_SUBSET - local.repeats
    assert (ray_report.passages, ray_report.dropped) == (local.passages, local.dropped)
    assert_same_index(tmp_path / "ray", local_index)


@pytest.mark.ray
@needs_ray
def test_killing_an_embedding_actor_mid_ingest_loses_nothing(ray_cluster, sample_build, tmp_path):
    """An actor killed after the first batch is applied is restarted by Ray and its calls retried."""
    from index.ray_ingest import ingest_ray

    state = {"actors": None, "killed_at": None}

    def progress(event, **info):
        if event == "workers":
            state["actors"] = info["actors"]
        elif event == "passages" and state["killed_at"] is None:
            state["killed_at"] = info["n"]
            ray_cluster.kill(state["actors"][0], no_restart=False)

    index = tmp_path / "ray"
    report = ingest_ray(index, sample_build.inputs, address="local", workers=2, chunk=16, progress=progress)
    assert state["killed_at"] is not None and state["killed_at"] < report.passages  # killed mid-run
    assert report.added == sample_build.report.added and report.passages == sample_build.report.passages
    assert_same_index(index, sample_build.path)


# -- without Ray / bad options: always run ------------------------------------------------------


def _run_cli_without_ray(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """``claims ingest ...`` in a fresh interpreter where ``import ray`` fails; it prints which heavy
    modules were imported by the time it exited."""
    code = (
        "import sys\n"
        "sys.modules['ray'] = None\n"  # import ray -> ImportError, as when it is not installed
        "from cli import app\n"
        "try:\n"
        f"    app({list(args)!r}, standalone_mode=True)\n"
        "finally:\n"
        "    print('heavy:', sorted(m for m in ('torch', 'sentence_transformers', 'faiss') if m in sys.modules))\n"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_ray_flag_without_ray_installed_names_the_extra(tmp_path):
    index = tmp_path / "i"
    result = _run_cli_without_ray(
        "ingest", str(SAMPLES), "--ray", "local", "--index", str(index), tmp_path=tmp_path
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "pip install -e '.[ray]'" in lines[0]
    assert "heavy: []" in result.stdout
    assert not index.exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [(["--ray", "local", "--workers", "0"], "--workers 0"), (["--workers", "2"], "--workers needs --ray")],
)
def test_bad_workers_fail_before_anything_starts(args, expected, tmp_path):
    index = tmp_path / "i"
    result = _run_cli_without_ray("ingest", str(SAMPLES), *args, "--index", str(index), tmp_path=tmp_path)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert "heavy: []" in result.stdout and not index.exists()


@pytest.mark.ray
@needs_ray
def test_sharded_ingest_on_ray_equals_a_local_sharded_ingest(
    ray_cluster, corpora_small, local_corpora, tmp_path, cli
):
    """``--shards 3 --ray``: one plan stage and one actor pool, one writer per shard; every shard holds
    the passages, offsets and vectors the local sharded ingest gives it. Both take their embeddings from
    the local ingest's cache (seeded: this test is about routing and writers; the actors' vectors in a
    sharded run are checked by ``test_killing_an_embedding_actor_mid_sharded_ingest_loses_nothing``)."""
    from index.shard_ingest import ingest_sharded
    from index.shards import create, read_shards
    from tests.integration.test_shards import seed_embeddings

    for name in ("local", "ray"):
        for _, d in create(tmp_path / name, 3).dirs(tmp_path / name):
            seed_embeddings(local_corpora[0], d)
    local = ingest_sharded(tmp_path / "local", corpora_small, shards=3)
    assert local.embedded == 0
    args = (
        "ingest",
        *corpora_small,
        "--shards",
        "3",
        "--ray",
        "local",
        "--index",
        tmp_path / "ray",
        "--json",
    )
    result = cli(*args)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["added"], report["passages"]) == (local.added, local.passages) and local.added > 0
    assert report["embedded"] == 0 and report["cached_vectors"] > 0
    assert report["generation"] == local.generation == 3  # one commit per shard, summed
    shards = 0
    for (_, ours), (_, theirs) in zip(
        read_shards(tmp_path / "ray").dirs(tmp_path / "ray"),
        read_shards(tmp_path / "local").dirs(tmp_path / "local"),
        strict=True,
    ):
        shards += bool(assert_same_index(ours, theirs))
    assert shards == 3  # every shard received articles
    again = json.loads(cli(*args).stdout)  # a re-ingest is a no-op on every shard
    assert (again["added"], again["unchanged"], again["embedded"]) == (0, local.added, 0)


@pytest.mark.ray
@needs_ray
def test_killing_an_embedding_actor_mid_sharded_ingest_loses_nothing(ray_cluster, sample_build, tmp_path):
    """The shards' runs share the actor pool: a killed actor is restarted and every shard is complete."""
    from index.manifest import MANIFEST
    from index.shard_ingest import ingest_sharded
    from index.shards import read_shards

    state = {"actors": None, "killed_at": None}

    def progress(event, **info):
        if event == "workers":
            state["actors"] = info["actors"]
        elif event == "passages" and state["killed_at"] is None:
            state["killed_at"] = info["n"]
            ray_cluster.kill(state["actors"][0], no_restart=False)

    index = tmp_path / "sharded"
    report = ingest_sharded(
        index, sample_build.inputs, shards=2, ray="local", workers=2, chunk=16, progress=progress
    )
    assert state["killed_at"] is not None and state["killed_at"] < report.passages  # killed mid-run
    assert report.added == sample_build.report.added and report.passages == sample_build.report.passages
    union: dict = {}
    for _, d in read_shards(index).dirs(index):
        if (d / MANIFEST).exists():
            part = snapshot(d)
            assert not union.keys() & part.keys()  # each passage in one shard
            union |= part
    theirs = snapshot(sample_build.path)
    assert union.keys() == theirs.keys()
    for key, vector in union.items():
        np.testing.assert_allclose(vector, theirs[key], atol=1e-5, err_msg=str(key[:4]))
