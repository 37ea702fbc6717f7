"""Tests of search.options (the one search contract), search.output and the batch run's output."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import stat

import pytest

from index.errors import ClaimsError, QuerySyntaxError
from search import options as so
from search.fusion import FUSION_METHODS, NORMALIZATIONS
from search.output import Output, OutputError
from search.query import Filters


def test_choice_lists_are_the_fusion_modules_and_the_cli_derives_from_them():
    assert so.FUSIONS == FUSION_METHODS and so.NORMS == NORMALIZATIONS
    import cli

    assert tuple(m.value for m in cli.Mode) == so.MODES
    assert tuple(m.value for m in cli.Fusion) == so.FUSIONS
    assert tuple(m.value for m in cli.Operator) == so.OPERATORS
    assert tuple(m.value for m in cli.GroupBy) == so.GROUP_BY
    assert tuple(m.value for m in cli.RunFormat) == so.RUN_FORMATS


def test_cli_holds_no_ranking_default_of_its_own():
    import inspect

    import cli

    src = inspect.getsource(cli)
    for literal in ('"0.4,0.6"', '"0.3,0.7"', "60.0", '"zscore"', '"convex"'):
        assert literal not in src, literal


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("-1,1", ">= 0"),
        ("nan,1", ">= 0"),
        ("inf,1", ">= 0"),
        ("0,0", "at least one weight"),
        ("1", "two numbers"),
        ("a,b", "two numbers"),
        ("1,2,3", "two numbers"),
    ],
)
def test_bad_weights_are_one_line_naming_the_valid_range(text, fragment):
    with pytest.raises(so.OptionError, match=fragment) as got:
        so.parse_weights(text)
    assert "\n" not in str(got.value) and "--weights" in str(got.value)
    assert isinstance(got.value, ClaimsError)


def test_good_weights():
    assert so.parse_weights("0.4,0.6") == (0.4, 0.6)
    assert so.parse_weights("1,0") == (1.0, 0.0)
    assert so.format_weights((0.3, 0.7)) == "0.3,0.7"


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"mode": "fuzzy"}, "--mode 'fuzzy': choose one of hybrid, keyword, semantic"),
        ({"fusion": "sum"}, "--fusion"),
        ({"norm": "l2"}, "--norm"),
        ({"operator": "and"}, "--operator"),
        ({"group_by": "source"}, "--group-by"),
        ({"weights": (-1.0, 1.0)}, "--weights"),
        ({"depth": 0}, "--depth 0: use a number >= 1"),
        ({"limit": -1}, "--limit"),
        ({"offset": -3}, "--offset"),
        ({"rrf_k": -1.0}, "--rrf-k"),
        ({"threshold": 1.5}, "--threshold 1.5: use a number >= -1 and <= 1"),
        ({"min_similarity": -2.0}, "--min-similarity"),
        ({"cluster_threshold": 2.0}, "--cluster-threshold"),
        ({"around_days": 0.0}, "--around-days 0.0: use a number > 0"),
        ({"around_weight": -0.1}, "--around-weight"),
        ({"threshold": 0.5, "mode": "keyword"}, "needs the semantic leg"),
    ],
)
def test_validate_names_the_option_and_its_range(change, fragment):
    with pytest.raises(so.OptionError) as got:
        so.validate(dataclasses.replace(so.SearchOptions(), **change))
    assert fragment in str(got.value)


@pytest.mark.parametrize(
    "filters", [Filters(since="notadate"), Filters(until="2022-13-45")], ids=["since", "until"]
)
def test_validate_checks_dates(filters):
    with pytest.raises(QuerySyntaxError, match="not a date"):
        so.validate(so.SearchOptions(filters=filters))


def test_validate_refuses_since_after_until_but_keeps_one_day():
    with pytest.raises(QuerySyntaxError, match="is after --until 2022-01-01: swap them"):
        so.validate(so.SearchOptions(filters=Filters(since="2022-09-01", until="2022-01-01")))
    start, end = Filters(since="2022-03-01", until="2022-03-01").dates()  # one whole day is a range
    assert (end - start).days == 0 and end.hour == 23


def test_validate_checks_around():
    with pytest.raises(QuerySyntaxError, match="--around"):
        so.validate(so.SearchOptions(around="yesterday-ish"))
    for ok in (None, "off", "auto", "2022-02-24"):
        so.validate(so.SearchOptions(around=ok))


def test_pages_are_slices_of_one_ranking_or_refused():
    # --depth 3 -k 2: page 2 (offset 2) would need 4 candidates per leg; refused, naming the fix.
    with pytest.raises(so.OptionError, match="raise --depth to at least 4"):
        so.validate(so.SearchOptions(depth=3, limit=2, offset=2))
    # The first page and every accepted page use the same leg depth, whatever the offset.
    pages = [so.SearchOptions(depth=10, limit=5, offset=o) for o in (0, 5)]
    for o in pages:
        so.validate(o)
    assert {so.leg_depth(o) for o in pages} == {10}
    # A first page longer than the depth raises the depth (one ranking, nothing to overlap with).
    assert so.leg_depth(so.SearchOptions(depth=3, limit=20)) == 20
    assert so.leg_depth(so.SearchOptions(depth=10, limit=4, cluster=True)) == 20
    assert so.leg_depth(so.SearchOptions(depth=10, limit=4, group_by="article")) == 20


def test_similar_defaults_are_one_record():
    s = so.similar_options()
    assert (s.weights, s.cluster, s.clean, s.around) == (so.SIMILAR_WEIGHTS, True, True, "auto")
    assert so.similar_options(limit=3).limit == 3


def test_fusion_params_per_leg_and_the_date_leg():
    o = so.SearchOptions(weights=(0.4, 0.6), around_weight=0.3)
    assert so.fusion_params(o) == {"weights": [0.4, 0.6], "norm": "zscore"}
    assert so.fusion_params(o, ["keyword", "semantic", "date"])["weights"] == [0.4, 0.6, 0.3]
    assert so.fusion_params(o, ["semantic", "date"])["weights"] == [1.0, 0.3]
    rrf = dataclasses.replace(o, fusion="rrf", rrf_k=10.0)
    assert so.fusion_params(rrf) == {"k": 10.0, "weights": [0.4, 0.6]}
    d = so.described(o, ["keyword", "semantic", "date"])
    assert d["date_leg"] == {"around": None, "days": o.around_days, "weight": 0.3}
    assert so.described(o, ["keyword"])["method"] == "single leg"


def test_semantic_floor_is_the_larger_of_min_similarity_and_threshold():
    assert so.semantic_floor(so.SearchOptions(min_similarity=0.3, threshold=None)) == 0.3
    assert so.semantic_floor(so.SearchOptions(min_similarity=0.3, threshold=0.5)) == 0.5
    assert so.semantic_floor(so.SearchOptions(min_similarity=None, threshold=None)) is None


def test_run_writer_one_number_format():
    buf = io.StringIO()
    w = so.RunWriter(buf, "trec", "claims-hybrid")
    assert w.write("q1", [{"passage_id": 7, "rank": 1, "score": 0.1 + 0.2}]) == 1
    assert buf.getvalue() == "q1 Q0 7 1 0.30000000000000004 claims-hybrid\n"
    assert float(buf.getvalue().split()[4]) == 0.1 + 0.2  # reads back exactly
    buf = io.StringIO()
    so.RunWriter(buf, "jsonl").write("q2", [{"passage_id": 3, "rank": 1, "score": 1.5}])
    assert json.loads(buf.getvalue()) == {"qid": "q2", "passage_id": 3, "rank": 1, "score": 1.5}
    with pytest.raises(so.OptionError, match="--format"):
        so.RunWriter(io.StringIO(), "csv")
    with pytest.raises(so.OptionError, match="without spaces"):
        so.trec_line("q 1", 3, 1, 1.0, "t")


# -- outputs --------------------------------------------------------------------------------------
def test_output_folder_is_one_line(tmp_path):
    with pytest.raises(OutputError, match="is a folder: name a file inside it"):
        Output(tmp_path)


def test_output_in_a_missing_folder_is_one_line_and_creates_nothing(tmp_path):
    missing = tmp_path / "out" / "missing"
    with pytest.raises(OutputError) as got:
        Output(missing / "run.jsonl")
    msg = str(got.value)
    assert "\n" not in msg and f"folder {missing} does not exist" in msg and "mkdir -p" in msg
    assert not (tmp_path / "out").exists()  # nothing created
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError, match="is not a folder"):
        Output(tmp_path / "afile" / "run.jsonl")
    Output(tmp_path / "run.jsonl")  # an existing folder is fine
    Output("run-in-cwd.jsonl")  # a bare name: the current folder


def test_output_regular_file_is_replaced_atomically(tmp_path):
    target = tmp_path / "run.trec"
    o = Output(target)
    tmp = o.temp()
    assert tmp.parent == target.parent and not target.exists()
    tmp.write_text("x\n")
    o.commit(tmp)
    assert target.read_text() == "x\n" and not tmp.exists()
    assert o.beside(".manifest.json") == tmp_path / "run.trec.manifest.json"


def test_output_symlink_keeps_the_link(tmp_path):
    real = tmp_path / "real.jsonl"
    real.write_text("old\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    o = Output(link)
    tmp = o.temp()
    tmp.write_text("new\n")
    o.commit(tmp)
    assert link.is_symlink() and real.read_text() == "new\n"


def test_output_fifo_is_written_in_place(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    o = Output(fifo)
    assert o.special and o.beside(".manifest.json") is None
    tmp = o.temp()
    tmp.write_text("row\n")
    got = []
    import threading

    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    o.commit(tmp)
    reader.join(10)
    assert got == ["row\n"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # never replaced by a regular file


def test_output_dash_is_stdout(capfdbinary):
    o = Output("-")
    assert o.stdout and o.beside(".manifest.json") is None
    tmp = o.temp()
    tmp.write_text("to stdout\n")
    o.commit(tmp)
    assert capfdbinary.readouterr().out == b"to stdout\n"
    assert not os.path.exists("-")


def test_dev_stdout_is_special_even_when_redirected_to_a_file():
    # /dev/stdout names the shell's redirection target (maybe a regular file): never renamed over.
    o = Output("/dev/stdout")
    assert o.special and o.beside(".manifest.json") is None


# -- batch runs (search.batch) with a stub searcher: literal by default, a failing line skipped ----------
class _StubSearcher:
    """Records the options of each query; ``boom`` raises the error a bad line raises."""

    def __init__(self):
        self.seen: list[tuple[str, SearchOpts]] = []

    def search(self, text, opts):
        from search.hits import Hit
        from search.page import SearchResult

        self.seen.append((text, opts))
        if "boom" in text:
            raise QuerySyntaxError("cannot parse query at column 3 (unclosed quote): ...")
        return SearchResult(hits=[Hit(passage_id=len(self.seen), rank=1, score=0.5, article_id="a")])


SearchOpts = so.SearchOptions


def test_batch_run_is_literal_and_skips_a_failing_line(tmp_path):
    from search.batch import run_batch

    path = tmp_path / "q.tsv"
    path.write_text('q1\tfirst claim\nq2\tboom "unbalanced\nq3\tthird claim\t2020-01-08\n', encoding="utf-8")
    stub, buf, errors = _StubSearcher(), io.StringIO(), []
    report = run_batch(
        stub, path, so.SearchOptions(), buf, fmt="trec", on_error=lambda q, m: errors.append(q)
    )
    assert [o.literal for _, o in stub.seen] == [True, True, True]
    assert [o.around for _, o in stub.seen] == [None, None, "2020-01-08"]  # the date column
    assert errors == ["q2"] and report.failed[0][0] == "q2" and report.rows == 2
    assert buf.getvalue().splitlines() == ["q1 Q0 1 1 0.5 claims-hybrid", "q3 Q0 3 1 0.5 claims-hybrid"]
    stub = _StubSearcher()
    run_batch(stub, path, so.SearchOptions(), io.StringIO(), syntax=True)
    assert [o.literal for _, o in stub.seen] == [False, False, False]


def test_batch_run_bad_file_line_names_file_and_line(tmp_path):
    from search.batch import run_batch
    from search.evaluate import FileLineError

    path = tmp_path / "q.tsv"
    path.write_text("q1\tok\nno tab\n", encoding="utf-8")
    with pytest.raises(FileLineError, match=r"q\.tsv:2: expected"):
        run_batch(_StubSearcher(), path, so.SearchOptions(), io.StringIO())


def test_cli_start_up_imports_no_whoosh_and_no_torch():
    import subprocess
    import sys

    code = "import sys, cli; print(sorted(m for m in ('whoosh', 'torch', 'faiss') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_similar_defaults_in_the_cli_are_the_librarys():
    import cli

    lib = so.similar_options()
    for name in ("weights", "cluster", "clean", "around", "fusion", "norm", "depth", "min_similarity"):
        assert getattr(cli.S, name) == getattr(lib, name), name
    assert cli.D.weights == so.SearchOptions().weights
