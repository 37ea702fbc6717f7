"""``claims serve``: the real uvicorn server on a free loopback port over real indexes.

- The API and the CLI agree hit for hit (same order, same JSON) on 10 queries over the corpora index
  (the sample index without ../shared), and an API export holds the rows of ``claims export``.
- Every error is JSON with its status: a query that cannot be parsed (400, the CLI's message and the
  ``literal`` hint), bad options (400), bad parameter types (422), unknown passages and paths (404),
  a missing or damaged index (503 naming ``claims repair``), a query past the time limit (503),
  an unknown facet (400), ingest on a read-only server (403); never a traceback.
- An ingest committed during 50 concurrent requests: 0 errors, every response from one generation.
- A passage holding ``<script>`` shows as text on the pages.
- A non-loopback bind without a token refuses to start (exit 2, one line); with a token every request
  must carry it.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pytest

from search.serve import create_app
from search.serve.background import BackgroundServer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def get(url: str, headers: dict | None = None, method: str = "GET", data: bytes | None = None):
    """``(status, headers, body bytes)``; 4xx/5xx are answers, not exceptions."""
    req = urllib.request.Request(url, headers=headers or {}, method=method, data=data)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def get_json(url: str, **kw):
    status, headers, body = get(url, **kw)
    return status, json.loads(body)


def qs(**params) -> str:
    items = []
    for k, v in params.items():
        for x in v if isinstance(v, list) else [v]:
            items.append((k, str(x).lower() if isinstance(x, bool) else str(x)))
    return urlencode(items)


@pytest.fixture(scope="module")
def served(request):
    """``served(index_dir, **create_app options)`` -> a running ``BackgroundServer`` (stopped at module end)."""
    servers = []

    def start(index_dir: Path, **kw) -> BackgroundServer:
        srv = BackgroundServer(create_app(index_dir, **kw)).__enter__()
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.__exit__(None, None, None)


# -- API vs CLI --------------------------------------------------------------------------------------
def _queries(stats: dict) -> list[tuple[str, dict]]:
    """10 queries over every mode and the options the API takes (sources and dates from the index)."""
    source = next(iter(stats["sources"]))
    lo, hi = stats["date_range"] if stats.get("date_range") else (None, None)
    dated = {"since": lo[:10], "until": hi[:10]} if lo and hi else {}
    return [
        ("Kyiv missile strike", {}),
        ("Russia", {"mode": "keyword", "k": 7}),
        ("chemical weapons were used by the government", {"mode": "semantic", "k": 5}),
        ('"air defence" OR drones', {"mode": "keyword", "k": 10}),
        ("NATO expansion threatens Russia", {"source": [source], "k": 5}),
        ("Ukraine", {"mode": "keyword", "k": 5, "offset": 5}),
        ('NATO: "red line"?', {"literal": True, "k": 5}),
        ("hypersonic missiles", {**dated, "k": 6}),
        ("sanctions against Moscow", {"around": hi[:10] if hi else "2022-03-01", "k": 5}),
        ("war in Syria", {"explain": True, "k": 4, "mode": "hybrid"}),
    ]


def _cli_flags(params: dict) -> list[str]:
    flags: list[str] = []
    for k, v in params.items():
        name = {"k": "--limit"}.get(k, "--" + k.replace("_", "-"))
        if v is True:
            flags.append(name)
        else:
            for x in v if isinstance(v, list) else [v]:
                flags += [name, str(x)]
    return flags


@pytest.fixture(scope="module")
def agree_index(request) -> Path:
    has_shared = (ROOT.parent / "shared").is_dir()
    return request.getfixturevalue("corpora_index" if has_shared else "sample_index")


def test_api_and_cli_agree_hit_for_hit(agree_index, served, cli):
    srv = served(agree_index)
    status, stats = get_json(srv.url + "/api/stats")
    assert status == 200 and stats["passages"] > 0
    compared = 0
    for q, params in _queries(stats):
        result = cli("search", q, "--index", agree_index, "--json", *_cli_flags(params))
        assert result.exit_code in (0, 1), result.stderr
        cli_lines = result.stdout.splitlines()
        status, _, body = get(f"{srv.url}/api/search?{qs(q=q, format='jsonl', **params)}")
        assert status == 200, body
        assert body.decode("utf-8").splitlines() == cli_lines, q  # the same bytes, line for line
        status, obj = get_json(f"{srv.url}/api/search?{qs(q=q, **params)}")
        cli_hits = [json.loads(line) for line in cli_lines if not line.startswith('{"explain"')]
        assert obj["hits"] == cli_hits
        compared += len(cli_hits)
        # independent checks: ranks follow the page, scores never rise, every leg's rank is >= 1
        ranks = [h["rank"] for h in obj["hits"]]
        start = params.get("offset", 0) + 1
        assert ranks == list(range(start, start + len(ranks)))
        scores = [h["score"] for h in obj["hits"]]
        assert scores == sorted(scores, reverse=True)
        if params.get("source"):
            assert {h["source"] for h in obj["hits"]} <= set(params["source"])
        if params.get("explain"):
            assert obj["explain"]["mode"] == "hybrid"
    assert compared >= 30  # the queries found something to compare


def test_api_facets_equal_the_cli_and_a_count_by_hand(sample_index, served, cli):
    srv = served(sample_index)
    result = cli("facets", "Kinzhal", "--by", "source,place", "--index", sample_index, "--json")
    assert result.exit_code == 0, result.stderr
    expected = json.loads(result.stdout)
    status, body = get_json(f"{srv.url}/api/facets?{qs(q='Kinzhal', by='source,place')}")
    assert status == 200, body
    assert body["facets"] == expected["facets"] and body["matches"] == expected["matches"] > 0
    # by hand: the source counts of the facet equal the sources of every keyword hit, counted here
    status, obj = get_json(f"{srv.url}/api/search?{qs(q='Kinzhal', mode='keyword', k=100)}")
    counted: dict[str, int] = {}
    for hit in obj["hits"]:
        counted[hit["source"]] = counted.get(hit["source"], 0) + 1
    assert {r["value"]: r["count"] for r in body["facets"]["source"]} == counted
    assert sum(counted.values()) == body["matches"]


def test_keyword_hits_contain_the_word_by_hand(sample_index, served):
    """A hand check beside the CLI comparison: every keyword hit for one word holds it, highlighted."""
    srv = served(sample_index)
    status, obj = get_json(f"{srv.url}/api/search?{qs(q='hypersonic', mode='keyword', k=50)}")
    assert status == 200 and obj["hits"]
    for h in obj["hits"]:
        words = [h["text"][a:b].lower() for a, b in h["highlights"]]
        assert "hypersonic" in h["text"].lower() or "hypersonic" in h["title"].lower()
        assert all(w.startswith("hypersonic") for w in words)


def test_api_export_holds_the_rows_of_claims_export(sample_index, served, cli, tmp_path):
    srv = served(sample_index)
    out = tmp_path / "x.jsonl"
    result = cli("export", "hypersonic missiles", "-o", out, "--index", sample_index, "--quiet")
    assert result.exit_code == 0, result.stderr
    expected = [json.loads(line) for line in out.read_text().splitlines()[1:]]  # line 1: the manifest
    status, headers, body = get(f"{srv.url}/api/export?{qs(q='hypersonic missiles')}")
    assert status == 200 and headers["content-type"].startswith("application/x-ndjson")
    assert [json.loads(line) for line in body.decode().splitlines()] == expected
    status, headers, body = get(f"{srv.url}/api/export?{qs(q='hypersonic missiles', format='csv')}")
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert [int(r["passage_id"]) for r in rows] == [r["passage_id"] for r in expected]
    assert "attachment" in headers["content-disposition"]
    status, _, body = get(f"{srv.url}/api/export?{qs(q='hypersonic missiles', format='parquet')}")
    import pyarrow.parquet as pq

    (tmp_path / "x.parquet").write_bytes(body)
    table = pq.read_table(tmp_path / "x.parquet")
    assert table.column("passage_id").to_pylist() == [r["passage_id"] for r in expected]


def test_api_export_streams_chunk_by_chunk_in_rank_order(sample_index, served, cli, tmp_path, monkeypatch):
    """Over many chunks (``CHUNK`` 7 here) the streamed rows are the CLI's export rows, ranks 1..n with
    no gap or repeat at the chunk edges, each leg's rank and score kept (the compact ``Ranking``)."""
    import search.export

    monkeypatch.setattr(search.export, "CHUNK", 7)
    srv = served(sample_index)
    out = tmp_path / "all.jsonl"
    result = cli("export", "Russia", "--limit", "0", "-o", out, "--index", sample_index, "--quiet")
    assert result.exit_code == 0, result.stderr
    expected = [json.loads(line) for line in out.read_text().splitlines()[1:]]
    status, _, body = get(f"{srv.url}/api/export?{qs(q='Russia', limit=0)}")
    rows = [json.loads(line) for line in body.decode().splitlines()]
    assert status == 200 and len(rows) > 3 * 7 and rows == expected
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    assert all(r["ranks"].keys() == r["scores"].keys() and r["ranks"] for r in rows)


