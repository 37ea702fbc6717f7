"""Crash safety: an ingest killed with SIGKILL anywhere leaves an index that opens, checks clean, holds
exactly one committed generation, and that the same ingest, run again, completes with no passage lost
or duplicated.

The rig lives in ``tests/crash_rig.py`` (``bench/crash.py`` runs it over the whole shared corpora);
this test runs it on the samples plus the first 40 FA-KES records: every named checkpoint of
``index/faults.py`` once, crashes during recovery, a crash before the first commit ever, and
random-time kills.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from index.faults import CHECKPOINTS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TRIALS = 22


@pytest.fixture(scope="module")
def crash(crash_rig):
    return crash_rig


@pytest.fixture(scope="module")
def rig(crash, tmp_path_factory, monkeypatch_module):
    records = crash.sample_records() + crash.shared_records(40, corpora=("fakes-syria-war",))
    # Catalog chunks small enough that the second half spans several of them (several checkpoints).
    chunk = 128 if len(records) > 30 else 16
    rig = crash.CrashRig(tmp_path_factory.mktemp("crash"), records, chunk=chunk, log=lambda m: None)
    rig.setup()
    return rig


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    mp.setenv("HF_HUB_OFFLINE", "1")
    mp.delenv("CLAIMS_FAULT", raising=False)
    yield mp
    mp.undo()


def test_kills_anywhere_leave_one_committed_generation_and_resume_exactly(crash, rig):
    trials = crash.plan(rig, TRIALS, random.Random(20240917))
    outcomes = [rig.run(t) for t in trials]
    for o in outcomes:
        print(o.line())
    summary = crash.summarize(outcomes)
    print(summary)
    failed = [o.line() for o in outcomes if o.failures]
    assert not failed, "\n".join(failed)
    assert summary["kills"] >= 20
    assert set(CHECKPOINTS) <= set(summary["kill_points"]), "a checkpoint was never reached"
    states = {s.split(" (")[0] for o in outcomes for s in o.states}
    assert {"old", "new", "no index"} <= states  # kills before and after the commit point, and on a new index


def test_a_crash_before_the_first_commit_reports_no_index(crash, rig, tmp_path):
    """The CLI says "no index" in one line (exit 2) until the first batch commits; then it works."""
    from typer.testing import CliRunner

    from cli import app

    index = tmp_path / "new"
    import shutil

    shutil.copytree(rig.fresh, index)
    where = rig.child(index, rig.first, "vectors-before-rename:1", None, "cli-fresh")
    assert where == "vectors-before-rename#1"
    runner = CliRunner()
    for args in (["stats"], ["search", "Kinzhal", "--mode", "keyword"], ["check"]):
        r = runner.invoke(app, [*args, "--index", str(index)])
        assert r.exit_code == 2, (args, r.output)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "no index at" in lines[0] and "claims ingest" in lines[0], r.stderr
        assert "Traceback" not in r.output
    r = runner.invoke(app, ["ingest", str(rig.first), "--index", str(index), "-q"])
    assert r.exit_code == 0, r.output
    assert crash.passage_multiset(index) == rig.first_set
    r = runner.invoke(app, ["check", "--index", str(index)])
    assert r.exit_code == 0, r.output
