"""Ingest end to end with the real stores and model: seeds by hand, offsets, updates, deletes, bad input."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.errors import ClaimsError, InputFormatError, NotFoundError
from index.ingest import delete, ingest
from index.records import Article
from search.admin import check_index, index_stats
from search.searcher import Searcher, SearchOptions

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "articles"
SHARED = ROOT.parent / "shared"
requires_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"needs the shared data folder {SHARED} (seeds, corpora, bench); it is absent"
)
SEED_000 = "seeds/000_5252c1565235be4e"  # Newsweek, 2022-08-19: MiG-31s to Kaliningrad
SEED_003 = "seeds/003_aa9f8dce181c1ead"  # 2021-11-30: Putin, NATO and hypersonic missiles


# -- helpers --------------------------------------------------------------------------------------
def passages_of(searcher: Searcher, article_id: str) -> list[dict]:
    return [p for p in searcher.catalog.iter_passages() if p["article_id"] == article_id]


def dropped_of(searcher: Searcher, article_id: str) -> list[tuple[int, int, str]]:
    """The article's dropped boilerplate spans (start, end, reason), from the catalog."""
    rows = searcher.catalog.db.execute(
        "SELECT d.start, d.end, d.reason FROM dropped d JOIN articles a ON a.aid = d.aid "
        "WHERE a.article_id = ? AND a.deleted_gen IS NULL ORDER BY d.start",
        (article_id,),
    )
    return [tuple(r) for r in rows]


def snapshot(index: Path) -> dict:
    """What a test compares before/after: generation, counts and every visible passage."""
    with Searcher(index) as s:
        return {
            "generation": s.manifest.generation,
            "passages": {p["passage_id"]: (p["article_id"], p["text"]) for p in s.catalog.iter_passages()},
            "articles": index_stats(index)["articles"],
        }


def hits(index: Path, text: str, mode: str, limit: int = 50, **kw):
    with Searcher(index) as s:
        return s.search(text, SearchOptions(mode=mode, limit=limit, **kw)).hits


def assert_ok(index: Path) -> None:
    report = check_index(index)
    assert report["ok"], report["problems"]


# -- the shared sample index ------------------------------------------------------------------------
def test_sample_index_holds_every_input_article(sample_build, sample_searcher):
    files = [p for folder in sample_build.inputs for p in folder.iterdir() if p.is_file()]
    report = sample_build.report
    assert report.added == len(files), "one article per .txt / .txt.gz file"
    assert (report.failed, report.updated, report.unchanged, report.problems) == (0, 0, 0, [])
    assert report.passages == len(sample_searcher.catalog.passage_ids()) > len(files)
    stats = index_stats(sample_build.path)
    assert stats["articles"] == len(files)
    assert stats["dropped"] == report.dropped == sum(stats["dropped_by_reason"].values())
    assert stats["sources"]["articles"] == len(list(SAMPLES.iterdir())), "source = the folder name"
    assert_ok(sample_build.path)


def test_every_passage_slices_back_out_of_its_article(sample_searcher):
    by_article: dict[str, list[dict]] = {}
    for p in sample_searcher.catalog.iter_passages():
        by_article.setdefault(p["article_id"], []).append(p)
    assert by_article
    for article_id, passages in by_article.items():
        text = sample_searcher.catalog.article_text(article_id)
        passages.sort(key=lambda p: p["ordinal"])
        for p in passages:
            assert text[p["start"] : p["end"]] == p["text"], (article_id, p["passage_id"])
            assert p["text"] and p["text"] == p["text"].strip()
            assert "\n\n" not in p["text"], "a passage never crosses a paragraph"
        for a, b in zip(passages, passages[1:], strict=False):
            assert a["end"] <= b["start"], "passages are in text order and never overlap"


def test_gzipped_sample_is_read(sample_searcher):
    text = sample_searcher.catalog.article_text("articles/12_viasat_cyber_attribution")
    with gzip.open(SAMPLES / "12_viasat_cyber_attribution.txt.gz", "rt", encoding="utf-8") as f:
        body = f.read().partition("\n")[2].strip()
    assert body.startswith(text.strip()[:200])
    assert passages_of(sample_searcher, "articles/12_viasat_cyber_attribution")


