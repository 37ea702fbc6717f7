"""Concurrency and damage: readers during a batch, two writers, corrupt files, failed writes.

- A reader opened before or during a batch sees the last committed generation (its passage count is
  the old one until the manifest lands) and its searches keep working, also after the commit.
- A second writer either fails at once with one clear line (``--no-wait``) or waits for the first.
- Every kind of damaged file gives one clear line through the CLI (exit 2), never a traceback, naming
  ``claims repair`` (which then fixes it) or, when the catalog itself is damaged, what to do instead.
- A write that fails half-way (disk full) aborts the batch and leaves the previous generation.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from index.errors import IndexLockedError
from index.ingest import ingest
from index.manifest import CATALOG, read_manifest
from search.admin import check_index
from search.searcher import Searcher, SearchOptions

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
OLD_WORDS = "Kinzhal Kaliningrad"  # in the samples (the committed generation)
NEW_WORD = "Idlib"  # only in the batch (FA-KES), or in the changed samples without the shared corpora
runner = CliRunner()


@pytest.fixture(scope="module")
def built(sample_index, tmp_path_factory, crash_rig):
    """``base``: the sample index (generation 1), with the embeddings of ``batch`` cached, so a child
    ingest of ``batch`` never loads the model."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    bench = crash_rig
    work = tmp_path_factory.mktemp("concurrency")
    extra = bench.shared_records(20, corpora=("fakes-syria-war",))
    if not extra:  # no shared corpora: changed copies of the samples, one of them naming Idlib
        extra = [
            r
            | {"id": r["id"] + "-v2", "text": r["text"] + f"\n\nA reporter in {NEW_WORD} said so, copy {i}."}
            for i, r in enumerate(bench.sample_records())
        ]
    batch = bench.write_jsonl(work / "batch.jsonl.gz", extra)
    base = work / "base"
    shutil.copytree(sample_index, base)
    ref = work / "ref"
    shutil.copytree(base, ref)
    ingest(ref, [batch])
    bench.prime_embeddings(base, ref)
    return {
        "base": base,
        "batch": batch,
        "old": len(bench.passage_multiset(base)),
        "new": len(bench.passage_multiset(ref)),
    }


@pytest.fixture
def index(built, tmp_path) -> Path:
    dst = tmp_path / "index"
    shutil.copytree(built["base"], dst)
    return dst


def claims(*args: str, env: dict | None = None, stderr=subprocess.PIPE) -> subprocess.Popen:
    """The real command line in a child process."""
    full = {k: v for k, v in os.environ.items() if k != "CLAIMS_FAULT"} | {"HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "cli", *args],
        cwd=ROOT,
        env=full | (env or {}),
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )


def count(s: Searcher) -> int:
    return len(s.catalog.passage_ids())


def search_ok(s: Searcher, text: str, mode: str = "hybrid") -> list[int]:
    """Search and check every hit is a passage of the reader's generation."""
    hits = s.search(text, SearchOptions(mode=mode, limit=20)).hits
    visible = s.catalog.passage_ids()
    assert all(h.passage_id in visible for h in hits)
    return [h.passage_id for h in hits]


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got:\n{stderr}"
    assert "Traceback" not in stderr
    return lines[0]


# -- readers during a batch ---------------------------------------------------------------------------------
def test_reader_sees_the_old_generation_until_the_manifest_lands(built, index, tmp_path):
    """The batch pauses right before the manifest rename: catalog rows, Whoosh documents and the new
    FAISS file are all written, and still no reader sees any of them."""
    before = Searcher(index)  # opened before the batch; first searches only after the commit
    warm = Searcher(index)  # opened before the batch, searched before it too
    assert search_ok(warm, OLD_WORDS)
    assert count(before) == built["old"]
    proc = claims(
        "ingest",
        str(built["batch"]),
        "--index",
        str(index),
        "-q",
        env={"CLAIMS_FAULT": "before-manifest-rename:1:pause", "CLAIMS_FAULT_DIR": str(tmp_path)},
    )
    try:
        deadline = time.monotonic() + 120
        polls = 0
        while not (tmp_path / "paused").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the batch never reached the manifest rename"
            with Searcher(index) as s:  # readers opened while the batch runs
                assert s.manifest.generation == 1 and count(s) == built["old"]
                assert search_ok(s, OLD_WORDS, mode="keyword")
            polls += 1
        during = Searcher(index)
        assert during.manifest.generation == 1 and count(during) == built["old"]
        assert search_ok(during, OLD_WORDS)
        assert search_ok(during, NEW_WORD, mode="keyword") == []  # in Whoosh already, not committed
        assert search_ok(warm, OLD_WORDS)
        report = check_index(index)  # a running batch is not damage
        assert report["ok"], report["problems"]
        assert report["uncommitted"] > 0
    finally:
        (tmp_path / "resume").touch()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    with Searcher(index) as after:
        assert after.manifest.generation == 2 and count(after) == built["new"]
        assert search_ok(after, NEW_WORD, mode="keyword")
    # Readers pinned to generation 1 still see it, and search it: the old FAISS file is gone by now.
    assert not (index / "vectors.1.faiss").exists()
    for s in (before, during, warm):
        assert s.manifest.generation == 1 and count(s) == built["old"]
        assert search_ok(s, OLD_WORDS)
        assert search_ok(s, OLD_WORDS, mode="semantic")
        assert search_ok(s, NEW_WORD, mode="keyword") == []
        s.close()
    assert check_index(index)["ok"]


