"""Tests of index.sources: every input format, every bad input as a one-line Problem, the real data."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.records import Article, Problem
from index.sources import SUPPORTED, FieldMap, iter_files, read_file, read_sources

SHARED = Path(__file__).resolve().parents[2].parent / "shared"


def write(path: Path, content: str | bytes, encoding: str = "utf-8") -> Path:
    """Write ``content`` to ``path`` (gzipped when the name ends in .gz), creating folders."""
    data = content.encode(encoding) if isinstance(content, str) else content
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if path.name.lower().endswith(".gz") else data)
    return path


def split(items) -> tuple[list[Article], list[Problem]]:
    items = list(items)
    for item in items:
        assert isinstance(item, Article | Problem)
        if isinstance(item, Problem):
            assert "\n" not in str(item) and "\r" not in str(item), "a Problem is one line"
    return [i for i in items if isinstance(i, Article)], [i for i in items if isinstance(i, Problem)]


def only_article(path: Path, **kwargs) -> Article:
    articles, problems = split(read_file(path, **kwargs))
    assert problems == [] and len(articles) == 1
    return articles[0]


def only_problem(path: Path, **kwargs) -> Problem:
    articles, problems = split(read_file(path, **kwargs))
    assert articles == [] and len(problems) == 1
    return problems[0]


# -- .txt / .md with the scraped-news headers -------------------------------------------------------

EPOCH_SEED = (
    "1660884494 Russia sends jets with hypersonic missiles to NATO borders for\n"
    "\n"
    "Russia sends jets with hypersonic missiles to NATO borders for 24/7 operations\n"
    "\n"
    "Russia has reportedly sent three planes carrying hypersonic missiles.\n"
)
DATE_SEED = (
    " date 2021-11-30 Russia is concerned that NATO expansion will pose a threat.\n"
    "\n"
    "During a video conference on Tuesday, Putin raised alarm.\n"
    "\n"
    "Second paragraph.\n"
)


def test_epoch_header_gives_date_and_full_headline(tmp_path):
    a = only_article(write(tmp_path / "news" / "000_5252c1565235be4e.txt", EPOCH_SEED))
    assert a.date == "2022-08-19"
    assert a.title == "Russia sends jets with hypersonic missiles to NATO borders for 24/7 operations"
    assert a.text == EPOCH_SEED.split("\n\n", 1)[1]  # body unchanged, header line gone
    assert (a.article_id, a.source, a.url) == ("news/000_5252c1565235be4e", "news", "")
    assert a.origin == str(tmp_path / "news" / "000_5252c1565235be4e.txt")


def test_date_header_with_leading_space(tmp_path):
    a = only_article(write(tmp_path / "003.txt", DATE_SEED))
    assert a.date == "2021-11-30"
    assert a.title == "Russia is concerned that NATO expansion will pose a threat."
    assert a.text == "During a video conference on Tuesday, Putin raised alarm.\n\nSecond paragraph.\n"


def test_plain_title_line(tmp_path):
    a = only_article(
        write(tmp_path / "a.md", "\n\n# Jets sent to Baltic exclave\n\nBy Maren Holt\n\nBody.\n")
    )
    assert (a.title, a.date, a.text) == ("Jets sent to Baltic exclave", None, "By Maren Holt\n\nBody.\n")


def test_long_first_line_is_text_not_title(tmp_path):
    body = "word " * 60 + "\n\nMore.\n"
    a = only_article(write(tmp_path / "long.txt", body))
    assert (a.title, a.text) == ("", body)


def test_a_lone_line_is_the_text(tmp_path):
    assert only_article(write(tmp_path / "one.txt", "Putin says NATO is a threat.\n")).text == (
        "Putin says NATO is a threat."
    )
    a = only_article(write(tmp_path / "two.txt", "1660884494 Jets moved to Kaliningrad\n"))
    assert (a.date, a.title, a.text) == ("2022-08-19", "", "Jets moved to Kaliningrad")
    assert (
        only_problem(write(tmp_path / "three.txt", "1660884494\n\n")).reason
        == "no text after the header line"
    )


def test_title_is_not_extended_by_an_unrelated_first_line(tmp_path):
    a = only_article(write(tmp_path / "x.txt", "1660884494 Jets moved\n\nA different first line.\n"))
    assert a.title == "Jets moved"


def test_crlf_becomes_lf(tmp_path):
    a = only_article(write(tmp_path / "w.txt", DATE_SEED.replace("\n", "\r\n")))
    assert a.text == "During a video conference on Tuesday, Putin raised alarm.\n\nSecond paragraph.\n"


def test_source_argument_and_id_without_extensions(tmp_path):
    a = only_article(write(tmp_path / "f" / "report.v2.txt.gz", EPOCH_SEED), source="Newsweek")
    assert (a.article_id, a.source) == ("f/report.v2", "Newsweek")


@pytest.mark.skipif(not (SHARED / "seeds").is_dir(), reason="../shared not present")
def test_real_seeds():
    articles, problems = split(read_sources([SHARED / "seeds"]))
    assert problems == []
    first, second = articles
    assert (first.article_id, first.date) == ("seeds/000_5252c1565235be4e", "2022-08-19")
    assert first.title == "Russia sends jets with hypersonic missiles to NATO borders for 24/7 operations"
    assert first.text.startswith(
        "Russia sends jets with hypersonic missiles to NATO borders for 24/7 operations\n"
    )
    assert (second.article_id, second.date) == ("seeds/003_aa9f8dce181c1ead", "2021-11-30")
    assert second.title.startswith("Russia is concerned that NATO expansion will pose a threat")
    assert second.text.startswith("During a video conference on Tuesday")
    assert {first.source, second.source} == {"seeds"}


# -- JSON Lines, JSON, CSV ----------------------------------------------------------------------------

JSONL = "\n".join(
    [
        json.dumps({"id": "c1", "vclaim": "Claim one.", "title": "T1", "date": "26 May 2015", "author": "A"}),
        "{not json",
        json.dumps({"vclaim": "Claim three.", "url": None, "score": [1, 2], "source": "snopes"}),
        "",
        json.dumps(["a list"]),
        json.dumps({"id": "c5", "vclaim": "   "}),
        json.dumps({"id": "c6", "text": "Wrong field."}),
    ]
)


def test_jsonl_field_mapping_metadata_and_bad_lines(tmp_path):
    path = write(tmp_path / "bench" / "claims.jsonl", JSONL)
    articles, problems = split(read_file(path, fields=FieldMap(text="vclaim")))
    one, three = articles
    assert (one.article_id, one.text, one.title, one.date, one.source) == (
        "c1",
        "Claim one.",
        "T1",
        "2015-05-26",
        "bench",
    )
    assert (one.metadata, one.origin) == ({"author": "A"}, f"{path}:1")
    assert (three.article_id, three.url, three.source, three.metadata) == (
        "bench/claims-3",
        "",
        "snopes",
        {"score": [1, 2]},
    )
    assert [(p.origin, p.fatal) for p in problems] == [(f"{path}:{n}", True) for n in (2, 5, 6, 7)]
    assert problems[0].reason.startswith("malformed JSON: ")
    assert "not an object" in problems[1].reason
    assert problems[2].reason == "text in field 'vclaim' is empty; nothing to index"
    assert (
        problems[3].reason
        == "record has no field 'vclaim' (fields: id, text); map the text with --text-field"
    )


def test_source_argument_overrides_the_records(tmp_path):
    path = write(tmp_path / "x.ndjson", JSONL)
    articles, _ = split(read_file(path, fields=FieldMap(text="vclaim"), source="mine"))
    assert {a.source for a in articles} == {"mine"}


def test_jsonl_empty_and_binary(tmp_path):
    assert only_problem(write(tmp_path / "e.jsonl", "\n  \n")).reason == "empty file"
    assert only_problem(write(tmp_path / "b.jsonl", b'{"text": "a"}\n\x00\x01\x02')).reason.startswith(
        "binary file"
    )


def test_json_array_single_object_and_json_lines(tmp_path):
    records = [{"id": "a", "text": "First.", "extra": {"k": 1}}, {"text": "Second."}, 3]
    articles, problems = split(read_file(path := write(tmp_path / "arr.json", json.dumps(records, indent=2))))
    assert [(a.article_id, a.metadata) for a in articles] == [
        ("a", {"extra": {"k": 1}}),
        (f"{tmp_path.name}/arr-1", {}),
    ]
    assert [p.origin for p in problems] == [f"{path}[2]"]
    one = only_article(write(tmp_path / "one.json", json.dumps({"text": "Only.", "title": "T"}, indent=2)))
    assert (one.article_id, one.title, one.text) == (f"{tmp_path.name}/one", "T", "Only.")
    articles, problems = split(read_file(path := write(tmp_path / "lines.json", JSONL)))
    assert [a.article_id for a in articles] == ["c6"] and f"{path}:2" in [p.origin for p in problems]


def test_json_malformed_document_is_one_problem(tmp_path):
    problem = only_problem(path := write(tmp_path / "bad.json", '[\n  {"text": "a"},\n  {"text": \n]'))
    assert problem.origin == f"{path}:4" and problem.reason.startswith("malformed JSON: ")
    assert "must hold objects" in only_problem(write(tmp_path / "n.json", "42")).reason


CSV = 'id,text,title,date,url,lang\nr1,"A claim, with a comma\nand a newline.",T1,05.04.2017,http://x,en\n,Second.,,,,\n'


def test_csv(tmp_path):
    path = write(tmp_path / "rows.csv", CSV)
    (one, two), problems = split(read_file(path))
    assert problems == []
    assert (one.article_id, one.text, one.date, one.url, one.metadata) == (
        "r1",
        "A claim, with a comma\nand a newline.",
        "2017-04-05",
        "http://x",
        {"lang": "en"},
    )
    assert (two.article_id, two.origin, two.date) == (f"{tmp_path.name}/rows-4", f"{path}:4", None)


def test_csv_semicolons_bom_and_extra_cells(tmp_path):
    a = only_article(write(tmp_path / "s.csv", "\ufeffid;text\nx;Hello;surplus\n"))
    assert (a.article_id, a.text, a.metadata) == ("x", "Hello", {"_extra": ["surplus"]})


def test_csv_without_the_text_column(tmp_path):
    problem = only_problem(path := write(tmp_path / "w.csv", "a,b,c\n1,2,3\n4,5,6\n"))
    assert (
        str(problem) == f"{path}: no column 'text' in CSV header (columns: a, b, c); map it with --text-field"
    )
    assert only_problem(write(tmp_path / "h.csv", "id,text\n")).reason == "no rows after the CSV header"


def test_csv_long_field(tmp_path):
    a = only_article(write(tmp_path / "long.csv", "text\n" + "x" * 300_000 + "\n"))
    assert len(a.text) == 300_000


# -- HTML -----------------------------------------------------------------------------------------------

HTML = """<html><head><title>Russia moves jets | Example News</title>
<meta property="og:url" content="https://example.com/a/1"><meta name="date" content="2022-08-19">
<meta name="author" content="Maren Holt"></head>
<body><nav>Home | World | Sport</nav><article><h1>Russia moves jets</h1>
<p>Russia has reportedly sent three planes carrying hypersonic missiles to an exclave between two NATO
members for around-the-clock combat duty, the Defense Ministry said on Thursday.</p>
<p>The planes are now based at the Chkalovsk airfield in the Kaliningrad region, close to NATO borders.</p>
</article><footer>Copyright 2022 Example News</footer></body></html>"""


def test_html(tmp_path):
    a = only_article(write(tmp_path / "site" / "page.html", HTML))
    assert "Chkalovsk airfield" in a.text and "Home | World" not in a.text and "Copyright" not in a.text
    assert (a.article_id, a.title, a.date, a.url) == (
        "site/page",
        "Russia moves jets",
        "2022-08-19",
        "https://example.com/a/1",
    )
    assert a.metadata["author"] == "Maren Holt"


def test_html_without_text(tmp_path):
    assert "no article text" in only_problem(write(tmp_path / "x.htm", "<html><body></body></html>")).reason


# -- gzip, encodings, binary and empty files ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "article_id"),
    [
        ("a.txt.gz", EPOCH_SEED, "a"),
        ("a.md.gz", DATE_SEED, "a"),
        ("a.jsonl.gz", '{"text": "Hello."}\n', "a-1"),
        ("a.ndjson.gz", '{"text": "Hello."}\n', "a-1"),
        ("a.json.gz", '[{"text": "Hello."}]', "a-0"),
        ("a.csv.gz", "text\nHello.\n", "a-2"),
        ("a.html.gz", HTML, "a"),
        ("a.HTM.GZ", HTML, "a"),
    ],
)
def test_gzip_of_each_format(tmp_path, name, content, article_id):
    assert only_article(write(tmp_path / name, content)).article_id == f"{tmp_path.name}/{article_id}"


@pytest.mark.parametrize("name", ["bad.txt.gz", "bad.jsonl.gz", "bad.csv.gz"])
def test_corrupt_gzip(tmp_path, name):
    problem = only_problem(write(tmp_path / "plain", b"this is not gzip data").rename(tmp_path / name))
    assert problem.reason.startswith("corrupt gzip file")


def test_truncated_gzip_keeps_the_records_before_the_cut(tmp_path):
    lines = "".join(json.dumps({"text": f"Record {i} " + "pad " * 50}) + "\n" for i in range(2000))
    data = gzip.compress(lines.encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    articles, problems = split(read_file(path))
    assert 0 < len(articles) < 2000 and articles[0].text.startswith("Record 0 ")
    assert [p.reason.startswith("corrupt gzip file") for p in problems] == [True]


@pytest.mark.parametrize("name", ["x.txt", "x.jsonl", "x.json", "x.csv", "x.html"])
def test_binary_files(tmp_path, name):
    assert only_problem(write(tmp_path / name, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")).reason.startswith(
        "binary file, not text"
    )
    controls = bytes(range(1, 9)) * 50
    assert only_problem(write(tmp_path / f"c{name}", controls)).reason.startswith("binary file, not text")


@pytest.mark.parametrize("name", ["e.txt", "e.jsonl", "e.json", "e.csv", "e.html", "e.txt.gz"])
@pytest.mark.parametrize("content", [b"", b" \n\t\r\n", b"\xef\xbb\xbf"])
def test_empty_files(tmp_path, name, content):
    assert only_problem(write(tmp_path / name, content)).reason == "empty file"


def test_cp1252_is_a_warning_and_the_article_still_goes_in(tmp_path):
    path = write(
        tmp_path / "w.txt", "Caf\u00e9 \u201cquoted\u201d\n\nThe body \u2013 with a dash.\n", "cp1252"
    )
    articles, problems = split(read_file(path))
    assert [a.text for a in articles] == ["The body \u2013 with a dash.\n"]
    assert articles[0].title == "Caf\u00e9 \u201cquoted\u201d"
    assert [(p.origin, p.fatal) for p in problems] == [(str(path), False)]
    assert problems[0].reason.startswith("not valid UTF-8; decoded as cp1252")


def test_latin1_when_not_even_cp1252(tmp_path):
    _, (problem,) = split(read_file(write(tmp_path / "l.txt", b"Title\n\nbody \x81 \xe9\n")))
    assert problem.reason.startswith("not valid UTF-8; decoded as latin-1") and not problem.fatal


def test_jsonl_encoding_warning_once_per_file(tmp_path):
    lines = "".join(json.dumps({"text": f"caf\u00e9 {i}"}, ensure_ascii=False) + "\n" for i in range(3))
    articles, problems = split(read_file(path := write(tmp_path / "w.jsonl", lines, "cp1252")))
    assert [a.text for a in articles] == [f"caf\u00e9 {i}" for i in range(3)]
    assert [(p.origin, p.fatal) for p in problems] == [(f"{path}:1", False)]


def test_bom_is_stripped(tmp_path):
    assert only_article(write(tmp_path / "b.txt", "\ufeffTitle\n\nBody.\n")).title == "Title"
    assert only_article(write(tmp_path / "b.jsonl", '\ufeff{"text": "x"}\n')).text == "x"


# -- files and folders ------------------------------------------------------------------------------------


def test_unsupported_and_missing_paths(tmp_path):
    pdf = write(tmp_path / "report.pdf", b"%PDF-1.4")
    bare = write(tmp_path / "README", "hi")
    problems = list(iter_files([pdf, bare, tmp_path / "nope.txt"]))
    assert all(isinstance(p, Problem) and p.fatal for p in problems)
    assert [p.origin for p in problems] == [str(pdf), str(bare), str(tmp_path / "nope.txt")]
    assert problems[0].reason.startswith("unsupported file type '.pdf' (supported: .txt, .md, .jsonl")
    assert problems[1].reason.startswith("file has no extension")
    assert problems[2].reason.startswith("no such file or folder")
    assert only_problem(pdf).reason == problems[0].reason
    assert set(SUPPORTED) == {".txt", ".md", ".jsonl", ".ndjson", ".json", ".csv", ".html", ".htm"}


def test_folders_are_walked_in_sorted_order_skipping_hidden_and_unsupported(tmp_path):
    for name in [
        "b.txt",
        "a/z.jsonl.gz",
        "a/m/k.csv",
        "a/b.md",
        "c.pdf",
        ".hidden.txt",
        ".git/x.txt",
        "a/.h/y.txt",
    ]:
        write(tmp_path / "in" / name, "x")
    explicit = write(tmp_path / "explicit.json", "{}")
    files = list(iter_files([tmp_path / "in", explicit]))
    assert [p.relative_to(tmp_path).as_posix() for p in files] == [
        "in/a/b.md",
        "in/a/m/k.csv",
        "in/a/z.jsonl.gz",
        "in/b.txt",
        "explicit.json",
    ]


def test_read_sources_goes_on_after_problems(tmp_path):
    write(tmp_path / "in" / "1.txt", EPOCH_SEED)
    write(tmp_path / "in" / "2.txt", b"")
    write(tmp_path / "in" / "3.jsonl", '{"text": "ok"}\n')
    articles, problems = split(read_sources([tmp_path / "in", tmp_path / "missing"]))
    assert [a.article_id for a in articles] == ["in/1", "in/3-1"]
    assert [p.reason for p in problems] == ["empty file", "no such file or folder; check the path"]


# -- arbitrary input never raises -------------------------------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.one_of(
        st.binary(max_size=400),
        st.text(max_size=300).map(lambda s: s.encode("utf-8", "surrogatepass")),
        st.lists(
            st.sampled_from([b"{", b"}", b'"text"', b":", b",", b"[", b"]", b"\n", b'"', b"x", b"\r"])
        ).map(b"".join),
    ),
    name=st.sampled_from(["f.txt", "f.md", "f.jsonl", "f.json", "f.csv", "f.txt.gz", "f.jsonl.gz"]),
)
def test_arbitrary_bytes_never_raise(tmp_path, data, name):
    path = tmp_path / name
    path.write_bytes(data)  # not gzipped even when named .gz: corrupt gzip is part of the test
    articles, _ = split(read_file(path))
    assert all(a.text.strip() for a in articles)


# -- the real collections -------------------------------------------------------------------------------

REAL = [  # path under ../shared, field map, ids of records known to have no text
    ("bench/checkthat-2a-tweets/collection.jsonl", FieldMap(text="vclaim"), set()),
    ("bench/checkthat-2b-debates/collection.jsonl", FieldMap(text="vclaim"), set()),
    ("corpora/euvsdisinfo-2015-2017/euvsdisinfo-2015-2017.jsonl.gz", FieldMap(), {107, 108}),
    ("corpora/fakes-syria-war/fakes-syria-war.jsonl.gz", FieldMap(), set()),
    ("corpora/nyt-guardian-ukraine-2022/nyt-guardian-ukraine-2022.jsonl.gz", FieldMap(), set()),
]


@pytest.mark.parametrize(("relative", "fields", "textless"), REAL, ids=[r[0].split("/")[1] for r in REAL])
def test_real_collections(relative, fields, textless):
    path = SHARED / relative
    if not path.exists():
        pytest.skip("../shared not present")
    with (gzip.open if path.suffix == ".gz" else open)(path, "rt", encoding="utf-8") as stream:
        records = [json.loads(line) for line in stream]
    articles, problems = split(read_file(path, fields=fields))
    assert [p.origin for p in problems] == [f"{path}:{n}" for n in sorted(textless)]
    assert len(articles) == len(records) - len(textless)
    assert [a.article_id for a in articles] == [
        r["id"] for n, r in enumerate(records, 1) if n not in textless
    ]
    assert all("\r" not in a.text for a in articles)
    if "corpora" in relative:  # every corpus record carries an ISO date or timestamp
        assert all(
            a.date == r["date"][:10] for a, r in zip(articles, (r for r in records if r["text"]), strict=True)
        )
