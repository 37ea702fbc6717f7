"""The ``claims`` commands end to end (typer's CliRunner): help, README, stats, show, the --json schema."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

import search.hits
from cli import app

ROOT = Path(__file__).resolve().parents[2]


def command_names() -> list[str]:
    names = []
    for cmd in app.registered_commands:
        name = cmd.name or cmd.callback.__name__.replace("_", "-")
        names.append(name)
    return names


def json_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def documented_hit_fields() -> set[str]:
    """The field names of the JSON Lines schema in search/hits.py's docstring (``start, end`` are two)."""
    doc = search.hits.__doc__
    block = doc.split("::", 1)[1]
    fields: set[str] = set()
    for line in block.splitlines():
        m = re.match(r"^    (\w+(?:, \w+)*)\s{2,}\S", line)
        if m:
            fields.update(m[1].split(", "))
    return fields


# -- every command: help and README -----------------------------------------------------------------
def test_there_are_commands():
    assert {"ingest", "search", "similar", "show", "stats", "delete"} <= set(command_names())


@pytest.mark.parametrize("name", command_names())
def test_every_command_has_help(cli, name):
    r = cli(name, "--help")
    assert r.exit_code == 0, r.output
    assert "Usage" in r.stdout and name in r.stdout
    cmd = next(
        c for c in app.registered_commands if (c.name or c.callback.__name__.replace("_", "-")) == name
    )
    first_line = (cmd.callback.__doc__ or "").strip().splitlines()[0]
    assert first_line, f"`claims {name}` has no docstring, so its --help says nothing"
    assert first_line.split()[0] in r.stdout


def test_top_level_help_lists_every_command(cli):
    r = cli("--help")
    assert r.exit_code == 0
    for name in command_names():
        assert re.search(rf"\b{re.escape(name)}\b", r.stdout), name


def test_every_command_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [n for n in command_names() if not re.search(rf"\bclaims {re.escape(n)}\b", readme)]
    assert not missing, (
        f"README.md never shows these commands as `claims <name>`: {', '.join(missing)} "
        "(every command must be documented in the README)"
    )


# -- the index option and its environment variable -----------------------------------------------------
def test_claims_index_env_names_the_default_index(cli, tmp_path):
    # The autouse fixture points CLAIMS_INDEX at an empty temp folder: the commands read it, not the repo.
    assert os.environ["CLAIMS_INDEX"].startswith(str(tmp_path))
    r = cli("stats")
    assert r.exit_code == 2
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert "claims-index" in lines[0] and "ingest" in lines[0], "names the folder it looked in and the fix"


def test_stats_json_fields(cli, sample_index, sample_build, sample_searcher):
    r = cli("stats", "--json", "--index", sample_index)
    assert r.exit_code == 0, r.stderr
    st = json.loads(r.stdout)
    expected = {
        "articles", "passages", "dropped", "dropped_by_reason", "sources", "date_range", "batches", "model",
        "dimension", "format_version", "tool_version", "generation", "vectors_kind", "updated", "fields", "bytes",
    }  # fmt: skip
    assert expected <= set(st), expected - set(st)
    assert st["articles"] == sample_build.report.added
    assert st["passages"] == len(sample_searcher.catalog.passage_ids()) == sample_build.report.passages
    assert st["dropped"] == sum(st["dropped_by_reason"].values()) == sample_build.report.dropped
    assert sum(st["sources"].values()) == st["articles"]
    dates = sorted(d for (d,) in sample_searcher.catalog.db.execute("SELECT date FROM articles") if d)
    assert st["date_range"] == [dates[0], dates[-1]]
    assert st["model"] == "sentence-transformers/all-MiniLM-L6-v2" and st["dimension"] == 384
    assert st["generation"] == sample_searcher.manifest.generation >= 1
    assert set(st["bytes"]) == {"catalog", "lexical", "vectors", "embeddings"} and all(
        v > 0 for v in st["bytes"].values()
    )
    assert {"text", "title", "date", "source"} <= set(st["fields"])