def test_passage_similar_and_stats(sample_index, served, cli):
    srv = served(sample_index)
    status, obj = get_json(f"{srv.url}/api/search?{qs(q='hypersonic', mode='keyword', k=1)}")
    pid = obj["hits"][0]["passage_id"]
    status, row = get_json(f"{srv.url}/api/passages/{pid}")
    shown = cli("show", pid, "--index", sample_index, "--json")
    assert status == 200 and row.pop("generation") == obj["generation"]
    assert row == json.loads(shown.stdout)
    status, sim = get_json(f"{srv.url}/api/similar?{qs(id=pid, k=5)}")
    cli_sim = cli("similar", "--id", pid, "--index", sample_index, "--json", "--limit", "5")
    assert status == 200 and sim["hits"] == [json.loads(x) for x in cli_sim.stdout.splitlines()]
    assert pid not in {h["passage_id"] for h in sim["hits"]}
    status, sim = get_json(
        f"{srv.url}/api/similar?{qs(text='jets with hypersonic missiles sent to the exclave')}"
    )
    assert status == 200 and sim["hits"]
    status, st = get_json(f"{srv.url}/api/stats")
    assert (
        status == 200
        and st["passages"] == json.loads(cli("stats", "--index", sample_index, "--json").stdout)["passages"]
    )


