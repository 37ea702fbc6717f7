"""Ingest throughput: end-to-end ``ingest()`` vs the bare sentence-transformers encode rate, same run.

End-to-end is the library call behind ``claims ingest`` (read, split, embed, catalog, Whoosh, FAISS,
commit) into a fresh index over all of the shared corpora. The baseline is
``SentenceTransformer.encode(texts, batch_size=64, normalize_embeddings=True)`` on exactly the passage
texts that ingest stored (read back from the catalog), in one call; a second baseline encodes the same
texts in the chunks ingest uses (``chunk`` unique texts per call), to separate padding effects from
pipeline overhead. The model is loaded and warmed once before any timing (``index.embed._load`` is
lru_cached per path: the report checks that ingest did not load it again). The claim-intelligence
stage (``index.extraction.extract_window``, which ingest runs in a thread beside the embedding) is also
timed alone on the same articles' passages, so its share of end-to-end shows (``--no-extract``: ingest
without it, and no such row).

    HF_HUB_OFFLINE=1 .venv/bin/python bench/ingest.py [--limit N] [--repeat R] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from itertools import chain, islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    CODE_VERSION,
    DEFAULT_OUT,
    command_line,
    corpus_files,
    log,
    md_table,
    peak_rss_mb,
    require_shared,
    save_json,
)


class Clock:
    """Wall and process CPU seconds (all threads) of a block: CPU time barely moves when other
    processes compete for the 2 cores, wall time does; both are reported."""

    def __enter__(self):
        self.w, self.c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.w, time.process_time() - self.c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the index and results JSON")
    ap.add_argument("--limit", type=int, default=None, help="records per corpus file (quick run)")
    ap.add_argument("--chunk", type=int, default=512, help="ingest's chunk (unique texts per encode call)")
    ap.add_argument("--repeat", type=int, default=1, help="repeat every timed step R times; medians reported")
    ap.add_argument("--no-chunked", action="store_true", help="skip the chunked bare-encode baseline")
    ap.add_argument(
        "--no-extract",
        action="store_true",
        help="ingest without the claim-intelligence stage (index.extraction), to measure its share",
    )
    args = ap.parse_args()
    require_shared()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    # what the index package sets before torch loads (index/__init__.py), so the baseline runs as ingest does
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    from index import embed
    from index.catalog_reader import CatalogReader
    from index.embed import Embedder
    from index.ingest import ingest
    from index.lexical import LexicalWriter, passage_doc
    from index.manifest import CATALOG, read_manifest
    from index.passages import split_article
    from index.records import Article, Passage
    from index.sources import read_file

    files = corpus_files()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    # -- model: load and warm once, outside every timing --------------------------------------
    t = time.perf_counter()
    embedder = Embedder(None)
    model = embedder.model
    load_s = time.perf_counter() - t
    model.encode([f"warm-up sentence number {i} about the war" for i in range(128)], batch_size=64)
    if not args.no_extract:  # spaCy and the check-worthiness weights load once per process, like the model
        from index.intel.checkworthy import load_model
        from index.intel.pipeline import parse

        parse(["Russia's Defense Ministry said on Thursday that three MiG-31 jets landed."])
        load_model()
    loads_before = embed._load.cache_info()
    log(f"model loaded in {load_s:.1f} s; torch threads {torch.get_num_threads()}")

    def stream():
        if args.limit is None:
            return None
        return chain.from_iterable(islice(read_file(f), args.limit) for f in files)

    # -- stage: read + split alone --------------------------------------------------------------
    read_split = []
    for _ in range(args.repeat):
        with Clock() as c:
            n_articles = n_split = 0
            for f in files:
                for a in islice(read_file(f), args.limit):
                    if isinstance(a, Article):
                        n_articles += 1
                        n_split += len(split_article(a)[0])
        read_split.append(c)
    log(f"read+split: {n_articles} articles, {n_split} passages, {read_split[-1].wall:.1f} s")

    # -- stage: claim extraction alone (what runs in a thread beside the embedding) ---------------
    extracting = []
    if not args.no_extract:
        from index.extraction import extract_window

        items = []
        for f in files:
            for a in islice(read_file(f), args.limit):
                if isinstance(a, Article):
                    items.append((split_article(a)[0], a.text, a.date))
        for _ in range(args.repeat):
            with Clock() as c:
                for k in range(0, len(items), 64):  # ingest's windows are about this size
                    extract_window(items[k : k + 64])
            extracting.append(c)
        log(f"extraction alone: {extracting[-1].wall:.1f} s (CPU {extracting[-1].cpu:.1f} s)")

    e2e, bare, chunked, lexical = [], [], [], []
    index_dir = out / "ingest-index"
    report = None
    load_avg = [os.getloadavg()[0]]
    for r in range(args.repeat):
        # -- end to end ---------------------------------------------------------------------------
        shutil.rmtree(index_dir, ignore_errors=True)
        with Clock() as c:
            report = ingest(
                index_dir, files, articles=stream(), chunk=args.chunk, extract=not args.no_extract
            )
        e2e.append(c)
        log(
            f"[{r + 1}/{args.repeat}] ingest: {report.passages} passages in {c.wall:.1f} s (CPU {c.cpu:.1f} s)"
        )
        if embed._load.cache_info().misses != loads_before.misses:
            log("WARNING: ingest loaded the model again (index.embed._load cache miss)")

        # -- the same texts, from the catalog ------------------------------------------------------
        cat = CatalogReader(index_dir / CATALOG, read_manifest(index_dir).generation)
        rows = list(cat.iter_passages())
        cat.close()
        texts = [row["text"] for row in rows]

        # -- bare encode, one call ----------------------------------------------------------------
        with Clock() as c:
            model.encode(texts, batch_size=64, normalize_embeddings=True)
        bare.append(c)
        log(f"[{r + 1}/{args.repeat}] bare encode: {len(texts)} texts in {c.wall:.1f} s (CPU {c.cpu:.1f} s)")

        # -- bare encode in ingest's chunks (unique texts, article by article, flush at >= chunk) -
        if not args.no_chunked:
            chunks, need, seen, last_article = [], {}, set(), None
            for row in rows:
                if row["article_id"] != last_article and len(need) >= args.chunk:
                    chunks.append(list(need.values()))
                    need = {}
                last_article = row["article_id"]
                h = row["text_hash"]
                if h not in seen:
                    seen.add(h)
                    need[h] = row["text"]
            if need:
                chunks.append(list(need.values()))
            with Clock() as c:
                for texts_chunk in chunks:
                    embedder.encode(texts_chunk)
            chunked.append(c)
            log(
                f"[{r + 1}/{args.repeat}] bare encode in {len(chunks)} chunks: {c.wall:.1f} s (CPU {c.cpu:.1f} s)"
            )

        # -- stage: Whoosh indexing of the same passage documents alone ------------------------------
        probe = out / "ingest-lexical-probe"
        shutil.rmtree(probe, ignore_errors=True)
        docs = []
        for row in rows:
            a = Article(
                row["article_id"], "", row["title"], row["date"], row["source"], row["url"], row["metadata"]
            )
            docs.append(passage_doc(row["passage_id"], 1, Passage(row["start"], row["end"], row["text"]), a))
        with Clock() as c:
            lw = LexicalWriter(probe, create=True)
            lw.add(docs)
            lw.commit()
        lexical.append(c)
        shutil.rmtree(probe, ignore_errors=True)
        log(f"[{r + 1}/{args.repeat}] Whoosh add+commit alone: {c.wall:.1f} s")
        load_avg.append(os.getloadavg()[0])

    def med(clocks, attr="wall"):
        return statistics.median(getattr(c, attr) for c in clocks)

    n = report.passages
    unique = len({row["text_hash"] for row in rows})
    table, ratios = [], {}
    for attr in ("wall", "cpu"):
        e2e_rate, bare_rate = n / med(e2e, attr), len(texts) / med(bare, attr)
        ratios[attr] = e2e_rate / bare_rate
        ch_rate = unique / med(chunked, attr) if chunked else None  # texts it encoded per second
        ratios[attr + "_chunked"] = ch_rate / bare_rate if chunked else None
        # End-to-end against embedding exactly what ingest embeds (its unique texts, in its chunks).
        ratios[attr + "_vs_chunked"] = med(chunked, attr) / med(e2e, attr) if chunked else None
    e2e_rate, bare_rate = n / med(e2e), len(texts) / med(bare)
    table = [
        (
            "end-to-end `ingest()` (fresh index)",
            n,
            med(e2e),
            med(e2e, "cpu"),
            e2e_rate,
            ratios["wall"],
            ratios["cpu"],
        ),
        (
            "bare `model.encode`, one call, batch 64",
            len(texts),
            med(bare),
            med(bare, "cpu"),
            bare_rate,
            1.0,
            1.0,
        ),
    ]
    if chunked:
        table.append(
            (
                f"bare encode in ingest's chunks ({args.chunk} unique texts/call)",
                unique,
                med(chunked),
                med(chunked, "cpu"),
                unique / med(chunked),
                ratios["wall_chunked"],
                ratios["cpu_chunked"],
            )
        )
    print(
        f"\n### Ingest throughput ({len(files)} corpus files, {report.ingested:,} articles"
        f"{'' if args.limit is None else f', --limit {args.limit} per file'})\n"
    )
    print(
        md_table(
            [
                "measure",
                "passages",
                "wall s",
                "CPU s",
                "passages or texts/s (wall)",
                "ratio (wall)",
                "ratio (CPU)",
            ],
            table,
        )
    )
    verdict = "meets" if ratios["wall"] >= 0.85 else "misses"
    print(
        f"\nend-to-end / bare = **{ratios['wall']:.2f}** by wall time, **{ratios['cpu']:.2f}** by CPU time "
        f"({verdict} the 0.85 goal by wall time); {n - unique} of {n:,} passages are duplicate texts "
        "(embedded once by ingest, every time by the one-call baseline). Rates: passages ingested or "
        f"texts encoded per second. Load average (1 min) during the run: "
        f"{min(load_avg):.1f} to {max(load_avg):.1f} on {os.cpu_count()} CPUs."
    )
    if chunked:
        print(
            "\nAgainst embedding exactly what ingest embeds (its unique texts, in its chunks): end-to-end = "
            f"**{ratios['wall_vs_chunked']:.2f}** of pure embedding by wall time, "
            f"**{ratios['cpu_vs_chunked']:.2f}** by CPU time."
        )

    embed_clocks = chunked or bare
    stages = [
        ("read + split (`read_file` + `split_article`)", read_split),
        (
            "embed (bare encode in ingest's chunks)" if chunked else "embed (bare encode, one call)",
            embed_clocks,
        ),
        ("Whoosh add + commit (`LexicalWriter`, same docs)", lexical),
    ]
    rows_out = [(name, med(c), med(c, "cpu")) for name, c in stages]
    rows_out.append(
        (
            "rest: catalog, hashing, FAISS, commit (by difference)",
            med(e2e) - sum(r[1] for r in rows_out),
            med(e2e, "cpu") - sum(r[2] for r in rows_out),
        )
    )
    if extracting:  # beside the embedding in ingest: not part of the difference above
        rows_out.append(
            ("claim extraction (`extract_window` alone; in ingest beside the embedding)", med(extracting),
             med(extracting, "cpu"))
        )  # fmt: skip
    print("\nPer-stage breakdown (each stage timed alone in the same run, the rest by difference):\n")
    print(
        md_table(
            ["stage", "wall s", "share of end-to-end (wall)", "CPU s", "share of end-to-end (CPU)"],
            [
                (n, w, f"{100 * w / med(e2e):.0f} %", c, f"{100 * c / med(e2e, 'cpu'):.0f} %")
                for n, w, c in rows_out
            ],
        )
    )
    same = "yes" if embed._load.cache_info().misses == loads_before.misses else "NO (loaded twice)"
    print(
        f"\nmodel load (excluded): {load_s:.1f} s; model loaded once: {same}; "
        f"peak RSS {peak_rss_mb():,.0f} MB; repeats: {args.repeat} (medians)"
    )
    print(f"\n`{command_line()}` (product sources {CODE_VERSION})")
    as_dict = lambda clocks: [{"wall": c.wall, "cpu": c.cpu} for c in clocks]  # noqa: E731
    path = save_json(
        out,
        "ingest.json",
        {
            "limit": args.limit,
            "repeat": args.repeat,
            "chunk": args.chunk,
            "articles": report.ingested,
            "passages": n,
            "unique_texts": unique,
            "model_load_s": load_s,
            "model_loaded_once": same == "yes",
            "end_to_end": as_dict(e2e),
            "bare": as_dict(bare),
            "bare_chunked": as_dict(chunked),
            "read_split": as_dict(read_split),
            "lexical": as_dict(lexical),
            "extraction": as_dict(extracting),
            "loadavg": load_avg,
            "end_to_end_passages_per_s": e2e_rate,
            "bare_passages_per_s": bare_rate,
            "ratios": ratios,
            "stages_s": {n: w for n, w, _ in rows_out},
            "stages_cpu_s": {n: c for n, _, c in rows_out},
            "report": report.to_dict(),
        },
    )
    log(f"results: {path}")


if __name__ == "__main__":
    main()
