"""Semantic and hybrid query latency at 10k / 100k / 1M vectors; IVF (or HNSW) recall against exact.

Vectors: the real corpus passages (the shared corpora split by ``index.passages.split_article``)
embedded once with the bundled model (cached as .npy in ``--out``, or taken from the embeddings cache
of ``bench/ingest.py``'s index when present); beyond them, synthetic copies: the real vectors plus
gaussian noise (sigma 0.02 per dimension, fixed seed), re-normalised. Passage id ``i`` (1-based) is
copy ``(i-1) // nb`` of real passage ``(i-1) % nb``, the same numbering as the keyword bench's
indexes, so the hybrid runs join both legs on the same ids. Queries: 100 CheckThat-2A train tweets.

Per size, warm (one untimed pass, then the median of ``--passes`` per query), k=10:

* exact: ``DenseIndex`` over ``IndexIDMap2(IndexFlatIP)`` (``VectorWriter`` as ingest builds it);
* approximate: ``VectorWriter.rebuild("ivf")`` (the product's; ``--ann hnsw`` for HNSW with M and
  efConstruction from ``HNSW_M`` / ``HNSW_EF_CONSTRUCTION`` here, ``build_hnsw``), searched through ``DenseIndex`` over a sweep of
  nprobe (IVF; ``--nprobe``) or efSearch (HNSW; ``--ef``) and ``DenseIndex``'s default:
  latency and recall@10 against exact on the same queries;
* bare FAISS: the inner ``IndexFlatIP`` / ``IndexIVFFlat`` / ``IndexHNSWFlat`` of the same stores;
* filtered: ``allowed`` = a random 10 % of the ids, through ``DenseIndex.search``; bare FAISS with a
  prebuilt ``IDSelectorBatch`` for comparison;
* hybrid: ``Searcher.search(mode="hybrid", limit=10)`` (keyword leg at depth 100 on the keyword bench's
  index of the same size, semantic leg at depth 100, snapshot check, fusion, catalog, highlighting)
  with the store under test; the untimed warm-up pass fills ``encode_query``'s cache, so the query
  embedding is excluded (and reported separately), as are the legs and ``fuse`` alone.

``--keep-vectors`` writes the product's store at each size (exact below ``ANN_THRESHOLD``, IVF beyond)
into the keyword index folder ``OUT/kw-N`` as its vectors file and records it in its manifest, so the
folder is a complete index (keyword and dense legs) for ``claims serve`` and ``bench/serve.py``.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/query_semantic.py --sizes 10000,100000,1000000 [--out DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    CHECKTHAT,
    CODE_VERSION,
    DEFAULT_OUT,
    KEYWORD_QUERIES,
    base_fingerprint,
    build_claims_keyword_index,
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
    summary,
)

DIM = 384


def embed_cached(
    out: Path, name: str, texts: list[str], embedder, from_catalog: Path | None = None
) -> np.ndarray:
    """Embeddings of ``texts``, cached in ``out/name-<hash>.npy``; reuses ingest's embedding cache if any."""
    key = hashlib.sha1("\x00".join(texts).encode("utf-8", "surrogatepass")).hexdigest()[:16]
    path = out / f"{name}-{key}.npy"
    if path.exists():
        return np.load(path)
    vecs = np.zeros((len(texts), DIM), dtype=np.float32)
    todo = list(range(len(texts)))
    if from_catalog is not None and from_catalog.exists():
        from index.catalog_reader import CatalogReader
        from index.embcache import open_cache
        from index.records import text_hash

        cat = CatalogReader(from_catalog, 0)
        hashes = [text_hash(t) for t in texts]
        with open_cache(from_catalog.parent, cat.db) as cache:  # the index's cache (format 1: the catalog's)
            got = cache.get(embedder.name, set(hashes))
        cat.close()
        for i, h in enumerate(hashes):
            if h in got:
                vecs[i] = np.frombuffer(got[h], dtype=np.float32)
        todo = [i for i, h in enumerate(hashes) if h not in got]
        log(f"{name}: {len(texts) - len(todo):,} vectors from {from_catalog}")
    t = time.perf_counter()
    for s in range(0, len(todo), 2048):
        part = todo[s : s + 2048]
        vecs[part] = embedder.encode([texts[i] for i in part])
        log(f"{name}: embedded {min(s + 2048, len(todo)):,}/{len(todo):,} ({time.perf_counter() - t:.0f} s)")
    out.mkdir(parents=True, exist_ok=True)
    np.save(path, vecs)
    return vecs