# -- errors ---------------------------------------------------------------------------------------------
def _is_error(status: int, body: dict, expected: int) -> None:
    assert status == expected, body
    assert body["status"] == expected and body["error"] and "\n" not in body["error"]
    assert "Traceback" not in json.dumps(body)


def test_every_error_is_json_with_its_status(sample_index, served, cli):
    srv = served(sample_index)
    bad_query = '"unclosed quote'
    status, body = get_json(f"{srv.url}/api/search?{qs(q=bad_query)}")
    _is_error(status, body, 400)
    cli_err = cli("search", bad_query, "--index", sample_index)
    assert cli_err.exit_code == 2
    # the CLI's line, naming the API's parameter where the CLI names its flag
    cli_line = " ".join(cli_err.stderr.split()).removeprefix("error: ")
    assert " ".join(body["error"].split()) == cli_line.replace("--literal", "literal=true")
    assert "literal=true" in body["hint"] and "literal=true" in body["error"] and "--" not in body["error"]
    for bad in ({"mode": "bogus"}, {"since": "notadate"}, {"weights": "1"}, {"where": "nokey"}):
        status, body = get_json(f"{srv.url}/api/search?{qs(q='Kinzhal', **bad)}")
        _is_error(status, body, 400)
    status, body = get_json(f"{srv.url}/api/search?{qs(q='Kinzhal', offset=95, k=10)}")
    _is_error(status, body, 400)  # a page past the depth, as the CLI refuses it
    assert "depth=100" in body["error"] and "--depth" not in body["error"]
    status, body = get_json(f"{srv.url}/api/search")
    _is_error(status, body, 400)
    status, body = get_json(f"{srv.url}/api/search?{qs(q='x', k='abc')}")
    _is_error(status, body, 422)
    status, body = get_json(f"{srv.url}/api/search?{qs(q='x', k=100000)}")
    _is_error(status, body, 422)
    status, body = get_json(f"{srv.url}/api/passages/987654321")
    _is_error(status, body, 404)
    status, body = get_json(f"{srv.url}/api/nothing-here")
    _is_error(status, body, 404)
    status, body = get_json(f"{srv.url}/api/facets?{qs(q='Kinzhal', by='speaker,colour')}")
    _is_error(status, body, 400)  # an unknown facet, as `claims facets --by` refuses it
    status, body = get_json(f"{srv.url}/api/ingest", method="POST", data=b'{"text": "x"}\n')
    _is_error(status, body, 403)
    status, body = get_json(f"{srv.url}/api/export?{qs(q='x', format='xlsx')}")
    _is_error(status, body, 400)


