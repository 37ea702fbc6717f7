"""Keyword query latency at 10k / 100k / 1M passages: our Whoosh path vs bare Whoosh vs bm25s, same run.

Passages: the shared corpora split by ``index.passages.split_article`` (the real passages); beyond
them, synthetic copies with a few adjacent words swapped (fixed seed). Each size is built three ways
(all reused from ``--out`` when present; builds are resumable):

* ours: a real claims index folder (``CatalogWriter`` + ``LexicalWriter``/``passage_doc``, our
  analyzer and schema, a manifest; no vectors), so ``Searcher`` and the CLI run on it;
* bare Whoosh: ``Schema(id=ID(stored=True), text=TEXT())`` (StandardAnalyzer), same texts;
* bm25s: ``bm25s.BM25()`` over ``bm25s.tokenize(texts, stopwords="en")``.

Timed per query (warm: one untimed pass, then the median of ``--passes`` passes per query; p50/p95
over the queries), with ratios against bare Whoosh measured in the same run:

* ours, ``parse_query`` (+ ``conjunctive_query``) + ``Searcher.keyword_run`` top-10, with the product's
  ``operator="auto"`` (AND first, OR when AND finds fewer than ``depth``) and with ``"or"``; and at
  depth 100 (the default ``--depth``, what ``Searcher.search`` fetches);
* the cost of opening and closing a Whoosh searcher (``Searcher`` holds one for its lifetime);
* ours, ``Searcher.search(mode="keyword", limit=10)``: the whole library path (parse, keyword leg at
  depth 100, catalog lookup, highlighting);
* the catalog lookup of the 10 and 100 hits alone;
* bare Whoosh: ``QueryParser("text", schema, group=OrGroup)`` + ``search(limit=10)`` (filters ignored);
* bm25s: ``tokenize`` + ``retrieve(k=10)`` (boolean operators, phrases and filters ignored).

    .venv/bin/python bench/query_keyword.py --sizes 10000,100000,1000000 [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    CODE_VERSION,
    DEFAULT_OUT,
    KEYWORD_QUERIES,
    REPO,
    SYNTHETIC_NOTE,
    base_fingerprint,
    build_bare_whoosh_index,
    build_claims_keyword_index,
    build_cpu,
    command_line,
    latencies_ms,
    log,
    md_table,
    passage_texts,
    pct,
    peak_rss_mb,
    read_articles,
    require_shared,
    save_json,
    split_all,
    summary,
)


def dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 2**20


def build_bm25s(out: Path, n: int, groups):
    import json

    import bm25s

    folder = out / f"bm25s-{n}"
    marker = folder / "bench.json"
    fp = base_fingerprint(groups)
    if marker.exists():
        meta = json.loads(marker.read_text())
        if meta.get("fingerprint") == fp:
            t = time.perf_counter()
            retriever = bm25s.BM25.load(str(folder), show_progress=False)
            log(f"bm25s-{n}: loaded in {time.perf_counter() - t:.1f} s")
            return retriever, meta["seconds"], meta.get("cpu")
    shutil.rmtree(folder, ignore_errors=True)
    t, c = time.perf_counter(), time.process_time()
    texts = passage_texts(groups, n)
    tokens = bm25s.tokenize(texts, stopwords="en", show_progress=False)
    del texts
    retriever = bm25s.BM25()
    retriever.index(tokens, show_progress=False)
    seconds, cpu = time.perf_counter() - t, time.process_time() - c
    retriever.save(str(folder), show_progress=False)
    marker.write_text(json.dumps({"fingerprint": fp, "n": n, "seconds": seconds, "cpu": cpu}))
    log(f"bm25s-{n}: built in {seconds:.0f} s")
    return retriever, seconds, cpu


def cold_cli(folder: Path, queries: list[str], runs: int) -> dict[str, float]:
    """Median wall time of ``claims search --mode keyword`` (a fresh process each) vs bare ``python -c pass``."""
    claims = Path(sys.executable).parent / "claims"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}

    def wall(cmd: list[str]) -> float:
        t = time.perf_counter()
        subprocess.run(
            cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO
        )
        return time.perf_counter() - t

    py, cli = [], []
    for _ in range(runs):
        for q in queries:
            py.append(wall([sys.executable, "-c", "pass"]))
            cli.append(wall([str(claims), "search", "--mode", "keyword", q, "--index", str(folder)]))
    return {"python_startup_s": pct(py, 50), "cli_s": pct(cli, 50), "runs": len(cli)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the indexes and results JSON")
    ap.add_argument("--sizes", default="10000,100000", help="comma-separated passage counts")
    ap.add_argument("--limit", type=int, default=None, help="records per corpus file (quick run)")
    ap.add_argument("--passes", type=int, default=3, help="timed passes per query (median taken)")
    ap.add_argument("--procs", type=int, default=1, help="Whoosh writer processes for our index build")
    ap.add_argument("--chunk", type=int, default=100_000, help="passages per build checkpoint")
    ap.add_argument("--no-bm25s", action="store_true")
    ap.add_argument("--no-cli", action="store_true", help="skip the cold CLI timing")
    args = ap.parse_args()
    require_shared()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    from whoosh import index as whoosh_index
    from whoosh.qparser import OrGroup, QueryParser

    from search.query import conjunctive_query, parse_query
    from search.searcher import Searcher, SearchOptions

    t = time.perf_counter()
    groups = split_all(read_articles(args.limit))
    nb = sum(len(p) for _, p in groups)
    log(f"{nb:,} real passages from {len(groups):,} articles ({time.perf_counter() - t:.1f} s)")
    queries = KEYWORD_QUERIES
    results: dict[str, dict] = {}
    lat_rows, build_rows, kind_rows = [], [], []

    for n in sizes:
        log(f"== {n:,} passages")
        folder, ours_s = build_claims_keyword_index(out, n, groups, chunk=args.chunk, procs=args.procs)
        bare_dir, bare_s = build_bare_whoosh_index(out, n, groups, chunk=args.chunk)
        retriever, bm_s, bm_cpu = (None, None, None) if args.no_bm25s else build_bm25s(out, n, groups)
        ours_cpu, bare_cpu = build_cpu(folder / "build.json"), build_cpu(out / f"whoosh-bare-{n}.json")
        build_rows.append(
            tuple(
                "-" if v is None else v
                for v in (
                    f"{n:,}",
                    ours_s,
                    ours_cpu,
                    dir_mb(folder),
                    bare_s,
                    bare_cpu,
                    dir_mb(bare_dir),
                    bm_s,
                    bm_cpu,
                )
            )
        )
        res: dict[str, list[float]] = {}
        hits_ours: dict[str, list[int]] = {}

        # -- ours, through Searcher (one held Whoosh searcher, as the product keeps it) ----------------
        with Searcher(folder) as se:
            schema = se.ix.schema
            meta = getattr(se.manifest, "metadata_fields", ())

            def open_close(_, se=se):
                with se.ix.searcher():
                    pass

            res["open + close a Whoosh searcher (once per `Searcher`)"] = latencies_ms(
                open_close, queries, args.passes
            )

            def run(q, depth, operator="auto", se=se, schema=schema, meta=meta):
                """What ``Searcher.search`` does for the keyword leg: parse (and the AND form), then run."""
                pq = parse_query(q.text, schema, False, meta)
                conj = conjunctive_query(q.text, schema, False, meta) if operator == "auto" else None
                return se.keyword_run(pq, depth, q.filters(), operator, conj)

            top10, search_key = (
                "ours: parse + `keyword_run` top-10",
                "ours: `Searcher.search(mode=keyword, limit=10)`",
            )
            res[top10] = latencies_ms(lambda q: run(q, 10), queries, args.passes)
            res["ours: parse + `keyword_run` top-10, `operator=or` (no AND first)"] = latencies_ms(
                lambda q: run(q, 10, "or"), queries, args.passes
            )
            res["ours: parse + `keyword_run` depth 100 (the default --depth)"] = latencies_ms(
                lambda q: run(q, 100), queries, args.passes
            )
            res[search_key] = latencies_ms(
                lambda q, se=se: se.search(
                    q.text, SearchOptions(mode="keyword", limit=10, filters=q.filters())
                ),
                queries,
                args.passes,
            )
            ids10 = {q.text: [i for i, _ in run(q, 10)] for q in queries}
            ids100 = {q.text: [i for i, _ in run(q, 100)] for q in queries}
            hits_ours = ids10
            empty = [q.text for q in queries if not ids10[q.text]]
            if empty:
                log(f"queries with no hits at {n:,}: {empty}")
            res["catalog lookup of the 10 hits"] = latencies_ms(
                lambda q, se=se, ids=ids10: se.catalog.passages(ids[q.text]), queries, args.passes
            )
            res["catalog lookup of 100 hits"] = latencies_ms(
                lambda q, se=se, ids=ids100: se.catalog.passages(ids[q.text]), queries, args.passes
            )
            for kind in dict.fromkeys(q.kind for q in queries):
                sel = [queries.index(q) for q in queries if q.kind == kind]
                ms_w = [res[top10][i] for i in sel]
                ms_s = [res[search_key][i] for i in sel]
                kind_rows.append(
                    (f"{n:,}", kind, len(sel), pct(ms_w, 50), max(ms_w), pct(ms_s, 50), max(ms_s))
                )

        # -- bare Whoosh -----------------------------------------------------------------------------
        bix = whoosh_index.open_dir(str(bare_dir), readonly=True)
        parser = QueryParser("text", bix.schema, group=OrGroup)
        with bix.searcher() as bs:
            base_key = "bare Whoosh: QueryParser(OrGroup) + search top-10"
            res[base_key] = latencies_ms(
                lambda q, bs=bs, parser=parser: bs.search(parser.parse(q.text), limit=10),
                queries,
                args.passes,
            )

        # -- bm25s ---------------------------------------------------------------------------------------
        if retriever is not None:
            import bm25s

            def bm(q, retriever=retriever, n=n):
                tok = bm25s.tokenize([q.text], stopwords="en", show_progress=False)
                if len(tok.ids[0]) == 0:
                    return None
                return retriever.retrieve(tok, k=min(10, n), show_progress=False)

            res["bm25s: tokenize + retrieve k=10"] = latencies_ms(bm, queries, args.passes)
            del retriever

        base50, base95 = pct(res[base_key], 50), pct(res[base_key], 95)
        for name, ms in res.items():
            lat_rows.append(
                (f"{n:,}", name, pct(ms, 50), pct(ms, 95), pct(ms, 50) / base50, pct(ms, 95) / base95)
            )
        results[str(n)] = {
            "build_s": {"ours": ours_s, "bare_whoosh": bare_s, "bm25s": bm_s},
            "build_cpu_s": {"ours": ours_cpu, "bare_whoosh": bare_cpu, "bm25s": bm_cpu},
            "disk_mb": {"ours": dir_mb(folder), "bare_whoosh": dir_mb(bare_dir)},
            "latency": {name: {**summary(ms), "per_query_ms": ms} for name, ms in res.items()},
            "hits_ours_top10": hits_ours,
        }
        if n == 100_000 and not args.no_cli:
            cli = cold_cli(folder, ["HIMARS", "chemical attack Douma", "NATO AND Crimea"], runs=3)
            results[str(n)]["cold_cli"] = cli
            log(f"cold CLI at 100k: {cli}")

    print(f"\n### Keyword query latency (warm, {len(queries)} queries, median of {args.passes} passes)\n")
    print(SYNTHETIC_NOTE.format(nb=nb))
    print(
        "Ratios are against bare Whoosh (StandardAnalyzer, naive OR parser, top-10) at the same size, "
        "same run. Filters (2 date-range and 2 source queries) apply to ours only.\n"
    )
    print(md_table(["passages", "method", "p50 ms", "p95 ms", "p50 / bare", "p95 / bare"], lat_rows))
    print("\nOur latency by query kind (ms):\n")
    print(
        md_table(
            [
                "passages",
                "kind",
                "queries",
                "keyword_run top-10 p50",
                "keyword_run top-10 max",
                "Searcher.search p50",
                "Searcher.search max",
            ],
            kind_rows,
        )
    )
    print(
        "\nBuild (wall and CPU seconds, summed over resumed runs; reused builds keep their first time; ours includes the catalog):\n"
    )
    print(
        md_table(
            [
                "passages",
                "ours s",
                "ours CPU s",
                "ours MB",
                "bare Whoosh s",
                "bare CPU s",
                "bare MB",
                "bm25s s",
                "bm25s CPU s",
            ],
            build_rows,
        )
    )
    for n, r in results.items():
        if "cold_cli" in r:
            c = r["cold_cli"]
            print(
                f"\nCold `claims search --mode keyword` on {int(n):,} passages: median {c['cli_s']:.2f} s "
                f"over {c['runs']} runs = {c['cli_s'] / c['python_startup_s']:.1f}x a bare "
                f"`python -c pass` ({c['python_startup_s']:.3f} s)."
            )
    big = str(max(sizes))
    ours = results[big]["latency"]["ours: `Searcher.search(mode=keyword, limit=10)`"]
    print(
        f"\nGoal at 1M (p50 <= 50 ms, p95 <= 200 ms): at {int(big):,}, Searcher.search p50 {ours['p50_ms']:.1f} ms, "
        f"p95 {ours['p95_ms']:.1f} ms. Peak RSS {peak_rss_mb():,.0f} MB."
    )
    print(f"\n`{command_line()}` (product sources {CODE_VERSION})")
    path = save_json(
        out,
        f"query_keyword-{args.sizes.replace(',', '_')}.json",
        {"sizes": sizes, "real_passages": nb, "results": results},
    )
    log(f"results: {path}")


if __name__ == "__main__":
    main()
