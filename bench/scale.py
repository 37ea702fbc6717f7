"""Ingest on Ray (``claims ingest --ray``) with 1 and 2 embedding workers vs a local ingest, same run.

The input is the first ``--limit`` records of each shared corpus (written once to ``--out``). Each run
ingests it into a fresh index: first ``index.ingest.ingest`` (the local path; the model is loaded and
warmed before timing), then ``index.ray_ingest.ingest_ray`` on a local Ray cluster started once with
``--cpus`` CPUs (its start is not timed), with 1 and then 2 actors. A Ray run's time includes what a
``--ray`` ingest pays every time: the Ray Data pipeline's start and each actor's model load. The
ratios are local wall time / Ray wall time (above 1: Ray is faster). Every run must store the same
passages (checked).

    HF_HUB_OFFLINE=1 .venv/bin/python bench/scale.py [--limit N] [--cpus C] [--out DIR]

``--query-sizes 100000`` (and ``--no-ingest`` to skip the part above) times keyword queries on a
sharded index against one index over the same passages, in the same run: the shared corpora's
passages, beyond the real ones synthetic copies (``common.scaled_groups``), written once as one index
(``common.build_claims_keyword_index``, the keyword bench's folder) and once as ``--shards`` shards
routed by article id (``index.shards.route``), without vectors. Every query of ``common.KEYWORD_QUERIES``
(38: entities, designators, words, boolean, phrases, a wildcard, date and source filters) runs through
``Searcher.search`` (k=10, keyword mode), warm, median of ``--passes``; both must return the same
scores (checked). Per shard: each shard's own keyword leg (its part of the scatter: parsed query,
filter plan, BM25F top 100 with the global statistics) timed alone, beside the single index's leg.
With ``--ray-queries`` the same queries also run on the sharded index fanned out over one Ray actor per
shard (``search.shard_exec.open_ray`` on a local cluster of ``--cpus`` CPUs, started before timing), in
the same run, and must return the same scores as the in-process shards.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/scale.py --query-sizes 30000 --no-ingest --ray-queries
"""

from __future__ import annotations

import argparse
import gzip
import logging
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    CODE_VERSION,
    DEFAULT_OUT,
    command_line,
    copy_article,
    corpus_files,
    log,
    md_table,
    read_articles,
    require_shared,
    save_json,
    scaled_groups,
    split_all,
)


def subset(out: Path, limit: int) -> list[Path]:
    folder = out / f"scale-input-{limit}"
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for src in corpus_files():
        dst = folder / src.name
        with gzip.open(src, "rt", encoding="utf-8") as f:
            lines = [line for _, line in zip(range(limit), f, strict=False)]
        with gzip.open(dst, "wt", encoding="utf-8") as f:
            f.writelines(lines)
        files.append(dst)
    return files


def timed(label: str, fn) -> dict:
    load0 = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    report = fn()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    log(f"{label}: {report.passages} passages in {wall:.1f}s (load {load0:.1f})")
    return {
        "run": label,
        "passages": report.passages,
        "embedded": report.embedded,
        "wall_s": round(wall, 2),
        "driver_cpu_s": round(cpu, 2),
        "passages_per_s": round(report.passages / wall, 1),
        "load_1min_before": round(load0, 2),
    }


def build_shards(out: Path, n: int, groups, shards: int, chunk: int = 100_000) -> Path:
    """``n`` passages (``scaled_groups``) as a sharded keyword-only index of ``shards`` shards, each
    article routed by ``index.shards.route``; every shard commits each ``chunk`` passages of the whole,
    as ``common.build_claims_keyword_index`` commits the single index (so a shard has as many Whoosh
    segments as the single index, each a ``shards``-th the size); reused when complete with the same
    ``chunk``."""
    from index.catalog import CatalogWriter
    from index.embed import DEFAULT_MODEL
    from index.lexical import LexicalWriter, passage_doc
    from index.manifest import CATALOG, Manifest, write_manifest
    from index.shards import create, route
    from index.writer import now_iso

    folder = out / f"kw-{n}-shards{shards}"
    done = folder / "complete"
    if done.exists() and done.read_text() == f"chunk {chunk}":
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    dirs = dict(create(folder, shards).dirs(folder))
    cats, lexs = {}, {}
    for k, d in dirs.items():
        d.mkdir(parents=True)
        cats[k] = CatalogWriter(d / CATALOG, 0)
        cats[k].begin_batch(1, f"bench build of shard {k}")
        lexs[k] = LexicalWriter(d / "lexical", create=True)
    pending, pos, t0 = 0, 0, time.perf_counter()
    for a, copy, items in scaled_groups(groups, n):
        art = copy_article(a, copy)
        k = route(art.article_id, list(range(shards)))
        passages = [p for _, p in items]
        hashes = [str(pos + j) for j in range(len(items))]
        pids = cats[k].add_article(art, f"bench-{copy}", passages, [], hashes, 1)
        lexs[k].add(passage_doc(pid, 1, p, art) for pid, p in zip(pids, passages, strict=True))
        pos += len(items)
        pending += len(items)
        if pending >= chunk or pos >= n:
            for k in dirs:
                cats[k].commit()
                lexs[k].commit()
            log(f"kw-{n}-shards{shards}: {pos:,}/{n:,} passages ({time.perf_counter() - t0:.0f} s)")
            pending = 0
    for k, d in dirs.items():
        counts = cats[k].counts(1)
        cats[k].finish_batch(1, {"passages": counts.get("passages", 0)})
        cats[k].close()
        now = now_iso()
        write_manifest(
            d,
            Manifest(
                generation=1, model=DEFAULT_MODEL, dimension=384, counts=counts, created=now, updated=now
            ),
        )
    done.write_text(f"chunk {chunk}")
    return folder