def test_missing_and_damaged_index_answer_503_naming_repair(sample_index, copy_index, served):
    index = copy_index(sample_index)
    srv = served(index)
    assert get(f"{srv.url}/api/search?q=Kinzhal&mode=keyword")[0] == 200
    manifest = index / "manifest.json"
    saved = manifest.read_bytes()
    manifest.write_text("{not json")
    for path in ("/api/search?q=Kinzhal", "/api/stats", "/api/passages/1", "/api/export?q=Kinzhal"):
        status, body = get_json(srv.url + path)
        _is_error(status, body, 503)
        assert "claims repair" in body["error"] + body.get("hint", "")
    manifest.unlink()
    status, body = get_json(f"{srv.url}/api/search?q=Kinzhal")
    _is_error(status, body, 503)
    assert "claims repair" in body["hint"]
    manifest.write_bytes(saved)
    assert get(f"{srv.url}/api/search?q=Kinzhal&mode=keyword")[0] == 200
    never = served(index.parent / "no-such-index")
    status, body = get_json(f"{never.url}/api/search?q=Kinzhal")
    _is_error(status, body, 503)


def test_query_past_the_time_limit_answers_503(sample_index, served):
    srv = served(sample_index, time_limit=1e-6)
    status, body = get_json(f"{srv.url}/api/search?{qs(q='hyper*', mode='keyword')}")
    _is_error(status, body, 503)
    assert "longer than" in body["error"]


# -- an ingest during 50 concurrent requests --------------------------------------------------------
NEW_WORD = "Zubrowkagrad"  # in no sample or corpus


def _batch(path: Path, n: int = 6) -> Path:
    records = [
        {
            "id": f"serve-new-{i}",
            "title": f"Report {i} from {NEW_WORD}",
            "date": f"2023-05-{i + 1:02d}",
            "source": "ServeWire",
            "text": f"Officials in {NEW_WORD} said drones were shot down overnight, report {i}. "
            f"A second sentence about the air defence of {NEW_WORD} follows here.",
        }
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_ingest_during_concurrent_requests(sample_index, copy_index, served, tmp_path):
    from index.catalog_reader import CatalogReader
    from index.ingest import ingest
    from index.manifest import CATALOG, read_manifest

    index = copy_index(sample_index)
    old = read_manifest(index).generation
    srv = served(index, workers=4)
    batch = _batch(tmp_path / "batch.jsonl")
    done = threading.Event()

    def do_ingest():
        try:
            ingest(index, [batch])
        finally:
            done.set()

    urls = [
        f"{srv.url}/api/search?{qs(q=q, k=10, mode=m)}"
        for q, m in ((NEW_WORD, "keyword"), ("drones shot down", "hybrid"), ("Kinzhal", "keyword"))
    ]
    answers: list[tuple[int, dict]] = []
    writer = threading.Thread(target=do_ingest)
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        first = [pool.submit(get_json, urls[i % 3]) for i in range(8)]
        writer.start()
        futures = list(first)
        i = 8
        while not done.is_set() or i < 50:  # 50 requests at least, spanning the commit
            futures.append(pool.submit(get_json, urls[i % 3]))
            i += 1
            if len(futures) - sum(f.done() for f in futures) >= 8:
                concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_COMPLETED)
        writer.join()
        futures += [pool.submit(get_json, u) for u in urls]  # after the commit
        answers = [f.result() for f in futures]
    new = read_manifest(index).generation
    assert new > old
    assert len(answers) >= 53
    errors = [(s, b) for s, b in answers if s != 200]
    assert errors == []
    seen = {b["generation"] for _, b in answers}
    assert seen <= {old, new} and old in seen and new in seen
    readers = {g: CatalogReader(index / CATALOG, g) for g in (old, new)}
    try:
        for _, body in answers:  # each response is one generation's: every hit visible at it
            ids = [h["passage_id"] for h in body["hits"]]
            assert set(readers[body["generation"]].passages(ids)) == set(ids)
            if body["query"] == NEW_WORD:
                assert bool(body["hits"]) == (body["generation"] == new)
    finally:
        for r in readers.values():
            r.close()
    assert all(b["generation"] == new for _, b in answers[-3:])
    # the batch's near-duplicates collapse into one cluster on the similar page, first seen marked
    claim = f"Officials in {NEW_WORD} said drones were shot down overnight"
    status, sim = get_json(f"{srv.url}/api/similar?{qs(text=claim)}")
    top = sim["hits"][0]
    assert status == 200 and top["cluster"]["size"] >= 2
    first = min(m["date"] for m in top["cluster"]["members"])
    assert top["cluster"]["first_seen"] == first
    status, _, page = get(f"{srv.url}/similar?{qs(text=claim)}")
    html = page.decode()
    assert status == 200 and f"{top['cluster']['size']} similar claims · first seen {first}" in html
    assert html.count('class="first"') == 1 and f"first seen: {first}" in html


