"""Real indexes for the integration tests: the real Whoosh, FAISS and embedding model, built once a session.

* ``sample_index``: the project's own ``samples/articles`` plus the two real seed articles of
  ``../shared/seeds`` (only the samples when ``../shared`` is absent, so the core path always runs).
* ``corpora_index``: the first ``CORPUS_SUBSET`` records of each of the three real corpora in
  ``../shared/corpora`` (skipped when ``../shared`` is absent).

Both are read-only for the tests: a test that writes copies one first (``copy_index``) or builds a
tiny index of its own.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "articles"
SHARED = ROOT.parent / "shared"
SEEDS = SHARED / "seeds"
CORPORA = SHARED / "corpora"
BENCH = SHARED / "bench"
HAS_SHARED = SHARED.is_dir()
requires_shared = pytest.mark.skipif(
    not HAS_SHARED, reason=f"needs the shared data folder {SHARED} (seeds, corpora, bench); it is absent"
)

CORPUS_NAMES = ("euvsdisinfo-2015-2017", "fakes-syria-war", "nyt-guardian-ukraine-2022")
CORPUS_SUBSET = 150  # records per corpus: ~3,700 passages, the bulk of the suite's embedding time


@dataclass
class Built:
    """An index built by a fixture, with what went into it."""

    path: Path
    report: object  # index.ingest.IngestReport
    inputs: list[Path]


def seed_files() -> list[Path]:
    return sorted(SEEDS.glob("*.txt")) if HAS_SHARED else []


def sample_files() -> list[Path]:
    return sorted(p for p in SAMPLES.iterdir() if p.is_file() and not p.name.startswith("."))


@pytest.fixture(scope="session")
def sample_build(tmp_path_factory) -> Built:
    from index.ingest import ingest

    path = tmp_path_factory.mktemp("sample") / "index"
    inputs = [SAMPLES, *([SEEDS] if HAS_SHARED else [])]
    report = ingest(path, inputs)
    return Built(path, report, inputs)


@pytest.fixture(scope="session")
def sample_index(sample_build) -> Path:
    """The sample articles (+ the two seeds) as a real index folder. Read-only: copy it to change it."""
    return sample_build.path


@pytest.fixture(scope="session")
def sample_searcher(sample_index):
    from search.searcher import Searcher

    with Searcher(sample_index) as s:
        yield s


@dataclass
class Subset:
    """The corpora subset: one ``<name>.jsonl.gz`` per corpus in ``folder``, and its records."""

    folder: Path
    records: dict[str, list[dict]]


@pytest.fixture(scope="session")
def corpora_subset(tmp_path_factory) -> Subset:
    """The first ``CORPUS_SUBSET`` records of each corpus, written to ``<tmp>/<name>.jsonl.gz``."""
    if not HAS_SHARED:
        pytest.skip(f"needs the shared corpora in {CORPORA}; the shared folder is absent")
    folder = tmp_path_factory.mktemp("corpora")
    records: dict[str, list[dict]] = {}
    for name in CORPUS_NAMES:
        lines = []
        with gzip.open(CORPORA / name / f"{name}.jsonl.gz", "rt", encoding="utf-8") as f:
            for line in f:
                if len(lines) == CORPUS_SUBSET:
                    break
                lines.append(line)
        with gzip.open(folder / f"{name}.jsonl.gz", "wt", encoding="utf-8") as f:
            f.writelines(lines)
        records[name] = [json.loads(line) for line in lines]
    return Subset(folder, records)


@pytest.fixture(scope="session")
def corpora_build(corpora_subset, tmp_path_factory) -> Built:
    from index.ingest import ingest

    inputs = [corpora_subset.folder / f"{name}.jsonl.gz" for name in CORPUS_NAMES]
    path = tmp_path_factory.mktemp("corpora-index") / "index"
    report = ingest(path, inputs)
    return Built(path, report, inputs)


@pytest.fixture(scope="session")
def corpora_index(corpora_build) -> Path:
    """The corpora subsets as a real index folder. Read-only: copy it to change it."""
    return corpora_build.path


@pytest.fixture(scope="session")
def corpora_searcher(corpora_index):
    from search.searcher import Searcher

    with Searcher(corpora_index) as s:
        yield s


@pytest.fixture
def copy_index(tmp_path) -> Callable[[Path], Path]:
    """``copy_index(src)`` -> a private copy of an index folder that a test may change."""
    n = 0

    def copy(src: Path) -> Path:
        nonlocal n
        n += 1
        dst = tmp_path / f"index-copy-{n}"
        shutil.copytree(src, dst)
        return dst

    return copy


@pytest.fixture
def cli() -> Callable[..., object]:
    """``cli("search", "x", "--index", path)`` -> click Result (separate ``stdout``/``stderr``)."""
    from typer.testing import CliRunner

    from cli import app

    runner = CliRunner()

    def invoke(*args) -> object:
        return runner.invoke(app, [str(a) for a in args])

    return invoke


@pytest.fixture(scope="session")
def crash_rig():
    """``tests/crash_rig.py`` as a module: the crash harness shared by the crash and concurrency tests
    (``bench/crash.py`` runs it over the whole shared corpora)."""
    import importlib.util
    import sys

    name = "crash_rig"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "tests" / "crash_rig.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


# -- a local Ray cluster (the optional extra; tests that need it skip without it) -----------------------
HAS_RAY = importlib.util.find_spec("ray") is not None


@pytest.fixture(scope="module")
def ray_cluster():
    """One local Ray cluster with 2 CPUs per test module (``--ray local`` and the ingests reuse it:
    ``ray.is_initialized``)."""
    if not HAS_RAY:
        pytest.skip("needs Ray: pip install -e '.[ray]'")
    import logging

    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    yield ray
    ray.shutdown()
