"""``claims serve`` throughput and latency against the library, in the same run.

Over an existing index (``--index``; e.g. one built by ``bench/query_semantic.py`` at 100k passages),
for keyword and hybrid mode, the benchmark's keyword queries (``common.KEYWORD_QUERIES``, k=10):

* library: ``Searcher.search`` in this process, one client (the baseline);
* HTTP: the real server, ``claims serve --quiet`` in its own process (as people run it; the clients'
  Python then does not share the server's interpreter lock) on a free loopback port, ``GET /api/search``
  from 1, 4 and 16 concurrent clients (threads with keep-alive connections) in this process;
  ``--in-process`` runs it in a thread of this process instead (``search.serve.background``);
  ``--searchers 1,2`` compares Searcher pools of those sizes, ``--compare-tree DIR`` adds a server run from
  the sources in DIR (e.g. ``git archive`` of an older commit), all in the same run.

Each run is bounded: ``--requests`` requests per cell or ``--seconds`` seconds, whichever comes first,
after one untimed pass (which also fills ``encode_query``'s cache, as the semantic bench does).
Prints queries/s and p50/p99 latency per cell, the ratio of HTTP p50 to library p50, the server's CPU
milliseconds per query (its process's user + system time over the cell; library: this process's) and the
1-minute load average at the end of the cell (other jobs share the machine).

    HF_HUB_OFFLINE=1 .venv/bin/python bench/serve.py --index /path/to/index [--requests 400 --seconds 30]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import http.client
import os
import socket
import subprocess
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


def library(index: Path, mode: str, requests: int, seconds: float) -> tuple[list[float], float]:
    """Per-query ms of ``Searcher.search`` in this process, and its CPU seconds over the timed loop."""
    from search.options import SearchOptions, validate
    from search.searcher import Searcher

    with Searcher(index) as s:
        opts = [validate(SearchOptions(mode=mode, limit=10, filters=q.filters())) for q in KEYWORD_QUERIES]
        for q, o in zip(KEYWORD_QUERIES, opts, strict=True):  # warm
            s.search(q.text, o)
        times: list[float] = []
        cpu = time.process_time()
        end = time.monotonic() + seconds
        i = 0
        while len(times) < requests and time.monotonic() < end:
            q, o = KEYWORD_QUERIES[i % len(KEYWORD_QUERIES)], opts[i % len(opts)]
            t = time.perf_counter()
            s.search(q.text, o)
            times.append((time.perf_counter() - t) * 1000)
            i += 1
        cpu = time.process_time() - cpu
    return times, cpu


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


def _get_ok(conn: http.client.HTTPConnection, url: str, end: float) -> None:
    """GET ``url`` until it answers 200, retrying 503 (the time limit) until ``end`` (monotonic)."""
    while True:
        conn.request("GET", url)
        r = conn.getresponse()
        r.read()
        if r.status == 200:
            return
        if r.status != 503 or time.monotonic() > end:
            raise RuntimeError(f"{url}: HTTP {r.status}")
        time.sleep(1)


def warm(port: int, mode: str, seconds: float = 300.0) -> None:
    """One untimed pass over the queries (fills the server's query-embedding cache). The first query
    of a mode loads what it needs (the model, FAISS) and may pass the server's time limit (503) on a
    busy machine: each query is retried until it answers 200, for at most ``seconds`` in all."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    end = time.monotonic() + seconds
    for q in KEYWORD_QUERIES:
        _get_ok(conn, _url(q, mode), end)
    conn.close()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# What ``claims serve --quiet`` runs, with ``search.serve.state.SEARCHERS`` (Searchers per generation) set.
SERVER = """import sys, uvicorn
import search.serve.state as state
state.SEARCHERS = int(sys.argv[3]) or getattr(state, "SEARCHERS", 1)
from search.serve import create_app
uvicorn.run(create_app(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
"""


@contextlib.contextmanager
def served(index: Path, in_process: bool, searchers: int | None = None, tree: Path | None = None):
    """(port, pid) of a running server over ``index``: ``claims serve`` in a child process (``searchers``:
    the same app and uvicorn call with that many Searchers per generation; ``tree``: the same, from the
    sources in that folder, e.g. an older commit's ``git archive``), or a thread."""
    if in_process:
        from search.serve import create_app
        from search.serve.background import BackgroundServer

        with BackgroundServer(create_app(index)) as srv:
            yield srv.port, os.getpid()
        return
    port = _free_port()
    claims = Path(sys.executable).parent / "claims"
    cmd = [str(claims), "serve", "--index", str(index), "--port", str(port), "--quiet"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if searchers or tree:
        cmd = [sys.executable, "-c", SERVER, str(index.resolve()), str(port), str(searchers or 0)]
    if tree:
        env["PYTHONPATH"] = str(Path(tree).resolve())
    proc = subprocess.Popen(cmd, env=env, cwd=tree)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/api/stats")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield port, proc.pid
    finally:
        proc.terminate()
        proc.wait(30)


def _rss_mb(pid: int) -> dict[str, float]:
    """``VmRSS`` and ``VmHWM`` (peak) of process ``pid`` in MB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024
    return out


def export_memory(
    index: Path, query: str, mode: str, limits: list[int], tree: Path | None = None
) -> list[list]:
    """Per ``limit``, on a fresh server: one search in ``mode`` (loads the model and stores), then
    ``GET /api/export?format=jsonl`` read in 64 KB pieces while the server's RSS is sampled every 20 ms.
    Rows: sources, limit, rows, MB sent, seconds, RSS before, peak sampled RSS, its growth, VmHWM."""
    rows = []
    for limit in limits:
        with served(index, False, tree=tree) as (port, pid):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            _get_ok(conn, "/api/search?" + urlencode({"q": query, "mode": mode}), time.monotonic() + 300)
            before = _rss_mb(pid)["VmRSS"]
            peak, stop = [before], threading.Event()

            def sample(peak=peak, stop=stop, pid=pid) -> None:
                while not stop.wait(0.02):
                    peak[0] = max(peak[0], _rss_mb(pid)["VmRSS"])

            sampler = threading.Thread(target=sample)
            sampler.start()
            t = time.perf_counter()
            params = {"q": query, "mode": mode, "limit": limit, "format": "jsonl"}
            conn.request("GET", "/api/export?" + urlencode(params))
            r = conn.getresponse()
            n = size = 0
            while piece := r.read(65536):
                n += piece.count(b"\n")
                size += len(piece)
            seconds = time.perf_counter() - t
            stop.set()
            sampler.join()
            if r.status != 200:
                raise RuntimeError(f"export: HTTP {r.status}")
            hwm = _rss_mb(pid)["VmHWM"]
            where = tree.name if tree else "these"
            rows.append([where, limit, n, size / 2**20, seconds, before, peak[0], peak[0] - before, hwm])
            log(f"export limit={limit}: {n:,} rows, peak RSS {peak[0]:.0f} MB (+{peak[0] - before:.0f})")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--requests", type=int, default=400, help="requests per cell (at most)")
    ap.add_argument("--seconds", type=float, default=30.0, help="seconds per cell (at most)")
    ap.add_argument("--clients", default="1,4,16")
    ap.add_argument("--modes", default="keyword,hybrid")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--in-process", action="store_true", help="run the server in a thread of this process")
    ap.add_argument(
        "--export",
        metavar="QUERY",
        help="also measure the server's memory over /api/export of QUERY at --export-limits rows",
    )
    ap.add_argument(
        "--searchers",
        default="",
        help="Searchers per generation to compare, e.g. 1,2 (default: the server's own, one per core)",
    )
    ap.add_argument(
        "--compare-tree",
        type=Path,
        help="also serve from the sources in this folder (e.g. `git archive` of an older commit), same run",
    )
    ap.add_argument("--export-mode", default="hybrid")
    ap.add_argument("--export-limits", default="1000,0", help="export row limits (0: every hit)")
    args = ap.parse_args()

    from index.manifest import read_manifest

    passages = read_manifest(args.index).counts.get("passages")
    rows, figures = [], []
    for mode in [m for m in args.modes.split(",") if m]:
        t0 = time.perf_counter()
        lib, lib_cpu = library(args.index, mode, args.requests, args.seconds)
        lib_wall = time.perf_counter() - t0
        lib_p50 = pct(lib, 50)
        load = os.getloadavg()[0]
        rows.append(
            [mode, "library", 1, len(lib), len(lib) / sum(lib) * 1000, lib_p50, pct(lib, 99), 1.0]
            + [lib_cpu / len(lib) * 1000, load]
        )
        log(f"{mode} library: {len(lib)} queries, p50 {lib_p50:.1f} ms ({lib_wall:.1f}s); load {load:.1f}")
        servers = [(int(x), None) for x in args.searchers.split(",") if x] or [(None, None)]
        if args.compare_tree:
            servers.insert(0, (None, args.compare_tree))
        for searchers, tree in servers:
            through = f"HTTP, {searchers} Searcher(s)" if searchers else "HTTP"
            through = f"HTTP, sources of {tree.name}" if tree else through
            with served(args.index, args.in_process, searchers, tree) as (port, pid):
                warm(port, mode)
                for clients in (int(c) for c in args.clients.split(",")):
                    cpu = _cpu_seconds(pid)
                    ms, wall = http_clients(port, mode, clients, args.requests, args.seconds)
                    cpu = _cpu_seconds(pid) - cpu
                    p50, load = pct(ms, 50), os.getloadavg()[0]
                    rows.append(
                        [mode, through, clients, len(ms), len(ms) / wall, p50, pct(ms, 99), p50 / lib_p50]
                        + [cpu / len(ms) * 1000, load]
                    )
                    log(
                        f"{mode} {through} x{clients}: {len(ms) / wall:.1f} q/s, p50 {p50:.1f} ms; load {load:.1f}"
                    )
        figures.append({"mode": mode, "library_ms": lib})
    headers = ["mode", "through", "clients", "queries", "queries/s", "p50 ms", "p99 ms", "p50 / library p50"]
    headers += ["CPU ms / query", "load (1 min)"]
    where = "a thread of the bench process" if args.in_process else "`claims serve`, its own process"
    print(f"`{command_line()}` ({passages:,} passages; server: {where}; code {CODE_VERSION})\n")
    if rows:
        print(md_table(headers, rows))
    exports = []
    if args.export:
        limits = [int(x) for x in args.export_limits.split(",")]
        exports = export_memory(args.index, args.export, args.export_mode, limits)
        if args.compare_tree:
            exports += export_memory(args.index, args.export, args.export_mode, limits, args.compare_tree)
        print(f"\nServer memory over `/api/export?q={args.export}&mode={args.export_mode}&format=jsonl`:\n")
        eh = [
            "sources",
            "limit",
            "rows",
            "MB sent",
            "seconds",
            "RSS before MB",
            "peak RSS MB",
            "growth MB",
            "VmHWM MB",
        ]
        print(md_table(eh, exports))
    save_json(
        args.out,
        "serve.json",
        {
            "passages": passages,
            "server": where,
            "rows": rows,
            "headers": headers,
            "figures": figures,
            "exports": exports,
            "load": os.getloadavg(),
        },
    )


if __name__ == "__main__":
    main()