def test_old_generation_closes_when_its_last_request_ends(sample_index, copy_index, tmp_path):
    """A request leasing generation G keeps its Searcher open across a commit; new leases get G+1; G's
    Searcher closes when the last lease ends."""
    from index.ingest import ingest
    from search.serve.state import Generations

    index = copy_index(sample_index)
    gens = Generations(index)
    with gens.lease() as old:
        before = old.searcher.search("Kinzhal", _keyword())
        ingest(index, [_batch(tmp_path / "b.jsonl", 2)])
        with gens.lease() as new:
            assert new.number == old.number + 1 and new.searcher is not old.searcher
            assert new.searcher.search(NEW_WORD, _keyword()).hits
        again = old.searcher.search("Kinzhal", _keyword())  # still open, still generation G
        assert [h.passage_id for h in again.hits] == [h.passage_id for h in before.hits]
        assert not old.searcher.search(NEW_WORD, _keyword()).hits
    import sqlite3

    with pytest.raises(sqlite3.ProgrammingError):  # closed once its last lease ended
        old.searcher.catalog.db.execute("SELECT 1")
    with gens.lease() as cur:
        assert cur is new and cur.searcher.catalog.db.execute("SELECT 1").fetchone() == (1,)
    gens.close()


def test_a_generation_serves_with_a_pool_of_searchers(sample_index):
    """Requests that overlap get different Searchers of the same generation (never one Searcher in two
    threads), sharing one dense store and one query encoder; past ``size`` members a request waits for
    a free one; each member gives the same hits; all close with the generation."""
    from search.options import SearchOptions, validate
    from search.serve.state import Generation

    gen = Generation(sample_index, None, size=2)
    hybrid = validate(SearchOptions(mode="hybrid"))
    inside = threading.Barrier(3, timeout=60)  # two requests hold both members; a third arrives
    checked = threading.Barrier(2, timeout=60)
    third_in = threading.Event()
    held: list = []

    def hold():
        with gen.use() as s:
            held.append(s)
            inside.wait()
            ids = [h.passage_id for h in s.search("drones shot down", hybrid).hits]
            waited = not third_in.wait(0.5)  # the third request waits while both are held
            checked.wait()
            return ids, waited

    def third():
        inside.wait()
        with gen.use() as s:
            third_in.set()
            return s

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        a, b, c = pool.submit(hold), pool.submit(hold), pool.submit(third)
        (ids_a, waited_a), (ids_b, waited_b), got = a.result(60), b.result(60), c.result(60)
    assert waited_a and waited_b and third_in.is_set()
    assert held[0] is not held[1] and got in held and len(gen._all) == 2
    assert ids_a == ids_b and ids_a  # the same hits from both members
    assert held[0].dense is held[1].dense and held[0].embedder is held[1].embedder
    assert {s.manifest.generation for s in held} == {gen.number}
    gen.retired = True
    gen.close_if_done()
    import sqlite3

    for s in held:
        with pytest.raises(sqlite3.ProgrammingError):
            s.catalog.db.execute("SELECT 1")


def test_every_worker_searches_with_one_faiss_thread():
    """FAISS's thread count is per calling thread (OpenMP): each of the 4 workers runs with one, while a
    plain new thread still gets FAISS's default (every core: the spinning this avoids)."""
    import asyncio

    import faiss

    from search.serve.state import Runner

    faiss.omp_set_num_threads(1)  # in this thread only, as Searcher.dense does in the thread that loads
    runner = Runner(workers=4)
    barrier = threading.Barrier(4, timeout=30)  # four calls at once: four different workers

    def probe() -> int:
        barrier.wait()
        return faiss.omp_get_max_threads()

    async def four():
        return await asyncio.gather(*(runner.run(probe) for _ in range(4)))

    assert asyncio.run(four()) == [1, 1, 1, 1]
    runner.close()
    if (os.cpu_count() or 1) > 1 and not os.environ.get("OMP_NUM_THREADS"):
        seen: list[int] = []
        t = threading.Thread(target=lambda: seen.append(faiss.omp_get_max_threads()))
        t.start()
        t.join()
        assert seen[0] > 1