# -- the two real seed articles, checked by hand ------------------------------------------------------
@requires_shared
def test_seed_headers_give_dates_and_titles(sample_searcher):
    rows = dict(
        (r[0], r[1:])
        for r in sample_searcher.catalog.db.execute(
            "SELECT article_id, date, title, source FROM articles WHERE article_id IN (?, ?)",
            (SEED_000, SEED_003),
        )
    )
    # 000's header line is "1660884494 Russia sends jets ... for": Unix seconds, then a headline the scraper
    # cut short; the body's first line repeats it in full.
    epoch = int((SHARED / f"{SEED_000}.txt").read_text(encoding="utf-8").split()[0])
    assert dt.datetime.fromtimestamp(epoch, dt.UTC).date().isoformat() == "2022-08-19"
    assert rows[SEED_000] == (
        "2022-08-19",
        "Russia sends jets with hypersonic missiles to NATO borders for 24/7 operations",
        "seeds",
    )
    # 003's header line is " date 2021-11-30 <headline>".
    assert rows[SEED_003] == (
        "2021-11-30",
        "Russia is concerned that NATO expansion will pose a threat, and it claims to be developing "
        "weapons in response.",
        "seeds",
    )


@requires_shared
def test_seed_passages_are_the_claims_and_boilerplate_is_dropped(sample_searcher, sample_build):
    s = sample_searcher
    for article_id in (SEED_000, SEED_003):
        text = s.catalog.article_text(article_id)
        passages = passages_of(s, article_id)
        dropped = dropped_of(s, article_id)
        for p in passages:
            assert text[p["start"] : p["end"]] == p["text"]
        # Passages and dropped spans together cover every word of the article, and never overlap.
        spans = sorted([(p["start"], p["end"]) for p in passages] + [(a, b) for a, b, _ in dropped])
        for (_, b), (c, _) in zip(spans, spans[1:], strict=False):
            assert b <= c and not text[b:c].strip(), f"{article_id}: {text[b:c]!r} is in no span"
        assert not text[: spans[0][0]].strip() and not text[spans[-1][1] :].strip()

    texts = {p["text"] for p in passages_of(s, SEED_000) + passages_of(s, SEED_003)}
    # One-sentence paragraphs and plain declarative sentences are passages exactly as written.
    for sentence in (
        "Russia has reportedly sent three planes carrying hypersonic missiles to an exclave between two NATO "
        "members for around-the-clock combat duty amid fears of war between the alliance and President "
        "Vladimir Putin’s army.",
        "In 2018, Russia reportedly sent Iskander missiles capable of carrying nuclear warheads to Kaliningrad.",
        "Early next year, the missiles will be introduced to the Russian fleet.",
        "All rumors of a planned invasion of Ukraine have been refuted by Russia.",
    ):
        assert sentence in texts, sentence
    # "Estonia and Latvia border Russia." is a 5-word fragment: it rides with the sentence before it.
    assert "Estonia and Latvia border Russia." not in texts
    assert any(t.endswith("Estonia and Latvia border Russia.") and len(t) > 40 for t in texts)

    # Boilerplate: in no passage, but in the dropped spans with its reason.
    t000 = s.catalog.article_text(SEED_000)
    t003 = s.catalog.article_text(SEED_003)
    caption = next(p for p in t000.split("\n\n") if p.strip().endswith("Mikhail Svetlov/Getty Images"))
    caption = caption.strip()
    boilerplate = [
        (SEED_000, t000, caption, "caption"),
        (
            SEED_000,
            t000,
            "Newsweek has reached out to the Russian Defense Ministry and NATO for comment.",
            "comment-request",
        ),
        (SEED_000, t000, "Russia uses aircraft for combat duty", "heading"),
        (
            SEED_003,
            t003,
            "To avert tensions, Putin suggested that Russia and the West form accords that would take the.",
            "truncated",
        ),
    ]
    for article_id, text, span, reason in boilerplate:
        start = text.index(span)
        end = start + len(span)
        for p in passages_of(s, article_id):
            assert p["end"] <= start or p["start"] >= end, f"passage {p['passage_id']} overlaps {span[:40]!r}"
        assert (start, end, reason) in dropped_of(s, article_id), span[:60]
    by_reason = index_stats(sample_build.path)["dropped_by_reason"]
    assert by_reason.get("caption", 0) >= 1 and by_reason.get("comment-request", 0) >= 1


