"""``claims tune`` costs, measured in one run: tuning time (legs, fine-tuning, re-embedding, ranker),
the re-embedding rate, and hybrid query latency with the adopted learned ranker vs the fixed fusion.

The index is copied first (``--work``), so the original is left as it was. Latency: ``Searcher.search``
(hybrid, k=10, the queries' date leg as ``claims tune`` used it) over the first ``--latency-queries``
judged queries, one untimed pass (it fills ``encode_query``'s cache, so the query embedding is not
timed), then per query the median of ``--passes`` passes, alternating the ranker on and off (the same
``Searcher``, its manifest's ranker cleared): only the fusion step differs.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/tune.py --index /tmp/tune/2b \
        --queries bench/out/checkthat-2b-dated/train.queries.tsv \
        --qrels ../shared/bench/checkthat-2b-debates/train.qrels [--no-model] [--epochs 1]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DEFAULT_OUT, command_line, log  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--queries", type=Path, required=True)
    ap.add_argument("--qrels", type=Path, required=True)
    ap.add_argument("--work", type=Path, default=DEFAULT_OUT / "tune-work")
    ap.add_argument("--holdout", type=float, default=0.2)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--learning-rate", type=float, default=2e-5)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--no-model", action="store_true")
    ap.add_argument("--latency-queries", type=int, default=100)
    ap.add_argument("--passes", type=int, default=5)
    args = ap.parse_args()

    import index.tuned as store
    from search.evaluate import read_queries, read_query_dates
    from search.options import SearchOptions
    from search.query import query_dates
    from search.searcher import Searcher
    from search.tune import TuneOptions, tune

    work = args.work / args.index.name
    shutil.rmtree(work, ignore_errors=True)
    work.parent.mkdir(parents=True, exist_ok=True)
    log(f"copying {args.index} -> {work}")
    shutil.copytree(args.index, work, ignore=shutil.ignore_patterns("write.lock"))
    t = TuneOptions(args.holdout, args.epochs, args.seed, not args.no_model, True, args.batch_size,
                    -1, args.learning_rate)  # fmt: skip
    opts = SearchOptions(limit=100, around="auto", clean=True)  # as `claims tune` and `claims eval` rank
    log("tuning")
    r = tune(work, args.queries, args.qrels, t, opts, store, command=command_line(), progress=log)

    queries = read_queries(args.queries)
    around = query_dates(queries, read_query_dates(args.queries), "auto")
    sample = sorted(queries)[: args.latency_queries]
    latency: dict[str, list[float]] = {"ranker": [], "fixed": []}
    with Searcher(work) as s:
        adopted = s.manifest.ranker
        for q in sample:  # warm: models, stores, query vectors
            s.search(queries[q], SearchOptions(limit=10, literal=True, clean=True, around=around.get(q)))
        for q in sample:
            got: dict[str, list[float]] = {"ranker": [], "fixed": []}
            for _ in range(args.passes):
                for name in ("ranker", "fixed"):
                    s.manifest.ranker = adopted if name == "ranker" else ""
                    t0 = time.perf_counter()
                    s.search(
                        queries[q], SearchOptions(limit=10, literal=True, clean=True, around=around.get(q))
                    )
                    got[name].append(time.perf_counter() - t0)
            for name, times in got.items():
                latency[name].append(statistics.median(times))

    print(f"# claims tune on {args.index.name}\n\n`{command_line()}`\n")
    print(f"{r.train_queries} train / {r.holdout_queries} holdout queries, {r.pairs} training pairs\n")
    print("| configuration | holdout MAP@5 | MRR | nDCG@10 |\n|---|---:|---:|---:|")
    for name, m in r.scores.items():
        print(f"| {name} | {m['MAP@5']:.4f} | {m['MRR']:.4f} | {m['nDCG@10']:.4f} |")
    print(f"\nadopted: model {r.adopted_model or 'none'}, ranker {r.adopted_ranker or 'none'}\n")
    sec = r.seconds
    texts = sec.get("reembed_texts", 0)
    print("| step | seconds |\n|---|---:|")
    for k in ("legs", "train", "reembed", "evaluate", "ranker", "total"):
        if k in sec:
            print(f"| {k} | {sec[k]:.1f} |")
    fill = sec.get("reembed", 0.0)
    print(f"\nre-embedding: {texts} vectors in {fill:.1f}s ({texts / fill if fill else 0:.0f} vectors/s), of which "
          f"{r.embedded} texts embedded (the rest from the cache)\n")  # fmt: skip
    if adopted:
        fixed, ranker = (statistics.median(latency[n]) * 1000 for n in ("fixed", "ranker"))
        print("| hybrid search, k=10 | median ms per query | ratio |\n|---|---:|---:|")
        print(
            f"| fixed fusion | {fixed:.2f} | 1.00 |\n| learned ranker | {ranker:.2f} | {ranker / fixed:.2f} |"
        )
    else:
        print("no ranker adopted: no latency comparison")


if __name__ == "__main__":
    main()