def _keyword():
    from search.options import SearchOptions, validate

    return validate(SearchOptions(mode="keyword"))


# -- escaping -----------------------------------------------------------------------------------------
def test_script_in_a_passage_shows_as_text(sample_index, copy_index, served, tmp_path):
    from index.ingest import ingest

    index = copy_index(sample_index)
    src = tmp_path / "evil.jsonl"
    evil = '<script>alert("owned")</script> Scriptoria officials <b>denied</b> the report.'
    src.write_text(json.dumps({"id": "evil-1", "title": "<img src=x onerror=alert(1)>", "text": evil}) + "\n")
    ingest(index, [src])
    srv = served(index)
    status, obj = get_json(f"{srv.url}/api/search?{qs(q='Scriptoria', mode='keyword')}")
    assert status == 200 and "<script>" in obj["hits"][0]["text"]  # JSON carries the text as it is
    pid = obj["hits"][0]["passage_id"]
    pages = [f"/?{qs(q='Scriptoria', mode='keyword')}", f"/passages/{pid}", f"/similar?{qs(id=pid)}"]
    for page in pages[:2]:
        status, headers, body = get(srv.url + page)
        html = body.decode()
        assert status == 200 and headers["content-type"].startswith("text/html")
        assert "<script>" not in html and "<img src=x" not in html and "<b>denied" not in html
        assert "&lt;script&gt;alert(" in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html


