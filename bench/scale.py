"""Ingest on Ray (``claims ingest --ray``) with 1 and 2 embedding workers vs a local ingest, same run.

The input is the first ``--limit`` records of each shared corpus (written once to ``--out``). Each run
ingests it into a fresh index: first ``index.ingest.ingest`` (the local path; the model is loaded and
warmed before timing), then ``index.ray_ingest.ingest_ray`` on a local Ray cluster started once with
``--cpus`` CPUs (its start is not timed), with 1 and then 2 actors. A Ray run's time includes what a
``--ray`` ingest pays every time: the Ray Data pipeline's start and each actor's model load. The
ratios are local wall time / Ray wall time (above 1: Ray is faster). Every run must store the same
passages (checked).

    HF_HUB_OFFLINE=1 .venv/bin/python bench/scale.py [--limit N] [--cpus C] [--out DIR]
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
from common import (
    CODE_VERSION,
    DEFAULT_OUT,
    command_line,
    corpus_files,
    log,
    md_table,
    require_shared,
    save_json,
)  # noqa: E402


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the input, indexes and JSON")
    ap.add_argument("--limit", type=int, default=100, help="records per corpus file")
    ap.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray cluster")
    args = ap.parse_args()
    require_shared()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
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
