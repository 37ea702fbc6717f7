"""One search contract (issue 10) and the batch, paging, minimum-similarity, empty-query, early-validation
and output fixes (issue 11, items 5, 6, 8, 9, 10, 11 and "Also"), on the real sample index and model."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import stat
import threading
import time
from pathlib import Path

import pytest

from index.errors import ClaimsError
from search.batch import run_batch
from search.experiment import floored, leg_runs, run_eval, to_docs
from search.options import OptionError, SearchOptions, similar_options
from search.query import Filters
from search.searcher import EmptyQueryError

ROOT = Path(__file__).resolve().parents[2]
QUERIES = ROOT / "samples" / "queries.tsv"
QRELS = ROOT / "samples" / "qrels"


def _one_line_error(r, *fragments: str) -> None:
    assert r.exit_code == 2, (r.exit_code, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), r.stderr
    assert "unexpected" not in r.stderr
    for f in fragments:
        assert f in r.stderr, (f, r.stderr)


# -- drift: one set of defaults ------------------------------------------------------------------
def test_similar_command_and_library_rank_the_same(cli, sample_index, sample_searcher):
    text = "three jets carrying hypersonic missiles were sent to the Baltic exclave"
    r = cli("similar", text, "--json", "--index", sample_index)
    assert r.exit_code == 0, r.stderr
    ids = [json.loads(line)["passage_id"] for line in r.stdout.splitlines()]
    lib = [h.passage_id for h in sample_searcher.similar(text).hits]
    assert ids == lib and len(ids) >= 2
    assert [h.passage_id for h in sample_searcher.similar(text, opts=similar_options()).hits] == lib


def test_weights_out_of_range_is_one_line_exit_2(cli, sample_index):
    r = cli("search", "hypersonic", "--weights", "-1,1", "--index", sample_index)
    _one_line_error(r, "--weights", ">= 0")


def test_bad_line_in_eval_queries_names_file_and_line(cli, sample_index, tmp_path):
    bad = tmp_path / "queries.tsv"
    bad.write_text("q1\tKinzhal Kaliningrad\nno tab here\n", encoding="utf-8")
    r = cli("eval", "--queries", bad, "--qrels", QRELS, "--index", sample_index)
    _one_line_error(r, f"{bad}:2", "no tab")


def test_eval_refuses_qrels_naming_no_document_of_the_index(cli, sample_index, tmp_path):
    qrels = tmp_path / "qrels"
    qrels.write_text("q1 0 no-such-article 1\n", encoding="utf-8")
    r = cli("eval", "--queries", QUERIES, "--qrels", qrels, "--index", sample_index, "-m", "keyword")
    _one_line_error(r, "name no article of the index", "--group-by passage")


def test_similar_text_and_id_conflict(cli, sample_index, sample_searcher):
    pid = min(sample_searcher.catalog.passage_ids())
    r = cli("similar", "some claim", "--id", pid, "--index", sample_index)
    _one_line_error(r, "not both")
    with pytest.raises(OptionError):
        sample_searcher.similar("some claim", passage_id=pid)


def test_similar_by_id_around_auto_is_the_passages_own_date(sample_searcher):
    dated = next(r for r in sample_searcher.catalog.iter_passages() if r["date"])
    res = sample_searcher.similar(passage_id=dated["passage_id"], opts=similar_options(explain=True))
    assert res.explain["around"] == dated["date"][:10]
    assert "date" in res.explain["legs"] and all("date" in h.ranks or h.date is None for h in res.hits)
    undated = next((r for r in sample_searcher.catalog.iter_passages() if not r["date"]), None)
    if undated is not None:  # says why not: no date leg, around null
        res = sample_searcher.similar(passage_id=undated["passage_id"], opts=similar_options(explain=True))
        assert res.explain["around"] is None and "date" not in res.explain["legs"]
        assert "has no date" in res.notes[0]


# -- export with the date leg ----------------------------------------------------------------------
def test_export_around_rows_and_manifest_carry_the_date_leg(sample_index, tmp_path, sample_searcher):
    from search.export import export

    dated = next(r for r in sample_searcher.catalog.iter_passages() if r["date"])
    day = dated["date"][:10]
    opts = SearchOptions(limit=20, around=day)
    out = tmp_path / "run.jsonl"
    n = export(sample_index, "missile strike", out, opts)
    lines = out.read_text(encoding="utf-8").splitlines()
    manifest = json.loads(lines[0])["manifest"]
    rows = [json.loads(x) for x in lines[1:]]
    assert n == len(rows) > 0
    hits = sample_searcher.search("missile strike", opts).hits
    assert [(r["passage_id"], r["scores"], r["ranks"]) for r in rows] == [
        (h.passage_id, h.scores, h.ranks) for h in hits
    ]
    assert any("date" in r["ranks"] for r in rows)
    assert manifest["options"]["legs"] == ["keyword", "semantic", "date"]
    assert manifest["options"]["fusion_params"]["weights"] == [0.4, 0.6, opts.around_weight]
    assert manifest["options"]["date_leg"] == {
        "around": day,
        "days": opts.around_days,
        "weight": opts.around_weight,
    }
    csv_out = tmp_path / "run.csv"
    export(sample_index, "missile strike", csv_out, opts)
    header = csv_out.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert "date_score" in header and "date_rank" in header


# -- item 10: every option checked before the model loads --------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["search", "NATO", "--since", "notadate"],
        ["search", "NATO", "--until", "2022-99-01"],
        ["search", "NATO", "--around", "someday"],
        ["search", "NATO", "--weights", "-1,1"],
        ["search", "NATO", "--where", "nosuchfield=x"],
        ["search", "NATO", "--depth", "3", "-k", "2", "--offset", "2"],
        ["similar", "NATO", "--threshold", "2"],
        ["similar", "NATO", "--since", "notadate"],
        ["export", "NATO", "-o", "x.jsonl", "--since", "notadate"],
        ["search", "https://t.co/abc pic.twitter.com/x", "--clean", "-m", "semantic"],
    ],
)
def test_bad_options_fail_before_the_model_loads(cli, sample_index, monkeypatch, args):
    import index.embed

    loaded = []

    def no_model(*a, **kw):
        loaded.append(a)
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(index.embed.Embedder, "__init__", no_model)
    start = time.perf_counter()
    r = cli(*args, "--index", sample_index)
    assert time.perf_counter() - start < 1.0
    _one_line_error(r)
    assert loaded == []


# -- item 6: pages never overlap ------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
def test_pages_are_slices_of_one_ranking(sample_searcher, mode):
    base = SearchOptions(mode=mode, depth=12, limit=4, min_similarity=None)
    whole = [
        h.passage_id for h in sample_searcher.search("missile", dataclasses.replace(base, limit=12)).hits
    ]
    pages = [
        [h.passage_id for h in sample_searcher.search("missile", dataclasses.replace(base, offset=o)).hits]
        for o in (0, 4, 8)
    ]
    assert sum(pages, []) == whole and len(set(whole)) == len(whole) == 12
    with pytest.raises(OptionError, match="raise --depth to at least 14"):
        sample_searcher.search("missile", dataclasses.replace(base, offset=10))


def test_cli_page_past_the_depth_is_refused(cli, sample_index):
    r = cli("search", "missile", "--depth", "3", "-k", "2", "--offset", "2", "--index", sample_index)
    _one_line_error(r, "raise --depth to at least 4")


# -- item 8: minimum similarity, --threshold on every row, export of hits ------------------------
def test_semantic_candidates_below_the_minimum_are_no_hits(cli, sample_index, sample_searcher):
    opts = SearchOptions(mode="semantic", limit=50, explain=True)
    res = sample_searcher.search("Kaliningrad", opts)
    assert res.explain["min_similarity"] == opts.min_similarity
    assert all(h.scores["semantic"] >= opts.min_similarity for h in res.hits)
    loose = sample_searcher.search("Kaliningrad", dataclasses.replace(opts, min_similarity=None)).hits
    assert len(loose) > len(res.hits)  # the floor cut something: it is not a no-op here
    # A filter that leaves no passage about the query (the two seed articles never name Makiivka): no
    # hits, exit 1, where without the minimum the semantic leg padded the page with unrelated passages.
    seeds = dataclasses.replace(opts, mode="hybrid", filters=Filters(sources=["seeds"]))
    padded = sample_searcher.search("Makiivka", dataclasses.replace(seeds, min_similarity=None)).hits
    assert padded and all("keyword" not in h.scores for h in padded)
    assert sample_searcher.search("Makiivka", seeds).hits == []
    r = cli("search", "Makiivka", "--source", "seeds", "--index", sample_index)
    assert r.exit_code == 1 and r.stdout.strip() == ""


def test_threshold_applies_to_every_row(sample_searcher):
    from search.dense_leg import cosines

    opts = similar_options(threshold=0.5, around=None)
    text = "three jets carrying hypersonic missiles were sent to the Baltic exclave"
    hits = sample_searcher.similar(text, opts=opts).hits
    vec = sample_searcher.embedder.encode_query(text)
    members = [m["passage_id"] for h in hits for m in (h.cluster or {}).get("members", [])] or [
        h.passage_id for h in hits
    ]
    cos = cosines(sample_searcher, vec, members)
    assert hits and all(cos[p] >= 0.5 for p in members)
    # Without --threshold the same claim has rows below 0.5 (keyword-only ones among them): the check bites.
    loose = sample_searcher.similar(text, opts=similar_options(around=None, cluster=False)).hits
    loose_cos = cosines(sample_searcher, vec, [h.passage_id for h in loose])
    assert any(loose_cos[h.passage_id] < 0.5 for h in loose)


def test_export_without_limit_exports_hits_not_the_index(sample_index, sample_searcher, tmp_path):
    from search.export import export

    out = tmp_path / "all.jsonl"
    n = export(sample_index, "Kaliningrad", out, SearchOptions(limit=0))
    assert 0 < n < len(sample_searcher.catalog.passage_ids())


# -- item 9: empty after cleaning -------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
@pytest.mark.parametrize("text", ["https://t.co/x pic.twitter.com/abc", "the of and", "   "])
def test_queries_empty_after_cleaning_are_one_line_in_every_mode(
    cli, sample_index, sample_searcher, mode, text
):
    with pytest.raises(EmptyQueryError):
        sample_searcher.search(text, SearchOptions(mode=mode, clean=True, literal=True))
    r = cli("search", text, "-m", mode, "--clean", "--literal", "--index", sample_index)
    _one_line_error(r, "no searchable words" if text.strip() and "http" not in text else "")
    r = cli("similar", text, "-m", mode, "--index", sample_index)
    _one_line_error(r)


# -- item 5: batch runs ------------------------------------------------------------------------------
def test_batch_is_literal_skips_a_failing_line_and_goes_on(cli, sample_index, tmp_path):
    queries = tmp_path / "tweets.tsv"
    queries.write_text(
        "a\tKinzhal Kaliningrad\n"
        "b\t\u2018cil/kil'>>\". \u201cHe repeated (the MiG-31\n"  # unbalanced quote and bracket
        "c\thttps://t.co/only-a-link\n"  # nothing left once cleaned
        "d\tReaper drone Black Sea\n",
        encoding="utf-8",
    )
    out = tmp_path / "run.trec"
    r = cli("search", "--queries", queries, "--format", "trec", "--clean", "-o", out, "--index", sample_index)
    assert r.exit_code == 0, r.stderr
    qids = {line.split()[0] for line in out.read_text().splitlines()}
    assert qids == {"a", "b", "d"}
    assert "skipped query c" in r.stderr and "skipped query b" not in r.stderr
    # --query-syntax opts into the query language: the unbalanced line is now reported and skipped.
    r = cli(
        "search", "--queries", queries, "--query-syntax", "--clean", "--format", "trec", "-o", out,
        "--index", sample_index,
    )  # fmt: skip
    assert r.exit_code == 0 and "skipped query b" in r.stderr and "column" in r.stderr
    assert {line.split()[0] for line in out.read_text().splitlines()} == {"a", "d"}


def test_similar_batch_writes_to_output(cli, sample_index, tmp_path):
    out = tmp_path / "sim.jsonl"
    r = cli("similar", "--queries", QUERIES, "-o", out, "--index", sample_index, "-q")
    assert r.exit_code == 0 and r.stdout == ""
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    from search.evaluate import read_queries

    assert rows and {row["qid"] for row in rows} <= set(read_queries(QUERIES))
    assert all(row["cluster"] is not None for row in rows)  # similar's defaults: clusters


def test_eval_and_batch_rank_a_file_identically(sample_index, sample_searcher):
    opts = SearchOptions(limit=10, clean=True, group_by="article", around="auto")
    buf = io.StringIO()
    run_batch(sample_searcher, QUERIES, opts, buf, fmt="trec")
    batch: dict[str, list[str]] = {}
    for line in buf.getvalue().splitlines():
        qid, _, doc, *_ = line.split()
        batch.setdefault(qid, []).append(doc)
    from search.evaluate import read_queries

    queries = read_queries(QUERIES)
    raw = leg_runs(sample_searcher, queries, opts.depth, ("keyword", "semantic"), clean=True)
    runs = floored(raw, opts.min_similarity)
    from search.experiment import _fuse, configurations

    rows = sample_searcher.catalog.passages({p for leg in runs.values() for r in leg.values() for p, _ in r})
    doc_of = {p: r["article_id"] for p, r in rows.items()}
    cfg = configurations(opts, False)["hybrid"]
    for qid in queries:
        docs = [d for d, _ in to_docs(_fuse(cfg, runs, qid, {}, opts.around_weight), doc_of)][:10]
        assert batch.get(qid, []) == docs, qid
    table = run_eval(sample_index, QUERIES, QRELS, ["hybrid"], opts)
    assert table["hybrid"]["MAP@5"] > 0


# -- item 11 and Also: outputs ---------------------------------------------------------------------
def test_export_to_dash_is_stdout(cli, sample_index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = cli("export", "Kaliningrad", "-o", "-", "--index", sample_index)
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "manifest" in json.loads(lines[0]) and len(lines) > 1
    assert not (tmp_path / "-").exists() and not (tmp_path / "-.manifest.json").exists()


def test_export_to_a_folder_is_one_line(cli, sample_index, tmp_path):
    r = cli("export", "Kaliningrad", "-o", tmp_path, "--index", sample_index)
    _one_line_error(r, "is a folder", "name a file inside it")
    r = cli("search", "--queries", QUERIES, "-o", tmp_path, "--index", sample_index)
    _one_line_error(r, "is a folder")


def test_export_to_a_fifo_writes_in_place(sample_index, tmp_path):
    from search.export import export

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text(encoding="utf-8")))
    reader.start()
    n = export(sample_index, "Kaliningrad", fifo, SearchOptions(limit=5), fmt="csv")
    reader.join(30)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert len(got[0].splitlines()) == n + 1  # header + rows
    assert not (tmp_path / "pipe.manifest.json").exists()


def test_library_errors_are_claims_errors(sample_searcher):
    with pytest.raises(ClaimsError):
        sample_searcher.search("x", SearchOptions(weights=(-1.0, 1.0)))


def test_hybrid_parses_once_filters_once_and_reads_rows_for_the_page_only(sample_index, monkeypatch):
    import search.searcher as searcher_module

    with searcher_module.Searcher(sample_index) as s:
        calls = {"masks": 0, "parse": 0, "rows": []}
        masks, passages, parse = s.impacts.filter_masks, s.catalog.passages, searcher_module.analyze_query

        def count_masks(*a, **kw):
            calls["masks"] += 1
            return masks(*a, **kw)

        def count_rows(pids):
            pids = list(pids)
            calls["rows"].append(len(pids))
            return passages(pids)

        def count_parse(*a, **kw):
            calls["parse"] += 1
            return parse(*a, **kw)

        monkeypatch.setattr(s.impacts, "filter_masks", count_masks)
        monkeypatch.setattr(s.catalog, "passages", count_rows)
        monkeypatch.setattr(searcher_module, "analyze_query", count_parse)
        res = s.search(
            "missile strike", SearchOptions(limit=3, filters=Filters(sources=["articles"]), explain=True)
        )
        assert len(res.hits) == 3 and sum(res.explain["candidates"].values()) > 3
        assert calls == {"masks": 1, "parse": 1, "rows": [3]}
