"""Every command that writes a file refuses a file in a folder that does not exist (issue 13, item 4): one
line naming the folder, exit 2, before the index or the model is opened, and nothing is created (as
sqlite-utils and llm behave). The real CLI."""

from __future__ import annotations

import pytest


def _commands(out: str, queries: str) -> list[tuple[str, ...]]:
    """Every command line that writes ``out``: export, and batch runs of search and similar."""
    return [
        ("export", "Kinzhal", "-o", out),
        ("export", "Kinzhal", "--output", out, "--format", "csv"),
        ("search", "--queries", queries, "-o", out),
        ("search", "--queries", queries, "-o", out, "--format", "trec"),
        ("similar", "--queries", queries, "-o", out),
    ]


@pytest.mark.parametrize("n", range(5))
def test_a_file_in_a_missing_folder_is_refused_before_anything_loads(tmp_path, cli, n):
    queries = tmp_path / "q.tsv"
    queries.write_text("1\tKinzhal missiles\n")
    missing = tmp_path / "out" / "missing"
    args = _commands(str(missing / "file.jsonl"), str(queries))[n]
    # an index that does not exist: had anything been opened first, its error would come instead
    r = cli(*args, "--index", tmp_path / "no-index")
    assert r.exit_code == 2, r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and f"folder {missing} does not exist" in lines[0], r.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "no-index").exists()


def test_the_same_commands_write_into_an_existing_folder(sample_index, tmp_path, cli):
    queries = tmp_path / "q.tsv"
    queries.write_text("1\tKinzhal missiles\n")
    for i, args in enumerate(_commands(str(tmp_path / "f{}.jsonl"), str(queries))):
        args = tuple(a.format(i) if a.endswith(".jsonl") else a for a in args)
        r = cli(*args, "--index", sample_index, "--quiet")
        assert r.exit_code in (0, 1), r.stderr
        assert (tmp_path / f"f{i}.jsonl").stat().st_size > 0, args
