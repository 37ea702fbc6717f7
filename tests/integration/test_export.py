"""Integration tests of ``search.export`` and ``claims export`` on the shipped sample (real Whoosh,
FAISS and MiniLM).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from dataclasses import replace
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from index.errors import ClaimsError
from index.manifest import tool_version
from search.evaluate import read_run
from search.export import COLUMNS, FORMATS, export, manifest_file
from search.hits import FEATURE_FIELDS
from search.query import Filters, parse_query
from search.searcher import Searcher, SearchOptions

pytestmark = pytest.mark.slow

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "articles"
QUERY = "hypersonic missiles Kaliningrad"
MANIFEST_KEYS = {
    "format",
    "query",
    "mode",
    "options",
    "leg_depths",
    "model",
    "index",
    "tool_version",
    "created",
    "rows",
}


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory) -> Path:
    from index.ingest import ingest

    path = tmp_path_factory.mktemp("export") / "index"
    report = ingest(path, [SAMPLE])
    assert report.passages > 0 and not report.problems
    return path


def _opts(mode: str = "hybrid", limit: int = 20, **kw) -> SearchOptions:
    return SearchOptions(mode=mode, limit=limit, **kw)


def _expected(index_dir: Path, query: str, opts: SearchOptions) -> list[dict]:
    with Searcher(index_dir) as s:
        hits = s.search(query, opts).hits
    return [
        {
            "rank": h.rank,
            "passage_id": h.passage_id,
            "score": h.score,
            "scores": h.scores,
            "ranks": h.ranks,
            "text": h.text,
            "article_id": h.article_id,
            "start": h.start,
            "end": h.end,
            "title": h.title,
            "date": h.date,
            "source": h.source,
            "url": h.url,
            "metadata": h.metadata,
            **{k: h.to_dict()[k] for k in FEATURE_FIELDS},  # the claim features, as in search --json
        }
        for h in hits
    ]


# the claim-feature columns of CSV/Parquet (flattened; compared with JSON Lines in test_claim_wiring.py)
FLAT_FEATURES = {*FEATURE_FIELDS, "event_date_end"}


def _without_features(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in FLAT_FEATURES} for r in rows]


def _read_jsonl(path: Path) -> tuple[dict, list[dict]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    head = json.loads(lines[0])
    return head["manifest"], [json.loads(line) for line in lines[1:]]


def _unflat(row: dict) -> dict:
    """A CSV/Parquet row back in the JSON Lines shape (legs nested, metadata decoded)."""
    out = {k: v for k, v in row.items() if not k.startswith(("keyword_", "semantic_", "date_"))}
    out["scores"] = {
        leg: float(row[f"{leg}_score"])
        for leg in ("keyword", "semantic", "date")
        if row[f"{leg}_score"] not in ("", None)
    }
    out["ranks"] = {
        leg: int(row[f"{leg}_rank"])
        for leg in ("keyword", "semantic", "date")
        if row[f"{leg}_rank"] not in ("", None)
    }
    out["metadata"] = json.loads(row["metadata"])
    return {k: v for k, v in out.items() if k not in FLAT_FEATURES}


def _read_csv(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
    typed = []
    for r in rows:
        r = dict(r)
        for k in ("rank", "passage_id", "start", "end"):
            r[k] = int(r[k])
        r["score"] = float(r["score"])
        r["date"] = r["date"] or None
        typed.append(_unflat(r))
    return list(reader.fieldnames or []), typed


def _read_parquet(path: Path) -> tuple[list[str], list[dict]]:
    table = pq.read_table(path)
    return table.column_names, [_unflat(r) for r in table.to_pylist()]


@pytest.mark.parametrize("mode", ["hybrid", "keyword", "semantic"])
def test_jsonl_matches_search(index_dir, tmp_path, mode):
    opts = _opts(mode)
    out = tmp_path / "run.jsonl"
    n = export(index_dir, QUERY, out, opts)
    manifest, rows = _read_jsonl(out)
    want = _expected(index_dir, QUERY, opts)
    assert n == len(rows) == len(want) == manifest["rows"] > 0
    assert rows == want
    assert set(rows[0]) == {*want[0]}
    if mode == "hybrid":
        assert any(len(r["scores"]) == 2 for r in rows)


@pytest.mark.parametrize(("suffix", "reader"), [(".csv", _read_csv), (".parquet", _read_parquet)])
def test_flat_formats_round_trip(index_dir, tmp_path, suffix, reader):
    opts = _opts("hybrid", filters=Filters(sources=["articles"]))
    out = tmp_path / f"run{suffix}"
    n = export(index_dir, QUERY, out, opts)
    columns, rows = reader(out)
    assert columns == list(COLUMNS)
    assert n == len(rows) > 0
    assert rows == _without_features(_expected(index_dir, QUERY, opts))


def test_parquet_types(index_dir, tmp_path):
    out = tmp_path / "run.parquet"
    export(index_dir, QUERY, out, _opts("keyword"))
    schema = pq.read_schema(out)
    assert str(schema.field("rank").type) == "int64"
    assert str(schema.field("score").type) == "double"
    assert str(schema.field("metadata").type) == "string"
    assert pq.read_table(out).column("semantic_score").null_count == pq.read_metadata(out).num_rows


def test_manifest(index_dir, tmp_path):
    opts = _opts("hybrid", limit=7, depth=50, fusion="convex", weights=(0.3, 0.7))
    out = tmp_path / "run.csv"
    n = export(index_dir, QUERY, out, opts)
    m = json.loads(manifest_file(out).read_text(encoding="utf-8"))
    assert manifest_file(out).name == "run.csv.manifest.json"
    assert set(m) >= MANIFEST_KEYS
    assert m["format"] == "csv" and m["query"] == QUERY and m["mode"] == "hybrid" and m["rows"] == n
    assert m["options"]["limit"] == 7 and m["options"]["depth"] == 50
    assert m["options"]["fusion"] == "convex"
    assert m["options"]["fusion_params"] == {"weights": [0.3, 0.7], "norm": "zscore"}
    assert m["options"]["filters"] == {
        "since": None,
        "until": None,
        "sources": [],
        "where": [],
        # the claim filters (issue 13) are recorded too
        "speaker": None,
        "claim_mode": None,
        "entities": [],
        "places": [],
        "weapons": [],
        "checkworthy": None,
        "numbers": [],
    }
    assert m["leg_depths"] == {"keyword": 50, "semantic": 50}
    assert m["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    raw = (index_dir / "manifest.json").read_bytes()
    assert m["index"]["manifest_sha256"] == hashlib.sha256(raw).hexdigest()
    assert m["index"]["generation"] == json.loads(raw)["generation"]
    assert m["tool_version"] == tool_version()
    assert m["created"].endswith("Z")


def test_jsonl_first_line_is_the_manifest(index_dir, tmp_path):
    out = tmp_path / "run.ndjson"
    export(index_dir, QUERY, out, _opts("keyword"))
    head, _ = _read_jsonl(out)
    beside = json.loads(manifest_file(out).read_text(encoding="utf-8"))
    assert head == beside and head["format"] == "jsonl"


@pytest.mark.parametrize("fmt", FORMATS)
def test_deterministic(index_dir, tmp_path, fmt):
    opts = _opts("hybrid", limit=0)
    a, b = tmp_path / "a.out", tmp_path / "b.out"
    assert export(index_dir, QUERY, a, opts, fmt=fmt) == export(index_dir, QUERY, b, opts, fmt=fmt)
    ma, mb = (json.loads(manifest_file(p).read_text(encoding="utf-8")) for p in (a, b))
    assert ma.pop("created") and mb.pop("created")
    assert ma == mb
    if fmt == "parquet":
        assert pq.read_table(a).equals(pq.read_table(b))
    elif fmt == "jsonl":
        assert a.read_text().splitlines()[1:] == b.read_text().splitlines()[1:]
    else:
        assert a.read_bytes() == b.read_bytes()


def test_limit_zero_keyword_returns_every_match(index_dir, tmp_path):
    query = "missile OR missiles OR drone OR drones"
    out = tmp_path / "all.jsonl"
    n = export(index_dir, query, out, _opts("keyword", limit=0, depth=1))
    with Searcher(index_dir) as s, s.ix.searcher() as ws:
        count = sum(1 for _ in parse_query(query, s.ix.schema).docs(ws))
    assert n == count > 1
    _, rows = _read_jsonl(out)
    assert [r["rank"] for r in rows] == list(range(1, n + 1))
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    assert len({r["passage_id"] for r in rows}) == n


def test_limit_zero_semantic_and_hybrid_rank_every_passage(index_dir, tmp_path):
    with Searcher(index_dir) as s:
        passages = len(s.catalog.passage_ids())
    for mode in ("semantic", "hybrid"):  # no minimum similarity: the whole ranking is every passage
        n = export(
            index_dir, QUERY, tmp_path / f"{mode}.csv", _opts(mode, limit=0, depth=5, min_similarity=None)
        )
        assert n == passages
    # The whole ranking starts with the top of `search`.
    _, rows = _read_csv(tmp_path / "hybrid.csv")
    top = _expected(index_dir, QUERY, _opts("hybrid", limit=10, depth=passages, min_similarity=None))
    assert rows[:10] == _without_features(top)
    # With the default minimum similarity an export of everything holds the hits, not the index (issue 11
    # item 8): each row has the query's words (a keyword score) or a cosine at or above the minimum.
    floor = SearchOptions().min_similarity
    n = export(index_dir, QUERY, tmp_path / "hits.csv", _opts("hybrid", limit=0, depth=5))
    _, rows = _read_csv(tmp_path / "hits.csv")
    assert 0 < n == len(rows) < passages
    assert all("keyword" in r["scores"] or r["scores"]["semantic"] >= floor for r in rows)


def test_trec_lines(index_dir, tmp_path):
    opts = _opts("hybrid", limit=15)
    out = tmp_path / "run.trec"
    n = export(index_dir, QUERY, out, opts)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == n > 0
    for rank, line in enumerate(lines, 1):
        qid, q0, doc, r, score, tag = line.split()
        assert (qid, q0, int(r), tag) == ("q1", "Q0", rank, "claims-hybrid")
        float(score)
        int(doc)
    run = read_run(out)
    want = _expected(index_dir, QUERY, opts)
    assert run == {"q1": [(str(h["passage_id"]), h["score"]) for h in want]}
    n = export(index_dir, QUERY, tmp_path / "run.txt", opts, qid="Q7", tag="mine")
    assert read_run(tmp_path / "run.txt").keys() == {"Q7"}
    m = json.loads(manifest_file(tmp_path / "run.txt").read_text(encoding="utf-8"))
    assert (m["qid"], m["tag"], m["format"]) == ("Q7", "mine", "trec")


def test_unknown_format(index_dir, tmp_path):
    with pytest.raises(ClaimsError, match="jsonl, csv, parquet, trec"):
        export(index_dir, QUERY, tmp_path / "run.xlsx", _opts())
    with pytest.raises(ClaimsError, match="jsonl, csv, parquet, trec"):
        export(index_dir, QUERY, tmp_path / "run.csv", _opts(), fmt="xml")
    assert list(tmp_path.iterdir()) == []


def test_format_option_overrides_extension(index_dir, tmp_path):
    out = tmp_path / "run.data"
    export(index_dir, QUERY, out, _opts("keyword"), fmt="parquet")
    assert pq.read_table(out).num_rows > 0


def test_failed_export_leaves_no_file(index_dir, tmp_path, monkeypatch):
    out = tmp_path / "run.csv"
    out.write_text("old\n")
    import index.catalog_reader

    def boom(self, pids):
        raise OSError("disk full")

    monkeypatch.setattr(index.catalog_reader.CatalogReader, "passages", boom)
    with pytest.raises(OSError, match="disk full"):
        export(index_dir, QUERY, out, _opts("keyword"))
    assert out.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.csv"]


def test_offset_continues_ranks(index_dir, tmp_path):
    opts = replace(_opts("hybrid", limit=5), offset=3)
    n = export(index_dir, QUERY, tmp_path / "run.jsonl", opts)
    _, rows = _read_jsonl(tmp_path / "run.jsonl")
    assert n == 5 and [r["rank"] for r in rows] == [4, 5, 6, 7, 8]
    assert rows == _expected(index_dir, QUERY, opts)


def test_cli_export(index_dir, tmp_path):
    from cli import app

    runner = CliRunner()
    out = tmp_path / "cli.parquet"
    result = runner.invoke(
        app, ["export", QUERY, "-o", str(out), "--index", str(index_dir), "-k", "5", "--mode", "keyword"]
    )
    assert result.exit_code == 0, result.output
    assert pq.read_table(out).num_rows == 5
    assert json.loads(manifest_file(out).read_text(encoding="utf-8"))["rows"] == 5

    empty = tmp_path / "none.jsonl"
    result = runner.invoke(
        app, ["export", "zzqxv", "-o", str(empty), "--index", str(index_dir), "--mode", "keyword", "-q"]
    )
    assert result.exit_code == 1, result.output
    manifest, rows = _read_jsonl(empty)
    assert manifest["rows"] == 0 and rows == []

    result = runner.invoke(app, ["export", QUERY, "-o", str(tmp_path / "x.xlsx"), "--index", str(index_dir)])
    assert result.exit_code == 2