# -- any text: offsets always slice back -------------------------------------------------------------
_PIECES = st.sampled_from(
    [". ", "? ", "\n", "\n\n", "\r\n", " ", "“", "”", "MiG-31 ", "Getty Images", "said.", "\u200b", "\t"]
)
_WORDS = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
_ARTICLE_TEXT = st.lists(
    st.one_of(_PIECES, _WORDS, st.sampled_from(["Russia said the strike hit."])), max_size=30
).map("".join)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_ARTICLE_TEXT, title=st.text(max_size=30))
def test_any_article_text_slices_back_and_is_found_by_its_words(text, title):
    from search.query import literal_query

    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        report = ingest(index, [], articles=[Article("a1", text, title=title, source="hyp")])
        assert report.added == 1 and report.failed == 0
        with Searcher(index) as s:
            assert s.catalog.article_text("a1") == text, "the article text is kept verbatim"
            passages = list(s.catalog.iter_passages())
            assert report.passages == len(passages)
            for p in passages:
                assert text[p["start"] : p["end"]] == p["text"]
            for p in passages[:3]:
                try:
                    literal_query(p["text"])
                except ClaimsError:
                    continue  # no searchable word in it (punctuation, stop words)
                found = s.search(p["text"], SearchOptions(mode="keyword", literal=True, limit=100)).hits
                assert p["passage_id"] in {h.passage_id for h in found}
        assert_ok(index)


# -- incremental: unchanged, changed, deleted ------------------------------------------------------------
def test_reingest_of_unchanged_input_changes_nothing(sample_build, copy_index):
    index = copy_index(sample_build.path)
    before = snapshot(index)
    report = ingest(index, sample_build.inputs)
    assert report.unchanged == sample_build.report.added
    assert (report.added, report.updated, report.failed) == (0, 0, 0)
    assert report.embedded == 0 and report.passages == 0, "nothing is split or embedded again"
    after = snapshot(index)
    assert after["passages"] == before["passages"], "same passage ids, same texts"
    assert after["articles"] == before["articles"]
    assert after["generation"] >= before["generation"]
    assert_ok(index)


OLD = (
    "The zebrafish battalion crossed the Dnipro river at dawn, regional officials said on Monday. "
    "Witnesses reported heavy shelling near the pontoon crossing for several hours afterwards."
)
NEW = (
    "Naval drones struck a landing ship in the Kerch Strait overnight, according to the navy. "
    "The ministry denied that any vessel had been damaged in the attack on the port."
)
OTHER = (
    "Farmers in the Kherson region resumed the grain harvest despite the mines in their fields. "
    "Sappers cleared more than two hundred hectares of farmland last month, the agency said."
)


def test_changed_article_replaces_its_passages_everywhere(tmp_path):
    index = tmp_path / "index"
    first = ingest(index, [], articles=[Article("a", OLD, title="Crossing"), Article("b", OTHER)])
    assert first.added == 2
    assert {h.article_id for h in hits(index, "zebrafish", "keyword")} == {"a"}

    report = ingest(index, [], articles=[Article("a", NEW, title="Strike"), Article("b", OTHER)])
    assert (report.added, report.updated, report.unchanged) == (0, 1, 1)
    current = {"a": NEW, "b": OTHER, "c": OTHER.replace("Kherson", "Mykolaiv")}
    for _ in range(2):  # and once more, after the next batch purges the retired Whoosh documents
        with Searcher(index) as s:
            assert s.catalog.article_text("a") == NEW
            new_passages = [p["text"] for p in s.catalog.iter_passages() if p["article_id"] == "a"]
        assert new_passages and all(t in NEW for t in new_passages)
        assert hits(index, "zebrafish", "keyword") == [], "old words are no longer found"
        assert hits(index, "pontoon Dnipro", "keyword") == []
        for h in hits(index, OLD, "semantic") + hits(index, OLD, "hybrid"):
            assert h.text in current[h.article_id], "old passages never come back"
        assert {h.article_id for h in hits(index, "Kerch Strait landing ship", "keyword")} == {"a"}
        assert_ok(index)
        ingest(index, [], articles=[Article("c", current["c"])])


def test_delete_removes_an_article_from_every_store(tmp_path, cli):
    index = tmp_path / "index"
    ingest(index, [], articles=[Article("a", OLD), Article("b", OTHER)])
    with Searcher(index) as s:
        old_pids = {p["passage_id"] for p in s.catalog.iter_passages() if p["article_id"] == "a"}
    assert old_pids

    assert delete(index, ["a", "no-such-article"]) == (1, ["no-such-article"])
    with Searcher(index) as s:
        assert old_pids.isdisjoint(s.catalog.passage_ids())
        assert old_pids.isdisjoint(set(s.dense.ids().tolist())), "gone from FAISS"
        with pytest.raises(NotFoundError):
            s.catalog.article_text("a")
    assert hits(index, "zebrafish", "keyword") == [], "gone from Whoosh"
    assert all(h.article_id == "b" for h in hits(index, OLD, "semantic"))
    assert index_stats(index)["articles"] == 1
    assert_ok(index)

    r = cli("delete", "a", "--index", index)
    assert r.exit_code == 1 and "not found" in r.stderr
    r = cli("delete", "b", "--index", index)
    assert r.exit_code == 0, r.stderr
    assert index_stats(index)["articles"] == 0
    assert_ok(index)