def _segments(index_dir: Path) -> int:
    """Whoosh segments of the index at ``index_dir`` (the numpy path walks each one per query term)."""
    from whoosh.index import open_dir

    return len(open_dir(str(index_dir / "lexical"))._segments())


def query_latency(out: Path, n: int, groups, shards: int, passes: int, ray_cpus: int = 0) -> dict:
    """Keyword ``Searcher.search`` p50/p95 on one index and on ``shards`` shards of the same passages,
    and each shard's own keyword leg; the two rankings' scores must agree. ``ray_cpus``: also the
    sharded index fanned out over Ray actors (a local cluster of that many CPUs; 0: not run)."""
    from common import KEYWORD_QUERIES, build_claims_keyword_index, latencies_ms, summary

    from search.options import SearchOptions
    from search.query import analyze_query
    from search.searcher import Searcher

    single_dir, _ = build_claims_keyword_index(out, n, groups)
    sharded_dir = build_shards(out, n, groups, shards)
    row: dict = {
        "passages": n,
        "shards": shards,
        "queries": len(KEYWORD_QUERIES),
        "load_1min_before": os.getloadavg()[0],
    }
    with Searcher(single_dir) as one, Searcher(sharded_dir) as many:
        opts = [SearchOptions(mode="keyword", limit=10, filters=q.filters()) for q in KEYWORD_QUERIES]
        texts = [q.text for q in KEYWORD_QUERIES]
        same = 0
        for t, o in zip(texts, opts, strict=True):
            a = [h.score for h in one.search(t, o).hits]
            b = [h.score for h in many.search(t, o).hits]
            same += len(a) == len(b) and all(abs(x - y) <= 1e-6 for x, y in zip(a, b, strict=True))
        row["same_scores"] = same
        for label, se in (("single", one), ("sharded", many)):
            ms = latencies_ms(lambda i, se=se: se.search(texts[i], opts[i]), range(len(texts)), passes)
            row[label] = summary(ms)
        if ray_cpus:
            row |= _ray_fan_out(sharded_dir, many, texts, opts, passes, ray_cpus)
        per_shard = []
        from index.shards import read_shards

        folders = {"single": single_dir, **dict(read_shards(sharded_dir).dirs(sharded_dir))}
        for number, sh in [("single", one), *many.shards]:
            plans = [sh.filter_plan(o.filters) for o in opts]
            parsed = [analyze_query(t, sh.schema, False, sh.manifest.metadata_fields).scored for t in texts]

            def leg(i, sh=sh, plans=plans, parsed=parsed):
                return sh.keyword_run(parsed[i], 100, plans[i], "or")

            per_shard.append(
                {
                    "shard": number,
                    "passages": sh.manifest.counts.get("passages", 0),
                    "segments": _segments(folders[number]),
                    **summary(latencies_ms(leg, range(len(texts)), passes)),
                }
            )
        row["per_shard"] = per_shard
    row["ratio_p50"] = round(row["sharded"]["p50_ms"] / row["single"]["p50_ms"], 2)
    if ray_cpus:
        row["ray_ratio_p50"] = round(row["ray"]["p50_ms"] / row["single"]["p50_ms"], 2)
        row["ray_vs_sharded_p50"] = round(row["ray"]["p50_ms"] / row["sharded"]["p50_ms"], 2)
    row["bytes_single_mb"] = round(_mb(single_dir), 1)
    row["bytes_sharded_mb"] = round(_mb(sharded_dir), 1)
    return row