def scaled_vectors(base: np.ndarray, n: int, sigma: float):
    """Yield (ids, vectors) blocks of ``n`` vectors: the real ones, then noisy re-normalised copies."""
    nb = len(base)
    for start in range(0, n, nb):
        copy = start // nb
        block = base[: min(nb, n - start)]
        if copy:
            rng = np.random.default_rng(copy)
            block = block + rng.normal(0, sigma, block.shape).astype(np.float32)
            block /= np.linalg.norm(block, axis=1, keepdims=True)
        yield np.arange(start + 1, start + len(block) + 1, dtype=np.int64), np.ascontiguousarray(block)


# HNSW parameters of ``--ann hnsw`` (the product builds IVF past ``index.vectors.ANN_THRESHOLD``).
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80


def build_hnsw(store):
    """An HNSW copy (``IndexHNSWFlat``, M ``HNSW_M``, efConstruction ``HNSW_EF_CONSTRUCTION``) of a
    ``DenseIndex``'s live vectors, as a ``DenseIndex`` (searched with its ``ef_search``)."""
    import faiss

    from search.dense import DenseIndex

    ids = store.ids()
    d = store.index.d
    inner = faiss.IndexHNSWFlat(d, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    inner.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    index = faiss.IndexIDMap2(inner)
    if len(ids):
        index.add_with_ids(store.reconstruct(ids), ids)
    return DenseIndex(index)


def recall_at(k: int, got: list[list[int]], truth: list[list[int]]) -> float:
    return float(
        np.mean(
            [len(set(g[:k]) & set(t[:k])) / max(min(k, len(t)), 1) for g, t in zip(got, truth, strict=True)]
        )
    )


def bench_size(n, ctx) -> dict:
    """One size: exact, HNSW, bare FAISS, filtered and hybrid timings (rows appended to ``ctx``)."""
    args, out, base, groups, fp, efs = ctx.args, ctx.out, ctx.base, ctx.groups, ctx.fp, ctx.efs
    Q, kvecs, tweets, emb_kw, emb_tweets = (
        ctx.Q,
        ctx.kvecs,
        ctx.tweets,
        ctx.emb_kw,
        ctx.emb_tweets,
    )
    lat_rows, recall_rows, hybrid_rows, build_rows = (
        ctx.lat_rows,
        ctx.recall_rows,
        ctx.hybrid_rows,
        ctx.build_rows,
    )
    idx = list(range(len(Q)))
    import faiss

    from index.vectors import ANN_THRESHOLD, VectorWriter, ivf_lists
    from search.dense import EXACT_FILTER_LIMIT, DenseIndex
    from search.fusion import fuse
    from search.query import conjunctive_query, parse_query
    from search.searcher import Searcher, SearchOptions

    log(f"== {n:,} vectors")
    r: dict = {"latency": {}, "recall": {}}
    # -- exact ---------------------------------------------------------------------------------------
    t = time.perf_counter()
    vw = VectorWriter(DenseIndex.empty(DIM))
    for ids, block in scaled_vectors(base, n, args.sigma):
        vw.add(ids, block)
    flat = vw.store
    flat_s = time.perf_counter() - t
    # -- HNSW (cached) -------------------------------------------------------------------------------
    label = args.ann.upper()
    params = f"M{HNSW_M}-efc{HNSW_EF_CONSTRUCTION}" if args.ann == "hnsw" else f"nlist{ivf_lists(n)}"
    ann_path = out / f"{args.ann}-{n}-{fp}-s{args.sigma}-{params}.faiss"
    if ann_path.exists():
        ann = DenseIndex.load(ann_path)
        ann_s = float((out / (ann_path.name + ".seconds")).read_text())
        log(f"{label} {n:,}: reused {ann_path.name} (built in {ann_s:.0f} s)")
    else:
        log(f"{label} {n:,}: building ({params}) ...")
        ctx.set_threads(0)  # build with the library's default threads, as ingest does
        t = time.perf_counter()
        if args.ann == "hnsw":
            vw.store = build_hnsw(vw.store)
        else:
            vw.rebuild(args.ann)
        ann_s = time.perf_counter() - t
        ctx.set_threads(args.threads)
        ann = vw.store
        faiss.write_index(ann.index, str(ann_path))
        (out / (ann_path.name + ".seconds")).write_text(str(ann_s))
        log(f"{label} {n:,}: built in {ann_s:.0f} s")
    del vw
    build_rows.append((f"{n:,}", flat_s, ann_s, ann_s / flat_s))
    r["build_s"] = {"flat": flat_s, args.ann: ann_s}
    bare_flat = faiss.downcast_index(flat.index.index)
    bare_ann = faiss.downcast_index(ann.index.index)
    res: dict[str, list[float]] = {}

    # -- unfiltered ---------------------------------------------------------------------------------
    res["bare FAISS `IndexFlatIP.search`"] = latencies_ms(
        lambda i: bare_flat.search(Q[i][None], 10), idx, args.passes
    )
    res["exact: `DenseIndex.search` (flat)"] = latencies_ms(lambda i: flat.search(Q[i], 10), idx, args.passes)
    truth = [[i for i, _ in flat.search(q, 10)] for q in Q]
    # the knob swept: efSearch (HNSW) or nprobe (IVF); its default is whatever DenseIndex uses today
    default_ef = ann.ef_search if args.ann == "hnsw" else ann.nprobe
    knob = "efSearch" if args.ann == "hnsw" else "nprobe"
    efs = sorted(set(efs if args.ann == "hnsw" else ctx.nprobes) | {default_ef})

    def set_knob(v: int) -> None:
        if args.ann == "hnsw":
            ann.ef_search = v
            bare_ann.hnsw.efSearch = v
        else:
            ann.probe = v
            bare_ann.nprobe = v

    for ef in efs:
        set_knob(ef)
        got = [[i for i, _ in ann.search(q, 10)] for q in Q]
        ms = latencies_ms(lambda i: ann.search(Q[i], 10), idx, args.passes)
        ms_bare = latencies_ms(lambda i: bare_ann.search(Q[i][None], 10), idx, args.passes)
        rec = recall_at(10, got, truth)
        # The same overlap counted in distinct real passages: a miss that returned another noisy copy of
        # the same real passage is not a miss here (the synthetic copies are near-ties).
        nb = len(base)
        rec_real = float(
            np.mean(
                [
                    len({(i - 1) % nb for i in g} & {(i - 1) % nb for i in t})
                    / max(len({(i - 1) % nb for i in t}), 1)
                    for g, t in zip(got, truth, strict=True)
                ]
            )
        )
        r["recall"][ef] = rec
        r.setdefault("recall_real_passages", {})[ef] = rec_real
        recall_rows.append((f"{n:,}", ef, rec, rec_real, pct(ms, 50), pct(ms, 95), pct(ms_bare, 50)))
        if ef == default_ef:
            res[f"{label}: `DenseIndex.search` {knob} {ef} (its default)"] = ms
            res[f"bare FAISS `{type(bare_ann).__name__}.search` {knob} {ef}"] = ms_bare
    set_knob(default_ef)
    ann.probe = None

    # -- filtered: a random 10 % of the ids -------------------------------------------------------------
    rng = np.random.default_rng(7)
    allowed_arr = np.sort(rng.choice(np.arange(1, n + 1, dtype=np.int64), n // 10, replace=False))
    allowed = set(allowed_arr.tolist())
    res["exact filtered 10 %: `DenseIndex.search(allowed=)`"] = latencies_ms(
        lambda i: flat.search(Q[i], 10, allowed=allowed), idx, args.passes
    )
    res[f"{label} filtered 10 %: `DenseIndex.search(allowed=)`"] = latencies_ms(
        lambda i: ann.search(Q[i], 10, allowed=allowed), idx, args.passes
    )
    sel_params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed_arr - 1))  # inner ids are 0-based
    res["bare FAISS flat filtered (prebuilt IDSelectorBatch)"] = latencies_ms(
        lambda i: bare_flat.search(Q[i][None], 10, params=sel_params), idx, args.passes
    )
    ftruth = [[i for i, _ in flat.search(q, 10, allowed=allowed)] for q in Q]
    fgot = [[i for i, _ in ann.search(q, 10, allowed=allowed)] for q in Q]
    r["recall"]["filtered_hnsw_default_ef"] = recall_at(10, fgot, ftruth)
    filtered_path = "exact subset" if len(allowed) <= EXACT_FILTER_LIMIT else f"{label} + IDSelectorBatch"

    base_key = "bare FAISS `IndexFlatIP.search`"
    b50, b95 = pct(res[base_key], 50), pct(res[base_key], 95)
    for name, ms in res.items():
        lat_rows.append((f"{n:,}", name, pct(ms, 50), pct(ms, 95), pct(ms, 50) / b50, pct(ms, 95) / b95))
    r["latency"] = {name: summary(ms) for name, ms in res.items()}
    r["filtered_hnsw_path"] = filtered_path
    if ctx.thread_rows:  # the same searches with the library's default threads (first 20 queries)
        for threads in (0, args.threads):
            ctx.set_threads(threads)
            for what, fn in (
                ("exact `DenseIndex.search`", lambda i: flat.search(Q[i], 10)),
                (f"{label} `DenseIndex.search` {knob} {default_ef}", lambda i: ann.search(Q[i], 10)),
            ):
                ms = latencies_ms(fn, idx[:20], args.passes)
                ctx.thread_rows.append((f"{n:,}", what, threads or "default", pct(ms, 50), pct(ms, 95)))
        ctx.set_threads(args.threads)

    # -- hybrid ----------------------------------------------------------------------------------
    folder = out / f"kw-{n}"
    have_kw = (folder / "manifest.json").exists()
    if not args.no_hybrid and (have_kw or not args.no_build_keyword):
        if not have_kw:
            log(
                f"building the keyword index of {n:,} passages for the hybrid runs (reused by query_keyword.py)"
            )
        folder, _ = build_claims_keyword_index(out, n, groups)
        product_kind = args.ann if n >= ANN_THRESHOLD else "flat"
        with Searcher(folder) as se:
            schema = se.ix.schema
            meta = getattr(se.manifest, "metadata_fields", ())
            hy: dict[str, list[float]] = {}
            kq = range(len(KEYWORD_QUERIES))
            for kind, store in (("flat", flat), (args.ann, ann)):
                se._dense = store  # the store under test, in place of the (absent) vectors file

                # Searcher.search, the library path: the untimed warm-up pass fills encode_query's
                # cache, so the timed passes exclude the query embedding (reported separately).
                def hybrid(i, se=se):
                    q = KEYWORD_QUERIES[i]
                    return se.search(q.text, SearchOptions(mode="hybrid", limit=10, filters=q.filters()))

                mark = " (product's choice at this size)" if kind == product_kind else ""
                hy[f"hybrid `Searcher.search`, {kind} store{mark}"] = latencies_ms(hybrid, kq, args.passes)
                if args.hybrid_tweets:

                    def hybrid_tweet(i, se=se):
                        opts = SearchOptions(mode="hybrid", limit=10, literal=True, clean=True)
                        return se.search(tweets[i], opts)

                    hy[f"hybrid `Searcher.search`, {kind} store{mark}, tweets (--literal, cleaned)"] = (
                        latencies_ms(hybrid_tweet, range(min(args.hybrid_tweets, len(tweets))), 1)
                    )
            se._dense = flat if product_kind == "flat" else ann

            def kw_leg(i, se=se, schema=schema, meta=meta):
                q = KEYWORD_QUERIES[i]
                pq = parse_query(q.text, schema, False, meta)
                return se.keyword_run(
                    pq, 100, q.filters(), "auto", conjunctive_query(q.text, schema, False, meta)
                )

            def fuse_default(runs):
                o = SearchOptions()
                if o.fusion == "rrf":
                    return fuse(runs, method="rrf", k=o.rrf_k, weights=list(o.weights))
                return fuse(runs, method=o.fusion, weights=list(o.weights), norm=o.norm)

            runs = {i: [kw_leg(i), se.semantic_run(kvecs[i], 100, KEYWORD_QUERIES[i].filters())] for i in kq}
            hy["  keyword leg alone (parse + `keyword_run`, depth 100)"] = latencies_ms(
                kw_leg, kq, args.passes
            )
            hy["  semantic leg alone (`semantic_run`, depth 100, incl. filter ids)"] = latencies_ms(
                lambda i: se.semantic_run(kvecs[i], 100, KEYWORD_QUERIES[i].filters()), kq, args.passes
            )
            hy[f"  `fuse` alone ({SearchOptions().fusion})"] = latencies_ms(
                lambda i: fuse_default(runs[i]), kq, args.passes
            )
            filt = [i for i, q in enumerate(KEYWORD_QUERIES) if q.filters()]
            hy["  `allowed_ids` for the 4 filtered queries"] = latencies_ms(
                lambda i: se.allowed_ids(KEYWORD_QUERIES[i].filters()), filt, args.passes
            )
        hy["query embedding (`Embedder.encode`, one keyword query), excluded above"] = emb_kw
        hy["query embedding (one tweet), excluded above"] = emb_tweets
        for name, ms in hy.items():
            hybrid_rows.append((f"{n:,}", name, pct(ms, 50), pct(ms, 95)))
        r["hybrid"] = {name: summary(ms) for name, ms in hy.items()}
        if args.keep_vectors:
            keep_vectors(folder, flat if product_kind == "flat" else ann)
    return r


def keep_vectors(folder: Path, store) -> None:
    """Make ``folder`` (a keyword bench index, passage ids 1..n) a complete index: ``store`` as its
    generation's vectors file, recorded (file, kind, sha256) in its manifest, written last."""
    import dataclasses

    from index.manifest import read_manifest, write_manifest
    from index.vectors import VectorWriter, vectors_file

    m = read_manifest(folder)
    name = vectors_file(m.generation)
    sha = VectorWriter(store).save(folder / name)
    write_manifest(
        folder, dataclasses.replace(m, vectors_file=name, vectors_kind=store.kind, vectors_sha256=sha)
    )
    log(f"kept the {store.kind} store of {len(store):,} vectors as {folder / name}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="folder for caches, indexes and results JSON"
    )
    ap.add_argument("--sizes", default="10000,100000", help="comma-separated vector counts")
    ap.add_argument("--limit", type=int, default=None, help="records per corpus file (quick run)")
    ap.add_argument("--queries", type=int, default=100, help="CheckThat train tweets used as queries")
    ap.add_argument("--sigma", type=float, default=0.02, help="noise of the synthetic copies, per dimension")
    ap.add_argument("--passes", type=int, default=3, help="timed passes per query (median taken)")
    ap.add_argument("--ef", default="64,128,256,512", help="efSearch values to sweep (--ann hnsw)")
    ap.add_argument("--nprobe", default="32,64,128,256,512", help="nprobe values to sweep (--ann ivf)")
    ap.add_argument(
        "--ann",
        choices=("ivf", "hnsw"),
        default="ivf",
        help="approximate store to measure (the product's: ivf)",
    )
    ap.add_argument(
        "--hybrid-tweets", type=int, default=20, help="tweets also run as hybrid queries (0: none)"
    )
    ap.add_argument("--no-hybrid", action="store_true", help="skip the hybrid runs")
    ap.add_argument(
        "--keep-vectors",
        action="store_true",
        help="write the product's store into OUT/kw-N (a complete index for bench/serve.py)",
    )
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch and FAISS threads for the main tables (0: leave the library defaults); the defaults "
        "are also measured, in a separate table",
    )
    ap.add_argument(
        "--no-build-keyword", action="store_true", help="hybrid only where the keyword index exists"
    )
    args = ap.parse_args()
    require_shared(CHECKTHAT / "train.queries.tsv")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sizes = [int(s) for s in args.sizes.split(",") if s]
    efs = [int(e) for e in args.ef.split(",") if e]
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    import faiss
    import torch

    from index.embed import Embedder
    from index.vectors import ANN_THRESHOLD

    ann_desc = (
        f"HNSW M={HNSW_M}, efConstruction={HNSW_EF_CONSTRUCTION}"
        if args.ann == "hnsw"
        else "IVF-Flat, nlist = the power of two nearest 4 sqrt(n), k-means on 40 points a list"
    )

    default_threads = (torch.get_num_threads(), faiss.omp_get_max_threads())

    def set_threads(n: int) -> None:
        torch.set_num_threads(n or default_threads[0])
        faiss.omp_set_num_threads(n or default_threads[1])

    groups = split_all(read_articles(args.limit))
    texts = [p.text for _, ps in groups for p in ps]
    nb = len(texts)
    fp = base_fingerprint(groups)
    embedder = Embedder(None)
    t = time.perf_counter()
    embedder.model.encode(["warm-up"] * 8)
    log(f"model loaded in {time.perf_counter() - t:.1f} s; {nb:,} real passages")
    base = embed_cached(out, "passages", texts, embedder, out / "ingest-index" / "catalog.sqlite")
    tweets = []
    with open(CHECKTHAT / "train.queries.tsv", encoding="utf-8") as f:
        for line in f:
            qid, _, text = line.rstrip("\n").partition("\t")
            if text.strip():
                tweets.append(text.strip())
            if len(tweets) >= args.queries:
                break
    qvecs = embed_cached(out, "tweets", tweets, embedder)
    kvecs = embed_cached(out, "keyword-queries", [q.text for q in KEYWORD_QUERIES], embedder)

    # Query embedding time (uncached: Embedder.encode, not the lru_cached encode_query).
    thread_rows = []
    if args.threads != 0 and tuple([args.threads] * 2) != default_threads:
        ms = latencies_ms(lambda q: embedder.encode([q.text]), KEYWORD_QUERIES[:20], passes=args.passes)
        what = "query embedding (`Embedder.encode`, one keyword query)"
        thread_rows.append(("-", what, "default", pct(ms, 50), pct(ms, 95)))
    set_threads(args.threads)
    emb_tweets = latencies_ms(lambda s: embedder.encode([s]), tweets[:30], passes=args.passes)
    emb_kw = latencies_ms(lambda q: embedder.encode([q.text]), KEYWORD_QUERIES, passes=args.passes)
    if thread_rows:
        thread_rows.append(("-", thread_rows[0][1], args.threads, pct(emb_kw[:20], 50), pct(emb_kw[:20], 95)))
    log(f"query embedding p50: tweets {pct(emb_tweets, 50):.1f} ms, keyword queries {pct(emb_kw, 50):.1f} ms")

    lat_rows, recall_rows, hybrid_rows, build_rows = [], [], [], []
    results: dict[str, dict] = {}
    Q = [np.ascontiguousarray(v) for v in qvecs]
    ctx = SimpleNamespace(
        args=args,
        out=out,
        base=base,
        groups=groups,
        fp=fp,
        efs=efs,
        nprobes=[int(e) for e in args.nprobe.split(",") if e],
        Q=Q,
        qvecs=qvecs,
        kvecs=kvecs,
        tweets=tweets,
        emb_kw=emb_kw,
        emb_tweets=emb_tweets,
        lat_rows=lat_rows,
        recall_rows=recall_rows,
        hybrid_rows=hybrid_rows,
        build_rows=build_rows,
        thread_rows=thread_rows,
        set_threads=set_threads,
    )
    for n in sizes:
        results[str(n)] = bench_size(n, ctx)

    print(
        f"\n### Semantic query latency (warm, {len(Q)} CheckThat tweets, k=10, median of {args.passes} passes)\n"
    )
    print(
        f"Vectors beyond the {nb:,} real passages are synthetic: real vectors + gaussian noise "
        f"(sigma {args.sigma} per dimension), re-normalised. Approximate store: {ann_desc}; product "
        f"threshold flat -> IVF at {ANN_THRESHOLD:,} vectors. "
        f"Ratios are against bare FAISS `IndexFlatIP` at the same size, same run. Threads (torch, FAISS): "
        f"{torch.get_num_threads()}, {faiss.omp_get_max_threads()}.\n"
    )
    print(md_table(["vectors", "method", "p50 ms", "p95 ms", "p50 / bare flat", "p95 / bare flat"], lat_rows))
    knob = "efSearch" if args.ann == "hnsw" else "nprobe"
    print(f"\n{args.ann.upper()} recall@10 against exact search (same queries) by {knob}:\n")
    print(
        md_table(
            [
                "vectors",
                knob,
                "recall@10",
                "recall@10, distinct real passages",
                "p50 ms",
                "p95 ms",
                "bare FAISS p50 ms",
            ],
            recall_rows,
        )
    )
    for n, r in results.items():
        print(
            f"\n{int(n):,}: filtered (10 %) {args.ann.upper()} path = {r['filtered_hnsw_path']}, recall@10 vs exact filtered "
            f"{r['recall']['filtered_hnsw_default_ef']:.3f}"
        )
    if thread_rows:
        print(
            f"\nThreads: the main tables run with {args.threads} torch/FAISS thread(s); the library defaults "
            f"(torch {default_threads[0]}, FAISS {default_threads[1]}) on the same queries, same run:\n"
        )
        print(md_table(["vectors", "what", "threads", "p50 ms", "p95 ms"], thread_rows))
    print("\nBuild (seconds):\n")
    a = args.ann.upper()
    print(md_table(["vectors", "flat add", f"{a} rebuild", f"{a} / flat"], build_rows))
    if hybrid_rows:
        print(
            f"\n### Hybrid query latency (warm, {len(KEYWORD_QUERIES)} keyword-bench queries incl. 4 filtered; "
            "query vectors precomputed)\n"
        )
        print(md_table(["passages", "step", "p50 ms", "p95 ms"], hybrid_rows))
    need = {}
    knobs = sorted({k for r in results.values() for k in r["recall"] if isinstance(k, int)})
    for n, r in results.items():
        ok = [ef for ef in knobs if r["recall"].get(ef, 0) >= 0.98]
        need[n] = min(ok) if ok else None
    print(
        f"\n{knob} needed for recall@10 >= 0.98: "
        + ", ".join(f"{int(n):,}: {e if e else f'> {max(knobs)}'}" for n, e in need.items())
        + f". Peak RSS {peak_rss_mb():,.0f} MB."
    )
    print(f"\n`{command_line()}` (product sources {CODE_VERSION})")
    path = save_json(
        out,
        f"query_semantic-{args.sizes.replace(',', '_')}.json",
        {
            "sizes": sizes,
            "real_passages": nb,
            "sigma": args.sigma,
            "queries": len(Q),
            "ann": args.ann,
            "hnsw": {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION},
            "threshold": ANN_THRESHOLD,
            "query_embedding": {"tweets": summary(emb_tweets), "keyword_queries": summary(emb_kw)},
            "ef_needed_for_0.98": need,
            "results": results,
        },
    )
    log(f"results: {path}")


if __name__ == "__main__":
    main()