def test_show_json_with_neighbours(cli, sample_index, sample_searcher):
    article = "articles/05_himars_makiivka_toll"
    passages = sorted(
        (p for p in sample_searcher.catalog.iter_passages() if p["article_id"] == article),
        key=lambda p: p["ordinal"],
    )
    assert len(passages) >= 3
    middle = passages[1]
    r = cli("show", middle["passage_id"], "--json", "--index", sample_index)
    assert r.exit_code == 0, r.stderr
    row = json.loads(r.stdout)
    assert {"passage_id", "article_id", "ordinal", "text", "title", "date", "source", "url", "start", "end",
            "metadata", "neighbours"} <= set(row)  # fmt: skip
    assert row["passage_id"] == middle["passage_id"] and row["text"] == middle["text"]
    article_text = sample_searcher.catalog.article_text(article)
    assert article_text[row["start"] : row["end"]] == row["text"]
    assert [n["passage_id"] for n in row["neighbours"]] == [
        passages[0]["passage_id"],
        passages[2]["passage_id"],
    ]
    for n in row["neighbours"]:
        assert n["article_id"] == article and article_text[n["start"] : n["end"]] == n["text"]

    r = cli("show", middle["passage_id"], "--json", "--context", "0", "--index", sample_index)
    assert r.exit_code == 0 and json.loads(r.stdout)["neighbours"] == []
    r = cli("show", max(sample_searcher.catalog.passage_ids()) + 1000, "--index", sample_index)
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1


# -- search --json: the documented schema, exactly ------------------------------------------------------
def test_hits_docstring_documents_every_hit_field():
    from dataclasses import fields

    assert documented_hit_fields() == {f.name for f in fields(search.hits.Hit)}


@pytest.mark.parametrize(
    "args",
    [
        ["--mode", "keyword"],
        ["--mode", "semantic"],
        ["--mode", "hybrid"],
        ["--mode", "hybrid", "--cluster"],
    ],
)
def test_search_json_has_exactly_the_documented_fields(cli, sample_index, sample_searcher, args):
    r = cli("search", "hypersonic missiles Kaliningrad", *args, "--json", "-k", "5", "--index", sample_index)
    assert r.exit_code == 0, r.stderr
    rows = json_lines(r.stdout)
    assert len(rows) == 5
    documented = documented_hit_fields()
    for rank, row in enumerate(rows, start=1):
        assert set(row) == documented, set(row) ^ documented
        assert row["rank"] == rank
        text = sample_searcher.catalog.article_text(row["article_id"])
        assert text[row["start"] : row["end"]] == row["text"]
        assert set(row["scores"]) == set(row["ranks"]) <= {"keyword", "semantic"}
        for a, b in row["highlights"]:
            assert 0 <= a < b <= len(row["text"])
        if "--cluster" in args:
            assert {"size", "sources", "first_seen", "members"} <= set(row["cluster"])
            assert row["cluster"]["size"] == len(row["cluster"]["members"]) >= 1
        else:
            assert row["cluster"] is None
    scores = [row["score"] for row in rows]
    assert scores == sorted(scores, reverse=True)


def test_search_a_missing_index_is_one_line_and_exit_2(cli, tmp_path):
    r = cli("search", "anything", "--mode", "keyword", "--index", tmp_path / "nowhere")
    assert r.exit_code == 2
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in r.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["search", "x", "-k", "-1"], "'--limit' / '-k'"),
        (["search", "x", "-k", "0"], "'--limit' / '-k'"),
        (["search", "x", "--mode", "nonsense"], "'nonsense' is not one of"),
        (["show", "abc"], "passage_id"),
        (["show", "-5"], "No such option: -5"),
        (["facets", "x", "--top", "0"], "'--top'"),
        (["search", "x", "--bogus"], "No such option: --bogus"),
    ],
)
def test_the_console_script_reports_usage_errors_in_one_line(args, said, tmp_path):
    """click's usage errors (bad option values, unknown options) came as a boxed panel of 5-6 lines;
    the ``claims`` script (``cli.main``) prints one line naming the command's --help, exit 2, and
    loads nothing (no index needed)."""
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-m", "cli", *args, "--index", str(tmp_path / "none")],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert lines[0].startswith("error: ") and said in lines[0] and "--help`" in lines[0]


def test_the_console_script_keeps_help_and_success():
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-m", "cli", "--help"], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert r.returncode == 0 and "Usage: claims" in r.stdout
    r = subprocess.run([sys.executable, "-m", "cli"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 2 and "Usage: claims" in r.stderr + r.stdout and "error:" not in r.stderr


def test_an_empty_folder_says_what_files_ingest_reads(cli, tmp_path):
    """An empty folder (or one of unreadable kinds) said "(0 bad inputs): see the lines above" with no
    line above; it names the file kinds now, in one line, exit 2, for a plain and a sharded ingest."""
    (tmp_path / "empty").mkdir()
    for extra in ((), ("--shards", "2")):
        r = cli("ingest", tmp_path / "empty", "--index", tmp_path / f"ix{len(extra)}", *extra)
        lines = r.stderr.strip().splitlines()
        assert r.exit_code == 2 and len(lines) == 1, r.stderr
        assert "no articles found in" in lines[0] and ".jsonl" in lines[0] and "lines above" not in lines[0]
