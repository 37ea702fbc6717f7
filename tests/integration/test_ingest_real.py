"""Ingest of real files and real folders end to end (issue 12), with the real stores and model.

One article per id (across folders, within a file, across the files of one batch), re-ingest as a no-op,
documentation files, a reader's crash, lists and titles through to search, periodic commits and a kill,
a huge one-line article in bounded embedding calls, and progress lines off a terminal.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from index import readers
from index.ingest import delete, ingest
from search.admin import check_index
from search.searcher import Searcher, SearchOptions

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def live(index: Path) -> dict[str, list[str]]:
    """``{article_id: [texts of its live versions]}``: one entry per live version, so duplicates show."""
    with Searcher(index) as s:
        rows = s.catalog.db.execute(
            f"SELECT article_id, text FROM articles WHERE added_gen <= {s.manifest.generation} "
            f"AND (deleted_gen IS NULL OR deleted_gen > {s.manifest.generation})"
        ).fetchall()
    out: dict[str, list[str]] = {}
    for article_id, text in rows:
        out.setdefault(article_id, []).append(text)
    return out


def generation(index: Path) -> int:
    with Searcher(index) as s:
        return s.manifest.generation


def keyword(index: Path, query: str) -> list[str]:
    with Searcher(index) as s:
        return [h.article_id for h in s.search(query, SearchOptions(mode="keyword", limit=20)).hits]


def assert_ok(index: Path) -> None:
    report = check_index(index)
    assert report["ok"], report["problems"]


def test_same_file_name_in_two_folders_gives_two_articles(tmp_path):
    index = tmp_path / "idx"
    write(tmp_path / "kyiv" / "2023-05-01.txt", "Kyiv\n\nAir defence shot down eleven drones over Kyiv.")
    write(tmp_path / "odesa" / "2023-05-01.txt", "Odesa\n\nA missile struck the grain terminal in Odesa.")
    report = ingest(index, [tmp_path / "kyiv", tmp_path / "odesa"])
    assert (report.added, report.updated, report.repeats) == (2, 0, 0)
    assert sorted(live(index)) == ["kyiv/2023-05-01", "odesa/2023-05-01"]
    gen = generation(index)
    again = ingest(index, [tmp_path / "odesa" / "2023-05-01.txt", tmp_path / "kyiv"])
    assert (again.added, again.updated, again.unchanged, again.commits) == (0, 0, 2, 0)
    assert generation(index) == gen, "an unchanged re-ingest commits nothing"
    assert delete(index, ["kyiv/2023-05-01"]) == (1, [])
    assert list(live(index)) == ["odesa/2023-05-01"]
    assert keyword(index, "grain terminal") == ["odesa/2023-05-01"]
    assert_ok(index)


@pytest.mark.parametrize("kind", ["jsonl", "csv", "two files"])
def test_repeated_id_in_one_batch_keeps_the_last_record(tmp_path, kind):
    index = tmp_path / "idx"
    first, second, last = (
        "The old report said the bridge at Kherson stood.",
        "Shelling damaged the power plant near Zaporizhzhia.",
        "The new report said the Antonivskyi bridge collapsed.",
    )
    if kind == "jsonl":
        lines = [{"id": "r1", "text": first}, {"id": "r2", "text": second}, {"id": "r1", "text": last}]
        paths = [write(tmp_path / "in" / "x.jsonl", "".join(json.dumps(r) + "\n" for r in lines))]
    elif kind == "csv":
        paths = [write(tmp_path / "in" / "x.csv", f'id,text\nr1,"{first}"\nr2,"{second}"\nr1,"{last}"\n')]
    else:
        paths = [
            write(tmp_path / "in" / "a.jsonl", json.dumps({"id": "r1", "text": first}) + "\n"),
            write(tmp_path / "in" / "b.csv", f'id,text\nr2,"{second}"\nr1,"{last}"\n'),
        ]
    report = ingest(index, paths)
    assert (report.added, report.updated, report.repeats) == (2, 0, 1)
    assert live(index) == {"r1": [last], "r2": [second]}
    assert keyword(index, "Antonivskyi") == ["r1"] and keyword(index, "stood") == []
    gen = generation(index)
    again = ingest(index, paths)
    assert (again.added, again.updated, again.unchanged, again.repeats) == (0, 0, 2, 1)
    assert generation(index) == gen, "re-ingest of the same files is a no-op"
    assert delete(index, ["r1"]) == (1, [])
    assert keyword(index, "Antonivskyi") == [] and keyword(index, "bridge") == []
    assert "r1" not in live(index)
    assert_ok(index)


def test_repeat_far_apart_in_a_long_file_still_leaves_one_article(tmp_path):
    index = tmp_path / "idx"
    rows = [{"id": "r0", "text": "The first version of the report on the Kakhovka dam."}]
    rows += [{"id": f"f{n}", "text": f"Filler claim number {n} about the front line."} for n in range(80)]
    rows += [{"id": "r0", "text": "The final version of the report on the Kakhovka dam."}]
    path = write(tmp_path / "x.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    report = ingest(index, [path], chunk=16)
    assert (report.added, report.repeats) == (81, 1)
    assert live(index)["r0"] == ["The final version of the report on the Kakhovka dam."]
    assert_ok(index)


def test_dataset_folders_with_readmes_reingest_as_a_no_op(tmp_path):
    """The "3 updated on every re-ingest of the shared corpora" bug: the corpora hold four README.md
    files, which all became the article "README" (the first added, three "updated", on every run)."""
    index = tmp_path / "idx"
    write(tmp_path / "corpora" / "README.md", "# Corpora\n\nThree datasets, one per folder.")
    for name in ("alpha", "beta", "gamma"):
        write(tmp_path / "corpora" / name / "README.md", f"# {name}\n\nLicence and provenance of {name}.")
        write(
            tmp_path / "corpora" / name / f"{name}.jsonl",
            json.dumps({"id": name, "text": f"Claim of {name}."}),
        )
    first = ingest(index, [tmp_path / "corpora"])
    assert (first.added, first.updated) == (3, 0)
    assert sorted(live(index)) == ["alpha", "beta", "gamma"], "documentation files are not articles"
    gen = generation(index)
    again = ingest(index, [tmp_path / "corpora"])
    assert (again.added, again.updated, again.unchanged, again.commits) == (0, 0, 3, 0)
    assert generation(index) == gen


@pytest.mark.skipif(not (SHARED / "corpora").is_dir(), reason="needs ../shared/corpora")
def test_shared_corpora_hold_one_record_per_id_and_their_readmes_are_skipped():
    from index.records import Article
    from index.sources import iter_files, read_sources

    files = [p for p in iter_files([SHARED / "corpora"])]
    assert files and all(p.name.endswith(".jsonl.gz") for p in files)
    ids = [a.article_id for a in read_sources([SHARED / "corpora"]) if isinstance(a, Article)]
    assert len(ids) == len(set(ids))


def test_html_and_txt_both_go_in_and_a_reader_crash_costs_one_file(tmp_path, monkeypatch):
    index = tmp_path / "idx"
    page = (
        "<html><head><title>Strike on Odesa</title></head><body><article><h1>Strike on Odesa</h1>"
        "<p>A missile struck the grain terminal in Odesa on Tuesday, the governor said.</p>"
        "<p>Two workers were hurt and the terminal's silos burned through the night.</p>"
        "</article></body></html>"
    )
    write(tmp_path / "in" / "page.html", page)
    write(tmp_path / "in" / "note.txt", "Kyiv\n\nAir defence shot down eleven drones over Kyiv overnight.")
    report = ingest(index, [tmp_path / "in"])
    assert (report.added, report.failed) == (2, 0), report.problems
    assert keyword(index, "silos") == ["in/page"]

    def broken(f):
        yield from ()
        raise RuntimeError("parser exploded")

    monkeypatch.setitem(readers.READERS, ".html", broken)
    write(tmp_path / "in" / "note2.txt", "Lviv\n\nA drone hit an energy facility near Lviv.")
    report = ingest(index, [tmp_path / "in"])
    assert (report.added, report.failed) == (1, 1)
    assert report.problems == [
        f"{tmp_path / 'in' / 'page.html'}: cannot read file: unexpected RuntimeError (parser exploded); the other files went in; please report it"
    ]
    assert keyword(index, "Lviv") == ["in/note2"]


def test_lists_titles_and_glued_sentences_reach_search(tmp_path):
    index = tmp_path / "idx"
    text = (
        "Convoy seen near Belgorod\n\n"
        "Russian forces moved a convoy toward the border on Monday, officials said.\n\n"
        "Officials said the convoy included:\n- three howitzers\n- two fuel trucks\n\n"
        "The convoy passed the regional governor. Mr. Kovalenko has commanded the brigade since May.\n\n"
        "Drones hit the fuel depot near Belgorod overnight.The governor said two people were hurt in the attack."
    )
    write(tmp_path / "in" / "convoy.txt", text)
    ingest(index, [tmp_path / "in"])
    assert keyword(index, "howitzers") == ["in/convoy"]
    with Searcher(index) as s:
        texts = [p["text"] for p in s.catalog.iter_passages()]
    assert "Officials said the convoy included:\n- three howitzers\n- two fuel trucks" in texts
    assert "Mr. Kovalenko has commanded the brigade since May." in texts
    assert "Drones hit the fuel depot near Belgorod overnight." in texts
    assert "The governor said two people were hurt in the attack." in texts
    assert not any(t.endswith("Mr.") for t in texts)


def test_files_as_tools_write_them_are_ingested(tmp_path):
    index = tmp_path / "idx"
    d = tmp_path / "in"
    write(
        d / "excel.csv",
        codecs.BOM_UTF16_LE + "id\ttext\nx1\tThe Kerch bridge was closed on Monday.\n".encode("utf-16-le"),
    )
    write(
        d / "ps.jsonl",
        codecs.BOM_UTF16_LE + '{"id": "p1", "text": "Sirens sounded in Kharkiv."}\r\n'.encode("utf-16-le"),
    )
    write(d / "mac.txt", b"Mac\r\rShelling cut power in Nikopol, the mayor said.\r")
    write(
        d / "sep.csv",
        "sep=;\r\nid;text;date\r\ns1;Café owners in Mykolaiv reopened.;Tue, 01 Aug 2023 14:05:00 +0000\r\n".encode(
            "cp1252"
        ),
    )
    report = ingest(index, [d])
    assert (report.added, report.failed) == (4, 0), report.problems
    assert report.problems == [
        f"warning: {d / 'sep.csv'}: not valid UTF-8; decoded as cp1252; re-save it as UTF-8 if characters look wrong"
    ]
    assert keyword(index, "Kerch") == ["x1"] and keyword(index, "Kharkiv") == ["p1"]
    assert keyword(index, "Nikopol") == ["in/mac"] and keyword(index, "Mykolaiv") == ["s1"]
    with Searcher(index) as s:
        assert (
            s.catalog.db.execute("SELECT date FROM articles WHERE article_id = 's1'").fetchone()[0]
            == "2023-08-01"
        )
        assert "Café" in s.catalog.article_text("s1")


def test_long_ingest_commits_periodically_and_a_kill_loses_one_interval(tmp_path):
    index = tmp_path / "idx"
    rows = [
        {"id": f"a{n}", "text": f"Report {n}: drones were downed over region number {n}."} for n in range(200)
    ]
    path = write(tmp_path / "x.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    commits = []

    def progress(event, **info):
        if event == "commit":
            commits.append(info["generation"])
            if len(commits) == 2:
                raise KeyboardInterrupt  # the user's Ctrl-C, or a kill, after two intervals

    with pytest.raises(KeyboardInterrupt):
        ingest(index, [path], chunk=32, commit_articles=64, progress=progress)
    assert commits == [1, 2]
    kept = live(index)
    assert generation(index) == 2 and 64 <= len(kept) < 200, "two intervals are committed, the rest is lost"
    assert_ok(index)
    report = ingest(index, [path], chunk=32, commit_articles=64)
    assert (report.added, report.unchanged) == (200 - len(kept), len(kept))
    assert report.cached_vectors >= 0 and len(live(index)) == 200
    assert_ok(index)


def test_huge_one_line_article_is_embedded_in_bounded_calls(tmp_path, monkeypatch):
    from index.embed import Embedder

    sizes = []
    encode = Embedder.encode

    def spy(self, texts, *a, **k):
        sizes.append(len(texts))
        return encode(self, texts, *a, **k)

    monkeypatch.setattr(Embedder, "encode", spy)
    sentences = [
        f"Battalion {n} reported shelling near village number {n} on the southern front." for n in range(600)
    ]
    write(tmp_path / "in" / "huge.txt", " ".join(sentences))  # one line, no headline
    report = ingest(tmp_path / "idx", [tmp_path / "in"], chunk=64)
    assert report.passages == 600 and report.embedded == 600
    assert sizes and max(sizes) <= 64, "never more than one chunk of texts in one call"
    assert keyword(tmp_path / "idx", '"village number 599"') == ["in/huge"]


def test_progress_lines_off_a_terminal(tmp_path, cli, monkeypatch):
    import cli as cli_module

    monkeypatch.setattr(cli_module._progress, "interval", 0.0)
    rows = [{"id": f"a{n}", "text": f"Claim {n} about the front line near Bakhmut."} for n in range(5)]
    path = write(tmp_path / "x.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    result = cli("ingest", path, "--index", tmp_path / "idx")
    assert result.exit_code == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("ingest: ")]
    assert lines and "passages/s" in lines[-1] and "articles/s" in lines[-1]
    assert any("files 1/1, 100% of bytes, ETA 0m0s" in line for line in lines)
    assert "5 added" in result.stderr


def test_repeat_across_windows_before_vectors_keeps_the_last_record(tmp_path):
    """r1 is pending (planned, not yet applied) when its last record, equal to the indexed one, arrives."""
    index = tmp_path / "idx"
    new = {"id": "r1", "text": "The final report on the Kakhovka dam breach."}
    old = {"id": "r1", "text": "The first draft of the report on the Kakhovka dam."}
    fill = [{"id": f"f{n}", "text": f"Filler claim number {n} about the front line."} for n in range(10)]
    lines = lambda rows: "".join(json.dumps(r) + "\n" for r in rows)  # noqa: E731
    ingest(index, [write(tmp_path / "a" / "x.jsonl", lines([new, *fill]))], chunk=64)
    gen = generation(index)
    report = ingest(index, [write(tmp_path / "a" / "y.jsonl", lines([old, *fill, new]))], chunk=64)
    assert (report.added, report.updated, report.unchanged, report.repeats) == (0, 0, 11, 1)
    assert generation(index) == gen and live(index)["r1"] == [new["text"]]


def test_strict_run_commits_once_at_the_end(tmp_path):
    from index.errors import InputFormatError

    index = tmp_path / "idx"
    ingest(
        index, [write(tmp_path / "a" / "one.txt", "One\n\nAir defence shot down eleven drones over Kyiv.")]
    )
    rows = "".join(
        json.dumps({"id": f"a{n}", "text": f"Claim {n} about the front line."}) + "\n" for n in range(40)
    )
    path = write(tmp_path / "a" / "x.jsonl", rows + "{not json\n")
    with pytest.raises(InputFormatError):
        ingest(index, [path], strict=True, chunk=16, commit_articles=4)
    assert generation(index) == 1 and list(live(index)) == ["a/one"], "--strict: nothing changes"
