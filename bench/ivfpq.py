"""IVF-PQ against IVF-Flat and exact at 1M vectors: recall@10, latency, memory and build time, same run.

The plan for 100M passages (docs/scale.md) keeps each shard's vectors as IVF-PQ codes to fit memory;
this measures what that costs in recall before it is adopted. Vectors are ``bench/query_semantic.py``'s:
the real corpus passages embedded with the bundled model, then noisy re-normalised copies (sigma 0.02
per dimension) up to ``--size``; queries are 100 CheckThat-2A train tweets; truth is the exact top 10
(``IndexFlatIP``). Stores, all with the same ``nlist`` (the product's rule, ``index.vectors.ivf_lists``)
trained on the same sample:

* IVF-Flat (the product's store past ``ANN_THRESHOLD``);
* IVF-PQ, ``m`` sub-quantizers of 8 bits (``--m``), searched alone and with a refine step
  (``IndexRefineFlat``: the top ``k x`` each ``--k-factor`` by PQ, re-scored by exact inner product from the
  float vectors, which then stay in memory or on disk).

Per store and ``nprobe`` (``--nprobe``): recall@10, and recall counted in distinct real passages (a
noisy copy of the same real passage is a near-tie, not a miss, as in query_semantic.py), p50/p95 of one
query (one FAISS thread, warm, median of ``--passes``); per store: bytes of the serialised index and
build seconds (train + add). Ratios are against IVF-Flat at the same nprobe.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/ivfpq.py [--size 1000000] [--m 48,96] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    CHECKTHAT,
    DEFAULT_OUT,
    command_line,
    latencies_ms,
    log,
    md_table,
    pct,
    peak_rss_mb,
    read_articles,
    require_shared,
    save_json,
    split_all,
)
from query_semantic import DIM, embed_cached, recall_at, scaled_vectors  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for caches and results JSON")
    ap.add_argument("--size", type=int, default=1_000_000, help="vectors in the store")
    ap.add_argument("--m", default="48,96", help="PQ sub-quantizers to measure (8 bits each; divide 384)")
    ap.add_argument("--nprobe", default="64,128,256,512", help="nprobe values to sweep")
    ap.add_argument("--k-factor", default="4,16", help="refine: PQ candidates per result re-scored (a list)")
    ap.add_argument("--train", type=int, default=200_000, help="training sample (vectors)")
    ap.add_argument("--queries", type=int, default=100, help="CheckThat train tweets used as queries")
    ap.add_argument("--passes", type=int, default=3, help="timed passes per query (median taken)")
    args = ap.parse_args()
    require_shared(CHECKTHAT / "train.queries.tsv")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import faiss

    from index.embed import Embedder
    from index.vectors import ivf_lists

    out: Path = args.out
    groups = split_all(read_articles(None))
    texts = [p.text for _, ps in groups for p in ps]
    embedder = Embedder(None)
    base = embed_cached(out, "passages", texts, embedder, out / "ingest-index" / "catalog.sqlite")
    tweets = []
    with open(CHECKTHAT / "train.queries.tsv", encoding="utf-8") as f:
        for line in f:
            text = line.rstrip("\n").partition("\t")[2].strip()
            if text:
                tweets.append(text)
            if len(tweets) >= args.queries:
                break
    Q = np.ascontiguousarray(embed_cached(out, "tweets", tweets, embedder))
    n = args.size
    X = np.empty((n, DIM), dtype=np.float32)
    for ids, block in scaled_vectors(base, n, 0.02):
        X[ids[0] - 1 : ids[-1]] = block
    log(f"{n:,} vectors ({len(base):,} real)")
    nlist = ivf_lists(n)
    sample = X[np.random.default_rng(0).choice(n, min(args.train, n), replace=False)]

    faiss.omp_set_num_threads(1)
    flat = faiss.IndexFlatIP(DIM)
    flat.add(X)
    _, truth_ids = flat.search(Q, 10)
    truth = [list(r) for r in truth_ids]
    exact_ms = latencies_ms(lambda i, flat=flat: flat.search(Q[i : i + 1], 10), range(len(Q)), args.passes)
    del flat  # 1.5 GB at 1M: freed before the stores are built
    faiss.omp_set_num_threads(os.cpu_count() or 1)  # build on every core, as ingest does

    def build(kind: str, m: int = 0):
        t = time.perf_counter()
        quantizer = faiss.IndexFlatIP(DIM)
        if kind == "ivf":
            index = faiss.IndexIVFFlat(quantizer, DIM, nlist, faiss.METRIC_INNER_PRODUCT)
        else:
            index = faiss.IndexIVFPQ(quantizer, DIM, nlist, m, 8, faiss.METRIC_INNER_PRODUCT)
        index.train(sample)
        index.add(X)
        seconds = time.perf_counter() - t
        keep.append(quantizer)  # the IVF index does not own its quantizer: keep it alive
        return index, seconds, faiss.serialize_index(index).nbytes

    keep: list = []
    stores = [("IVF-Flat", *build("ivf"), None)]
    for m in [int(v) for v in args.m.split(",") if v]:
        pq, seconds, size = build("pq", m)
        stores.append((f"IVF-PQ m={m}", pq, seconds, size, None))
        for k_factor in [int(v) for v in args.k_factor.split(",") if v]:
            refine = faiss.IndexRefineFlat(pq, faiss.swig_ptr(X))
            refine.k_factor = k_factor
            stores.append((f"IVF-PQ m={m} + refine x{k_factor}", refine, seconds, size + X.nbytes, pq))
        log(f"IVF-PQ m={m}: built in {seconds:.0f} s")
    faiss.omp_set_num_threads(1)

    nb = len(base)
    rows, results, flat_p50 = [], [], {}
    for name, index, seconds, size, inner in stores:
        for nprobe in [int(v) for v in args.nprobe.split(",") if v]:
            faiss.extract_index_ivf(inner if inner is not None else index).nprobe = nprobe
            _, got_ids = index.search(Q, 10)
            got = [list(r) for r in got_ids]
            rec = recall_at(10, got, truth)
            rec_real = float(
                np.mean(
                    [
                        len({i % nb for i in g} & {i % nb for i in t}) / len({i % nb for i in t})
                        for g, t in zip(got, truth, strict=True)
                    ]
                )
            )
            ms = latencies_ms(
                lambda i, index=index: index.search(Q[i : i + 1], 10), range(len(Q)), args.passes
            )
            p50 = pct(ms, 50)
            if name == "IVF-Flat":
                flat_p50[nprobe] = p50
            ratio = p50 / flat_p50[nprobe]
            rows.append((name, nprobe, rec, rec_real, p50, pct(ms, 95), ratio, size / 2**20, seconds))
            results.append(
                {
                    "store": name,
                    "nprobe": nprobe,
                    "recall_at_10": rec,
                    "recall_real_at_10": rec_real,
                    "p50_ms": p50,
                    "p95_ms": pct(ms, 95),
                    "p50_vs_ivf_flat": ratio,
                    "index_mb": size / 2**20,
                    "build_s": seconds,
                }
            )
            log(f"{name} nprobe {nprobe}: recall {rec:.3f} ({rec_real:.3f} real), p50 {p50:.2f} ms")

    load = os.getloadavg()[0]
    print(f"### IVF-PQ vs IVF-Flat at {n:,} vectors (nlist {nlist:,}, k=10, one FAISS thread)\n")
    print(
        md_table(
            (
                "store",
                "nprobe",
                "recall@10",
                "recall@10 (real passages)",
                "p50 ms",
                "p95 ms",
                "p50 / IVF-Flat",
                "index MB",
                "build s",
            ),
            rows,
        )
    )
    print(
        f"\nexact (`IndexFlatIP`, one thread): p50 {pct(exact_ms, 50):.1f} ms. Training sample "
        f"{len(sample):,} vectors; refine keeps the float vectors ({X.nbytes / 2**20:,.0f} MB, counted in its "
        f"index MB). Load average (1 min) at the end: {load:.1f} on {os.cpu_count()} CPUs; peak RSS "
        f"{peak_rss_mb():,.0f} MB.\n\n`{command_line()}`"
    )
    save_json(
        out,
        f"ivfpq-{n}.json",
        {"size": n, "nlist": nlist, "exact_p50_ms": pct(exact_ms, 50), "rows": results},
    )


if __name__ == "__main__":
    main()