# -- bad input ---------------------------------------------------------------------------------------
GOOD_TEXT = (
    "Air defence units shot down eleven drones over the capital overnight, the city administration said. "
    "Debris damaged two residential buildings in the eastern district but no one was hurt."
)


@pytest.fixture(scope="module")
def tiny_index(tmp_path_factory) -> Path:
    """Two articles already indexed, for the bad-input tests to copy and add to."""
    index = tmp_path_factory.mktemp("tiny") / "index"
    ingest(index, [], articles=[Article("kept-1", OLD), Article("kept-2", OTHER)])
    return index


@pytest.fixture
def bad_batch(tmp_path) -> dict[str, Path]:
    """One file of each kind of bad input, plus good ones; the name says which."""
    d = tmp_path / "inputs"
    d.mkdir()
    files = {
        "good": d / "good.txt",
        "cp1252": d / "cp1252.txt",
        "binary": d / "binary.txt",
        "empty": d / "empty.txt",
        "jsonl": d / "records.jsonl",
        "csv": d / "wrong-header.csv",
        "unsupported": d / "report.pdf",
    }
    files["good"].write_text("Drones downed over the capital\n\n" + GOOD_TEXT, encoding="utf-8")
    files["cp1252"].write_bytes(
        ("Café owners in Kharkiv reopen\n\nThe café near the façade of the opera house reopened on "
         "Friday after repairs, its owner said. Shelling had shattered every window of the building "
         "in March.").encode("cp1252")
    )  # fmt: skip
    files["binary"].write_bytes(b"\x00\x01\x02PK\x03\x04" * 200)
    files["empty"].write_bytes(b"")
    files["jsonl"].write_text(
        json.dumps({"id": "json-ok", "text": NEW, "title": "Kerch"})
        + "\n"
        + '{"id": "json-broken", "text": "unterminated\n'
        + json.dumps({"id": "json-notext", "title": "no body here", "body": "text under another name"})
        + "\n",
        encoding="utf-8",
    )
    files["csv"].write_text(
        "headline,body\nA headline,Some body text that is long enough.\n", encoding="utf-8"
    )
    files["unsupported"].write_bytes(b"%PDF-1.4 not really")
    return files


# Which line of report.problems each bad input must produce: (origin, words in the reason).
def expected_problems(f: dict[str, Path]) -> list[tuple[str, str]]:
    return [
        (str(f["binary"]), "binary file"),
        (str(f["empty"]), "empty file"),
        (f"{f['jsonl']}:2", "malformed JSON"),
        (f"{f['jsonl']}:3", "record has no field 'text'"),
        (str(f["csv"]), "no column 'text' in CSV header"),
        (str(f["unsupported"]), "unsupported file type '.pdf'"),
    ]


def test_bad_inputs_are_reported_one_line_each_and_the_rest_goes_in(tiny_index, copy_index, bad_batch):
    index = copy_index(tiny_index)
    before = snapshot(index)
    report = ingest(index, list(bad_batch.values()))
    assert all("\n" not in line for line in report.problems), "every problem is one line"
    for origin, words in expected_problems(bad_batch):
        lines = [line for line in report.problems if line.startswith(f"{origin}: ")]
        assert len(lines) == 1 and words in lines[0], (origin, report.problems)
    warnings = [line for line in report.problems if line.startswith("warning: ")]
    assert len(warnings) == 1 and str(bad_batch["cp1252"]) in warnings[0] and "cp1252" in warnings[0]
    assert report.failed == len(expected_problems(bad_batch))
    assert report.added == 3, "good.txt, cp1252.txt and the good JSON line"

    after = snapshot(index)
    assert after["articles"] == before["articles"] + 3
    assert before["passages"].items() <= after["passages"].items(), "nothing already indexed is lost"
    with Searcher(index) as s:
        assert "café near the façade" in s.catalog.article_text("inputs/cp1252"), (
            "cp1252 decoded, not mangled"
        )
        assert s.catalog.article_text("json-ok") == NEW
    assert_ok(index)