def test_readers_search_throughout_a_batch(built, index):
    """A thread opens readers and searches in a loop while a child process ingests a batch."""
    stop = threading.Event()
    seen: list[tuple[int, int]] = []
    errors: list[BaseException] = []
    expected = {1: built["old"], 2: built["new"]}
    pinned = Searcher(index)

    def read() -> None:
        try:
            while not stop.is_set():
                with Searcher(index) as s:
                    n = count(s)
                    assert n == expected[s.manifest.generation]
                    search_ok(s, OLD_WORDS)
                    seen.append((s.manifest.generation, n))
                assert count(pinned) == built["old"]
                search_ok(pinned, OLD_WORDS)
        except BaseException as e:  # noqa: BLE001 - reported by the test below
            errors.append(e)

    def wait_for(cond) -> None:
        deadline = time.monotonic() + 60
        while not cond() and not errors and time.monotonic() < deadline:
            time.sleep(0.05)

    t = threading.Thread(target=read)
    t.start()
    try:
        wait_for(lambda: seen)  # the reader runs before the batch starts
        proc = claims("ingest", str(built["batch"]), "--index", str(index), "-q")
        _, err = proc.communicate(timeout=300)
        wait_for(lambda: seen[-1][0] == 2)  # and goes on until it sees the new generation
    finally:
        stop.set()
        t.join(60)
    pinned.close()
    assert proc.returncode == 0, err
    assert not errors, repr(errors[0])
    gens = [g for g, _ in seen]
    assert gens[0] == 1 and gens[-1] == 2, gens
    assert gens == sorted(gens)  # never back to the old generation once the new one is seen
    assert check_index(index)["ok"]


# -- two writers -----------------------------------------------------------------------------------------------
def test_second_writer_without_wait_fails_with_one_line(built, index):
    from index.writer import IndexWriter, WriteLock

    lock = WriteLock(index)
    try:
        with pytest.raises(IndexLockedError, match="another `claims` process is writing to"):
            IndexWriter(index, wait=False)
        proc = claims("ingest", str(built["batch"]), "--index", str(index), "--no-wait")
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 2
        line = one_line(err)
        assert "another `claims` process is writing to" in line and "--no-wait" in line
    finally:
        lock.release()
    assert read_manifest(index).generation == 1
    assert check_index(index)["ok"]


def test_second_writer_waits_then_succeeds(built, index, tmp_path):
    from index.writer import WriteLock

    log = tmp_path / "stderr"
    lock = WriteLock(index)
    try:
        with open(log, "w") as err:
            proc = claims("ingest", str(built["batch"]), "--index", str(index), stderr=err)
        # It says it is waiting, and waits.
        deadline = time.monotonic() + 60
        while "waiting for another writer" not in log.read_text():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        time.sleep(1.0)
        assert proc.poll() is None
        assert read_manifest(index).generation == 1
    finally:
        lock.release()
    proc.wait(timeout=300)
    assert proc.returncode == 0, log.read_text()
    assert read_manifest(index).generation == 2
    report = check_index(index)
    assert report["ok"] and report["passages"] == built["new"], report


# -- damaged files --------------------------------------------------------------------------------------------
def _garbage(path: Path, keep: int = 0) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:keep] + os.urandom(max(len(data) - keep, 64)))


