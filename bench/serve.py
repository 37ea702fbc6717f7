"""``claims serve`` throughput and latency against the library, in the same run.

Over an existing index (``--index``; e.g. one built by ``bench/query_semantic.py`` at 100k passages),
for keyword and hybrid mode, the benchmark's keyword queries (``common.KEYWORD_QUERIES``, k=10):

* library: ``Searcher.search`` in this process, one client (the baseline);
* HTTP: the real server (uvicorn in a thread, ``search.serve.background``) on a free loopback port,
  ``GET /api/search`` from 1, 4 and 16 concurrent clients (threads with keep-alive connections).

Each run is bounded: ``--requests`` requests per cell or ``--seconds`` seconds, whichever comes first,
after one untimed pass (which also fills ``encode_query``'s cache, as the semantic bench does).
Prints queries/s and p50/p99 latency per cell and the ratio of HTTP p50 to library p50.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/serve.py --index /path/to/index [--requests 400 --seconds 30]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    CODE_VERSION,
    DEFAULT_OUT,
    KEYWORD_QUERIES,
    command_line,
    log,
    md_table,
    pct,
    save_json,
)


def _url(q, mode: str) -> str:
    params = [("q", q.text), ("mode", mode), ("k", "10")]
    params += [(k, v) for k, v in (("since", q.since), ("until", q.until)) if v]
    params += [("source", s) for s in q.sources]
    return "/api/search?" + urlencode(params)


def library(index: Path, mode: str, requests: int, seconds: float) -> list[float]:
    from search.options import SearchOptions, validate
    from search.searcher import Searcher

    with Searcher(index) as s:
        opts = [validate(SearchOptions(mode=mode, limit=10, filters=q.filters())) for q in KEYWORD_QUERIES]
        for q, o in zip(KEYWORD_QUERIES, opts, strict=True):  # warm
            s.search(q.text, o)
        times: list[float] = []
        end = time.monotonic() + seconds
        i = 0
        while len(times) < requests and time.monotonic() < end:
            q, o = KEYWORD_QUERIES[i % len(KEYWORD_QUERIES)], opts[i % len(opts)]
            t = time.perf_counter()
            s.search(q.text, o)
            times.append((time.perf_counter() - t) * 1000)
            i += 1
    return times


def http_clients(
    port: int, mode: str, clients: int, requests: int, seconds: float
) -> tuple[list[float], float]:
    urls = [_url(q, mode) for q in KEYWORD_QUERIES]
    lock = threading.Lock()
    sent = [0]
    end = time.monotonic() + seconds
    local = threading.local()

    def one() -> float | None:
        with lock:
            if sent[0] >= requests or time.monotonic() >= end:
                return None
            i = sent[0]
            sent[0] += 1
        conn = getattr(local, "conn", None) or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        local.conn = conn
        t = time.perf_counter()
        conn.request("GET", urls[i % len(urls)])
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            raise RuntimeError(f"{urls[i % len(urls)]}: HTTP {r.status}")
        return (time.perf_counter() - t) * 1000

    def worker() -> list[float]:
        out = []
        while (ms := one()) is not None:
            out.append(ms)
        return out

    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(lambda _: worker(), range(clients)))
    wall = time.perf_counter() - t0
    return [x for r in results for x in r], wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--requests", type=int, default=400, help="requests per cell (at most)")
    ap.add_argument("--seconds", type=float, default=30.0, help="seconds per cell (at most)")
    ap.add_argument("--clients", default="1,4,16")
    ap.add_argument("--modes", default="keyword,hybrid")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()

    from index.manifest import read_manifest
    from search.serve import create_app
    from search.serve.background import BackgroundServer

    passages = read_manifest(args.index).counts.get("passages")
    rows, figures = [], []
    for mode in args.modes.split(","):
        t0 = time.perf_counter()
        lib = library(args.index, mode, args.requests, args.seconds)
        lib_wall = time.perf_counter() - t0
        lib_p50 = pct(lib, 50)
        rows.append([mode, "library", 1, len(lib), len(lib) / sum(lib) * 1000, lib_p50, pct(lib, 99), 1.0])
        log(f"{mode} library: {len(lib)} queries, p50 {lib_p50:.1f} ms ({lib_wall:.1f}s)")
        with BackgroundServer(create_app(args.index)) as srv:
            http_clients(srv.port, mode, 1, len(KEYWORD_QUERIES), args.seconds)  # warm
            for clients in (int(c) for c in args.clients.split(",")):
                ms, wall = http_clients(srv.port, mode, clients, args.requests, args.seconds)
                p50 = pct(ms, 50)
                rows.append([mode, "HTTP", clients, len(ms), len(ms) / wall, p50, pct(ms, 99), p50 / lib_p50])
                log(f"{mode} HTTP x{clients}: {len(ms) / wall:.1f} q/s, p50 {p50:.1f} ms")
        figures.append({"mode": mode, "library_ms": lib})
    headers = ["mode", "through", "clients", "queries", "queries/s", "p50 ms", "p99 ms", "p50 / library p50"]
    print(f"`{command_line()}` ({passages:,} passages; code {CODE_VERSION})\n")
    print(md_table(headers, rows))
    save_json(
        args.out, "serve.json", {"passages": passages, "rows": rows, "headers": headers, "figures": figures}
    )


if __name__ == "__main__":
    main()