def test_cli_ingest_exit_codes_for_partly_and_wholly_bad_input(tiny_index, copy_index, bad_batch, cli):
    index = copy_index(tiny_index)
    r = cli("ingest", *bad_batch.values(), "--index", index)
    assert r.exit_code == 0, r.stderr
    for origin, _ in expected_problems(bad_batch):
        assert origin in r.stderr
    assert "Traceback" not in r.stderr

    index = copy_index(tiny_index)
    before = snapshot(index)
    bad_only = [bad_batch[k] for k in ("binary", "empty", "csv", "unsupported")]
    r = cli("ingest", *bad_only, "--index", index)
    assert r.exit_code == 2
    assert "Traceback" not in r.stderr
    error_lines = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and "nothing could be ingested" in error_lines[0]
    assert snapshot(index) == before, "a failed batch changes nothing"
    assert_ok(index)


def test_strict_fails_on_the_first_bad_record_and_changes_nothing(tiny_index, copy_index, bad_batch, cli):
    index = copy_index(tiny_index)
    before = snapshot(index)
    batch = [bad_batch["good"], bad_batch["cp1252"], bad_batch["jsonl"], bad_batch["binary"]]
    with pytest.raises(InputFormatError) as e:
        ingest(index, batch, strict=True)
    assert e.value.origin == f"{bad_batch['jsonl']}:2", "the first bad record, by file:line"
    assert snapshot(index) == before
    assert_ok(index)

    r = cli("ingest", *batch, "--strict", "--index", index)
    assert r.exit_code == 2 and "Traceback" not in r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"{bad_batch['jsonl']}:2" in errors[0] and "--strict" in errors[0]
    assert snapshot(index) == before

    # A warning (cp1252) is not a bad record: strict still ingests it.
    report = ingest(index, [bad_batch["good"], bad_batch["cp1252"]], strict=True)
    assert report.added == 2 and report.failed == 0


# -- real data -----------------------------------------------------------------------------------------
@pytest.mark.slow
@requires_shared
def test_corpora_subsets_ingest(corpora_build, corpora_subset, corpora_searcher):
    report = corpora_build.report
    records = [r for recs in corpora_subset.records.values() for r in recs]
    with_text = [r for r in records if (r.get("text") or "").strip()]
    assert report.added == len(with_text) and report.failed == len(records) - len(with_text)
    for name, recs in corpora_subset.records.items():
        for line, r in enumerate(recs, start=1):
            if not (r.get("text") or "").strip():
                origin = f"{corpora_subset.folder / f'{name}.jsonl.gz'}:{line}"
                said = f"{origin}: text in field 'text' is empty; nothing to index"
                assert said in report.problems, origin
    stats = index_stats(corpora_build.path)
    assert stats["articles"] == len(with_text)
    nyt = corpora_subset.records["nyt-guardian-ukraine-2022"]
    assert stats["sources"]["The New York Times"] == sum(r["source"] == "The New York Times" for r in nyt)
    all_dates = sorted(r["date"] for r in with_text if r.get("date"))
    assert stats["date_range"] == [all_dates[0], all_dates[-1]]
    assert {"language", "label", "keywords"} <= set(stats["metadata_fields"])
    ids = {r["id"] for r in with_text}
    got = {a for (a,) in corpora_searcher.catalog.db.execute("SELECT article_id FROM articles")}
    assert got == ids, "record ids are the article ids"
    assert_ok(corpora_build.path)


BENCH_SUBSET = 300


@pytest.mark.slow
@requires_shared
@pytest.mark.parametrize("collection", ["checkthat-2a-tweets", "checkthat-2b-debates"])
def test_bench_collections_ingest_with_text_field(collection, tmp_path, cli):
    src = SHARED / "bench" / collection / "collection.jsonl"
    with src.open(encoding="utf-8") as f:
        lines = [line for _, line in zip(range(BENCH_SUBSET), f, strict=False)]
    subset = tmp_path / f"{collection}.jsonl"
    subset.write_text("".join(lines), encoding="utf-8")
    records = [json.loads(line) for line in lines]
    expected = {r["id"] for r in records if (r.get("vclaim") or "").strip()}

    index = tmp_path / "index"
    r = cli("ingest", subset, "--text-field", "vclaim", "--index", index, "--json", "--quiet")
    assert r.exit_code == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["added"] == len(expected) and report["failed"] == len(records) - len(expected)
    with Searcher(index) as s:
        assert {a for (a,) in s.catalog.db.execute("SELECT article_id FROM articles")} == expected
        one = records[0]
        assert s.catalog.article_text(one["id"]) == one["vclaim"].replace("\r\n", "\n")
    assert_ok(index)


def test_unsupported_extension_inside_a_folder_is_left_out_silently(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.txt").write_text("Headline\n\n" + GOOD_TEXT, encoding="utf-8")
    (d / "notes.pdf").write_bytes(b"%PDF")
    report = ingest(tmp_path / "index", [d])
    assert report.added == 1 and report.failed == 0 and report.problems == []