# -- binding and the token ------------------------------------------------------------------------------
def test_non_loopback_bind_without_token_refuses_to_start(sample_index, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CLAIMS_TOKEN"}
    claims = Path(sys.executable).with_name("claims")
    proc = subprocess.run(
        [str(claims), "serve", "--index", str(sample_index), "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--token" in lines[0] and "CLAIMS_TOKEN" in lines[0]
    assert proc.stdout == ""


def test_check_bind_rules():
    from search.serve import BindError, check_bind

    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        check_bind(host, None)
    check_bind("0.0.0.0", "s3cret")
    for host in ("0.0.0.0", "192.168.1.10", "::", "example.org"):
        with pytest.raises(BindError):
            check_bind(host, None)


def test_token_is_checked_on_every_request(sample_index, served):
    srv = served(sample_index, token="s3cret")
    for path in ("/api/stats", "/api/search?q=Kinzhal", "/openapi.json"):
        status, body = get_json(srv.url + path)
        _is_error(status, body, 401)
        status, body = get_json(srv.url + path, headers={"Authorization": "Bearer wrong"})
        _is_error(status, body, 401)
        assert get(srv.url + path, headers={"Authorization": "Bearer s3cret"})[0] == 200
    assert get(srv.url + "/?q=Kinzhal", headers={"Cookie": "claims_token=s3cret"})[0] == 200
    status, headers, body = get(srv.url + "/", method="GET")
    assert status == 200 and b'action="/login"' in body  # redirected to the login form
    status, headers, body = get(srv.url + "/login", method="POST", data=b"token=wrong")
    assert status == 401


def test_only_loopback_host_names_without_a_token(sample_index, served):
    srv = served(sample_index)
    for host in (f"127.0.0.1:{srv.port}", f"localhost:{srv.port}", "localhost"):
        assert get(srv.url + "/api/stats", headers={"Host": host})[0] == 200
    # every answer, errors and streams included, says nosniff and no-referrer
    for path in ("/api/stats", "/?q=Kinzhal", "/api/passages/999999", "/api/export?q=Kinzhal&limit=2"):
        status, headers, _ = get(srv.url + path)
        headers = {k.lower(): v for k, v in headers.items()}
        assert headers.get("x-content-type-options") == "nosniff", path
        assert headers.get("referrer-policy") == "no-referrer", path
    status, body = get_json(srv.url + "/api/stats", headers={"Host": f"evil.example:{srv.port}"})
    _is_error(status, body, 400)  # DNS rebinding: another name pointed at 127.0.0.1
    guarded = served(sample_index, token="s3cret")
    auth = {"Host": "claims.newsroom.example", "Authorization": "Bearer s3cret"}
    assert get(guarded.url + "/api/stats", headers=auth)[0] == 200


def test_docs_are_served_without_a_cdn(sample_index, served):
    srv = served(sample_index)
    status, headers, body = get(srv.url + "/docs")
    html = body.decode()
    assert status == 200 and "/api/search" in html and "/api/export" in html and "/openapi.json" in html
    assert "cdn" not in html.lower() and "<script" not in html.lower()
    assert "https://" not in html and "http://" not in html
    status, schema = get_json(srv.url + "/openapi.json")
    assert status == 200 and {"/api/search", "/api/similar", "/api/export", "/api/stats"} <= set(
        schema["paths"]
    )
    status, headers, css = get(srv.url + "/static/style.css")
    assert status == 200 and b"http" not in css


def test_pages_take_empty_form_fields_and_show_errors_in_the_page(sample_index, served):
    srv = served(sample_index)
    form = "/?q=hypersonic&mode=&since=&until=&source=&where="  # what the form sends when left empty
    status, headers, body = get(srv.url + form)
    assert status == 200 and body.count(b'class="hit"') >= 1
    status, headers, body = get(srv.url + "/?" + qs(q='"unclosed'))
    assert status == 400 and headers["content-type"].startswith("text/html")
    assert b"literal=true" in body and b'role="alert"' in body
    status, headers, body = get(srv.url + "/passages/987654321")
    assert status == 404 and b"no passage 987654321" in body


def test_ingest_endpoint_only_with_allow_ingest(sample_index, copy_index, served, monkeypatch):
    import search.serve.api as api
    from index.ingest import ingest

    index = copy_index(sample_index)
    srv = served(index, ingest=ingest)
    word = "Ingestopol"
    body = json.dumps(
        {"id": "posted-1", "title": "Posted", "text": f"Shelling was reported near {word} today."}
    )
    nd = {"Content-Type": "application/x-ndjson"}
    status, err = get_json(f"{srv.url}/api/ingest", method="POST", data=(body + "\n").encode())
    _is_error(status, err, 415)  # a form's or text type: a page on another site cannot post one
    status, report = get_json(f"{srv.url}/api/ingest", method="POST", data=(body + "\n").encode(), headers=nd)
    assert status == 200 and report["added"] == 1
    status, obj = get_json(f"{srv.url}/api/search?{qs(q=word, mode='keyword')}")
    assert status == 200 and [h["article_id"] for h in obj["hits"]] == ["posted-1"]
    status, err = get_json(f"{srv.url}/api/ingest", method="POST", data=b"  \n", headers=nd)
    _is_error(status, err, 400)
    monkeypatch.setattr(api, "INGEST_BYTES", 100)
    status, err = get_json(f"{srv.url}/api/ingest", method="POST", data=b"x" * 1000, headers=nd)
    _is_error(status, err, 413)


def test_serve_package_never_imports_a_writer():
    """``search/`` never imports a writer (tests/unit/test_layers.py walks ``search/*.py``; this, the
    ``search/serve`` package): ingest reaches the server as a callable from ``cli.py``."""
    import ast

    writers = (
        "index.writer",
        "index.ingest",
        "index.catalog",
        "index.vectors",
        "index.lexical",
        "index.repair",
    )
    found = []
    for path in sorted((ROOT / "search" / "serve").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            bad = [n for n in names if any(n == w or n.startswith(w + ".") for w in writers)]
            found += [f"{path.name}: {n}" for n in bad + [n for n in names if n.endswith("Writer")]]
    assert found == []


def test_the_server_loads_the_store_and_the_encoder_before_the_first_query(sample_index):
    """At startup a thread loads the dense store and the query encoder (a cold load on a busy machine
    outlasted the per-query time limit, so the first hybrid query got a 503); nothing was requested."""
    app = create_app(sample_index)
    with BackgroundServer(app) as running:
        service = app.state.service
        assert service.warmed.wait(180), "the warm-up did not finish"
        gen = service.generations._current
        assert gen is not None and gen.searcher._dense is not None
        assert gen.searcher._embedder is not None and gen.searcher._embedder._model is not None
        status, body = get_json(
            running.url + "/api/search?" + urlencode({"q": "drones shot down", "mode": "hybrid"})
        )
        assert status == 200 and body["hits"]


def test_the_warm_up_leaves_a_missing_index_to_the_requests(tmp_path):
    app = create_app(tmp_path / "none")
    with BackgroundServer(app) as running:
        assert app.state.service.warmed.wait(30)
        status, body = get_json(running.url + "/api/search?q=drones")
        assert status == 503 and "claims ingest" in body["error"]