def _ray_fan_out(sharded_dir: Path, local, texts, opts, passes: int, cpus: int) -> dict:
    """The queries on ``sharded_dir`` with one Ray actor per shard; scores checked against ``local``."""
    import ray
    from common import latencies_ms, summary

    from search.shard_exec import open_ray

    ray.init(num_cpus=cpus, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    try:
        with open_ray(sharded_dir, address="local") as fanned:
            same = 0
            for t, o in zip(texts, opts, strict=True):
                a = [(h.passage_id, h.score) for h in local.search(t, o).hits]
                b = [(h.passage_id, h.score) for h in fanned.search(t, o).hits]
                same += [i for i, _ in a] == [i for i, _ in b] and all(
                    abs(x[1] - y[1]) <= 1e-6 for x, y in zip(a, b, strict=True)
                )
            ms = latencies_ms(lambda i: fanned.search(texts[i], opts[i]), range(len(texts)), passes)
            return {"ray": summary(ms), "ray_same_as_sharded": same, "ray_cpus": cpus}
    finally:
        ray.shutdown()


def _mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def print_queries(rows: list[dict]) -> None:
    print(
        md_table(
            [
                "passages",
                "shards",
                "single p50 / p95 ms",
                "sharded p50 / p95 ms",
                "sharded / single p50",
                "same scores",
                "load",
            ],
            [
                (
                    f"{r['passages']:,}",
                    r["shards"],
                    f"{r['single']['p50_ms']} / {r['single']['p95_ms']}",
                    f"{r['sharded']['p50_ms']} / {r['sharded']['p95_ms']}",
                    r["ratio_p50"],
                    f"{r['same_scores']} of {r['queries']}",
                    round(r["load_1min_before"], 1),
                )
                for r in rows
            ],
        )
    )
    fanned = [r for r in rows if "ray" in r]
    if fanned:
        print()
        print(
            md_table(
                [
                    "passages",
                    "shards",
                    "Ray fan-out p50 / p95 ms",
                    "Ray / single p50",
                    "Ray / in-process sharded p50",
                    "same ids and scores as in-process",
                    "Ray CPUs",
                ],
                [
                    (
                        f"{r['passages']:,}",
                        r["shards"],
                        f"{r['ray']['p50_ms']} / {r['ray']['p95_ms']}",
                        r["ray_ratio_p50"],
                        r["ray_vs_sharded_p50"],
                        f"{r['ray_same_as_sharded']} of {r['queries']}",
                        r["ray_cpus"],
                    )
                    for r in fanned
                ],
            )
        )
    print()
    print(
        md_table(
            [
                "passages",
                "shard",
                "shard passages",
                "Whoosh segments",
                "its keyword leg alone p50 / p95 ms (depth 100)",
            ],
            [
                (
                    f"{r['passages']:,}",
                    s["shard"],
                    f"{s['passages']:,}",
                    s.get("segments", "-"),
                    f"{s['p50_ms']} / {s['p95_ms']}",
                )
                for r in rows
                for s in r["per_shard"]
            ],
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the input, indexes and JSON")
    ap.add_argument("--limit", type=int, default=100, help="records per corpus file")
    ap.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray cluster")
    ap.add_argument("--query-sizes", default="", help="passage counts for sharded vs single query latency")
    ap.add_argument("--shards", type=int, default=3, help="shards of the sharded index (query latency)")
    ap.add_argument("--passes", type=int, default=3, help="timed passes per query (median taken)")
    ap.add_argument("--no-ingest", action="store_true", help="skip the Ray ingest part")
    ap.add_argument(
        "--ray-queries", action="store_true", help="also time the sharded queries fanned out over Ray actors"
    )
    args = ap.parse_args()
    require_shared()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.query_sizes:
        groups = split_all(read_articles())
        rows = [
            query_latency(
                args.out, int(n), groups, args.shards, args.passes, args.cpus if args.ray_queries else 0
            )
            for n in args.query_sizes.split(",")
        ]
        print(f"`{command_line()}` (code {CODE_VERSION})\n")
        print_queries(rows)
        save_json(args.out, "scale-queries.json", {"command": command_line(), "rows": rows})
    if args.no_ingest:
        return
    import ray

    from index.embed import Embedder
    from index.ingest import ingest
    from index.ray_ingest import ingest_ray

    files = subset(args.out, args.limit)
    Embedder().encode(["warm up the model once before timing"])

    def fresh(name: str) -> Path:
        path = args.out / f"scale-{name}"
        shutil.rmtree(path, ignore_errors=True)
        return path

    rows = [timed("local", lambda: ingest(fresh("local"), files))]
    ray.init(num_cpus=args.cpus, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    try:
        for workers in (1, 2):
            rows.append(
                timed(
                    f"ray, {workers} worker{'s' * (workers > 1)}",
                    lambda w=workers: ingest_ray(fresh(f"ray{w}"), files, address="local", workers=w),
                )
            )
    finally:
        ray.shutdown()
    assert len({r["passages"] for r in rows}) == 1, "the runs stored different passages"
    base = rows[0]["wall_s"]
    for r in rows:
        r["speedup_vs_local"] = round(base / r["wall_s"], 2)
    print(f"`{command_line()}` (code {CODE_VERSION}, {len(files)} files, {rows[0]['passages']} passages)\n")
    print(
        md_table(
            ["run", "passages/s", "wall s", "x local", "load before"],
            [
                (r["run"], r["passages_per_s"], r["wall_s"], r["speedup_vs_local"], r["load_1min_before"])
                for r in rows
            ],
        )
    )
    save_json(args.out, "scale.json", {"command": command_line(), "rows": rows, "limit": args.limit})


if __name__ == "__main__":
    main()