def _damage(index: Path, case: str) -> None:
    m = read_manifest(index)
    lexical = index / m.lexical_dir
    if case == "faiss-truncated":
        p = index / m.vectors_file
        p.write_bytes(p.read_bytes()[: p.stat().st_size // 3])
    elif case == "faiss-missing":
        (index / m.vectors_file).unlink()
    elif case == "whoosh-toc-garbage":
        for p in lexical.glob("*.toc"):
            _garbage(p)
    elif case == "whoosh-segment-garbage":
        for p in lexical.glob("*.seg"):
            _garbage(p, keep=16)
    elif case == "lexical-missing":
        shutil.rmtree(lexical)
    elif case == "manifest-corrupt":
        (index / "manifest.json").write_text('{"format": "claims-index", "generation": ')
    elif case == "manifest-newer":
        data = json.loads((index / "manifest.json").read_text())
        (index / "manifest.json").write_text(json.dumps(data | {"format_version": 99}))
    elif case == "catalog-missing":
        for p in index.glob(CATALOG + "*"):
            p.unlink()
    elif case == "catalog-garbage":
        _garbage(index / CATALOG)
    elif case == "catalog-pages-garbage":  # the header intact, the tables' pages damaged
        _garbage(index / CATALOG, keep=4096 * 2)
    else:
        raise AssertionError(case)


DERIVED = [
    "faiss-truncated",
    "faiss-missing",
    "whoosh-toc-garbage",
    "whoosh-segment-garbage",
    "lexical-missing",
    "manifest-corrupt",
]
COMMANDS = [
    ["search", OLD_WORDS, "--mode", "keyword"],
    ["search", OLD_WORDS, "--mode", "hybrid"],
    ["similar", "Russia moved jets armed with hypersonic missiles to Kaliningrad"],
    ["stats"],
    ["check"],
]


def run_cli(*args: str):
    r = runner.invoke(app, list(args))
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output
    return r


@pytest.mark.parametrize("case", DERIVED)
def test_damaged_derived_store_one_line_then_repair(built, index, case):
    _damage(index, case)
    failed = 0
    for cmd in COMMANDS:
        r = run_cli(*cmd, "--index", str(index))
        assert r.exit_code in (0, 1, 2), (cmd, r.output)
        if r.exit_code != 2:
            continue  # this command does not read the damaged store
        failed += 1
        lines = r.stderr.strip().splitlines()
        if cmd[0] == "check" and len(lines) > 1:  # check lists each problem, then the fix
            assert all(line.startswith("problem:") for line in lines), r.stderr
            assert "claims repair" in lines[-1], r.stderr
        else:
            assert "claims repair" in one_line(r.stderr), (cmd, r.stderr)
    assert failed >= 2 if case != "faiss-missing" else failed >= 1
    r = run_cli("repair", "--index", str(index))
    assert r.exit_code == 0, r.output
    report = check_index(index)
    assert report["ok"] and report["passages"] == built["old"], report
    for cmd in COMMANDS[:3]:
        assert run_cli(*cmd, "--index", str(index)).exit_code == 0, cmd


@pytest.mark.parametrize(
    "case, hint",
    [
        ("manifest-newer", "upgrade"),
        ("catalog-missing", "re-ingest"),
        ("catalog-garbage", "re-ingest"),
        ("catalog-pages-garbage", "re-ingest"),
    ],
)
def test_damage_repair_cannot_fix_says_what_to_do(index, case, hint):
    _damage(index, case)
    for cmd in [*COMMANDS, ["repair"]]:
        r = run_cli(*cmd, "--index", str(index))
        assert r.exit_code == 2, (cmd, r.output)
        line = one_line(r.stderr)
        assert hint in line, (cmd, line)
        assert "claims repair" not in line, (cmd, line)


# -- failed writes -----------------------------------------------------------------------------------------------
def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _catalog_full(*args, **kwargs):
    raise sqlite3.OperationalError("database or disk is full")


@pytest.mark.parametrize("where", ["faiss-save", "whoosh-toc", "whoosh-segment", "catalog"])
def test_disk_full_aborts_the_batch_and_keeps_the_previous_state(built, index, monkeypatch, where):
    if where == "faiss-save":
        monkeypatch.setattr("index.vectors.atomic_write_bytes", _disk_full)
    elif where == "whoosh-toc":  # inside Whoosh's commit: segment written, TOC write fails
        monkeypatch.setattr("whoosh.index.TOC.write", _disk_full)
    elif where == "whoosh-segment":
        monkeypatch.setattr("whoosh.writing.SegmentWriter._finalize_segment", _disk_full)
    else:
        monkeypatch.setattr("index.catalog.CatalogWriter.add_article", _catalog_full)
    r = run_cli("ingest", str(built["batch"]), "--index", str(index), "-q")
    assert r.exit_code == 2, r.output
    line = one_line(r.stderr)
    assert ("disk is full" if where == "catalog" else "No space left on device") in line, line
    assert "disk space" in line, line
    assert read_manifest(index).generation == 1
    report = check_index(index)
    assert report["ok"] and report["passages"] == built["old"] and report["uncommitted"] == 0, report
    with Searcher(index) as s:
        assert search_ok(s, OLD_WORDS) and search_ok(s, NEW_WORD, mode="keyword") == []
    monkeypatch.undo()
    # The disk has room again: the same batch goes in.
    r = run_cli("ingest", str(built["batch"]), "--index", str(index), "-q")
    assert r.exit_code == 0, r.output
    report = check_index(index)
    assert report["ok"] and report["passages"] == built["new"], report
