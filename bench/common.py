"""Shared helpers of the benchmarks: where the data is, corpus passages, synthetic scale-up, timing,
Markdown tables, and the keyword-index builders that ``query_keyword.py`` and ``query_semantic.py`` share.

Figures are printed as ratios against a baseline measured in the same run, so machine noise cancels;
latencies are medians over repeated passes (other processes may share the 2 cores).
"""

from __future__ import annotations

import json
import os
import platform
import random
import resource
import shlex
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as `python bench/x.py` from a checkout
    sys.path.insert(0, str(REPO))

from index.records import Article, Passage  # noqa: E402

SHARED = Path(os.environ.get("CLAIMS_SHARED", "/work/shared"))
CORPORA = SHARED / "corpora"
CHECKTHAT = SHARED / "bench" / "checkthat-2a-tweets"
DEFAULT_OUT = REPO / "bench" / "out"


def require_shared(*paths: Path) -> None:
    """Exit 0 with a clear message when the shared data is not on this machine."""
    for p in (CORPORA, *paths):
        if not Path(p).exists():
            print(f"skipped: {p} not found (the benchmarks read the shared corpora; set CLAIMS_SHARED=DIR)")
            sys.exit(0)
    if not corpus_files():
        print(f"skipped: no {CORPORA}/*/*.jsonl.gz")
        sys.exit(0)


def corpus_files() -> list[Path]:
    return sorted(CORPORA.glob("*/*.jsonl.gz"))


def log(msg: str) -> None:
    """Progress, to stderr (stdout is the Markdown report)."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def command_line() -> str:
    """The exact command that produced a report (to paste into the README)."""
    return " ".join(["python", *map(shlex.quote, [os.path.relpath(sys.argv[0], REPO), *sys.argv[1:]])])


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


def code_version() -> str:
    """sha1 (12 hex) of the product sources (cli.py, index/, search/ and its subpackages such as
    search/serve/): which code the figures are for."""
    import hashlib

    h = hashlib.sha1()
    for f in sorted([REPO / "cli.py", *REPO.glob("index/**/*.py"), *REPO.glob("search/**/*.py")]):
        h.update(str(f.relative_to(REPO)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


CODE_VERSION = code_version()  # at import: the code this process runs


def save_json(out: Path, name: str, payload: dict[str, Any]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    payload = {
        "command": command_line(),
        "code_version": CODE_VERSION,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": machine(),
        "peak_rss_mb": round(peak_rss_mb()),
        **payload,
    }
    path.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
    return path


# -- tables and statistics ------------------------------------------------------------------------
def md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}"
        if isinstance(v, int):
            return f"{v:,}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else float("nan")


def latencies_ms(
    fn: Callable[[Any], Any], items: Sequence[Any], passes: int = 3, warm: int = 1
) -> list[float]:
    """Per-item latency in ms: ``warm`` untimed passes, then the median of ``passes`` timed ones per item."""
    for _ in range(warm):
        for it in items:
            fn(it)
    per_pass = []
    for _ in range(passes):
        times = []
        for it in items:
            t = time.perf_counter()
            fn(it)
            times.append((time.perf_counter() - t) * 1000)
        per_pass.append(times)
    return [float(x) for x in np.median(np.asarray(per_pass), axis=0)]


def summary(ms: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": round(pct(ms, 50), 3),
        "p95_ms": round(pct(ms, 95), 3),
        "mean_ms": round(float(np.mean(ms)), 3),
    }


# -- corpus passages and synthetic scale-up -------------------------------------------------------
def read_articles(limit: int | None = None) -> list[Article]:
    """The shared corpora's articles (``limit`` records per corpus file), problems left out."""
    from itertools import islice

    from index.sources import read_file

    out = []
    for f in corpus_files():
        out += [a for a in islice(read_file(f), limit) if isinstance(a, Article)]
    return out


def split_all(articles: Sequence[Article]) -> list[tuple[Article, list[Passage]]]:
    """Each article with its passages (``index.passages.split_article``), articles without any left out."""
    from index.passages import split_article

    groups = []
    for a in articles:
        passages, _ = split_article(a)
        if passages:
            groups.append((a, passages))
    return groups


def shuffle_words(text: str, rng: random.Random, swaps: int = 3) -> str:
    """Light shuffling for synthetic copies: swap ``swaps`` random adjacent word pairs."""
    words = text.split(" ")
    if len(words) < 3:
        return text
    for _ in range(swaps):
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


def copy_text(text: str, copy: int, base_index: int) -> str:
    """Passage text of synthetic copy ``copy`` (0 = the real passage); deterministic per (copy, passage)."""
    if copy == 0:
        return text
    return shuffle_words(text, random.Random(copy * 1_000_003 + base_index))


def scaled_groups(groups: Sequence[tuple[Article, list[Passage]]], n: int):
    """``n`` passages as (article, copy, [(base_index, passage)]) groups: the real passages, then copies.

    Passage ``i`` (0-based, in this order) is copy ``i // nb`` of real passage ``i % nb`` when the real
    passages number ``nb``; the last group may be cut short so that exactly ``n`` come out.
    """
    done, copy = 0, 0
    while done < n:
        base = 0
        for a, passages in groups:
            take = passages[: n - done]
            items = [
                (base + j, Passage(p.start, p.end, copy_text(p.text, copy, base + j)))
                for j, p in enumerate(take)
            ]
            yield a, copy, items
            base += len(passages)
            done += len(take)
            if done >= n:
                return
        copy += 1


def copy_article(a: Article, copy: int) -> Article:
    if copy == 0:
        return a
    return Article(
        article_id=f"{a.article_id}#{copy}",
        text="",  # copies keep no article body: the keyword path never reads it (smaller catalog)
        title=a.title,
        date=a.date,
        source=a.source,
        url=a.url,
        metadata=a.metadata,
        origin=a.origin,
    )


SYNTHETIC_NOTE = (
    "Beyond the {nb:,} real passages (the shared corpora split by index.passages.split_article), "
    "passages are synthetic copies of the real ones with 3 adjacent-word swaps each (fixed seed)."
)


# -- queries ----------------------------------------------------------------------------------------
@dataclass
class KQuery:
    """A keyword-bench query: our syntax (``text``), its kind, and optional filters (ours only)."""

    kind: str
    text: str
    since: str | None = None
    until: str | None = None
    sources: list[str] = field(default_factory=list)

    def filters(self):
        from search.query import Filters

        return Filters(since=self.since, until=self.until, sources=list(self.sources))


KEYWORD_QUERIES: list[KQuery] = [
    # entities
    KQuery("entity", "Aleppo"),
    KQuery("entity", "Crimea"),
    KQuery("entity", "Mariupol"),
    KQuery("entity", "NATO"),
    KQuery("entity", "Zelensky"),
    KQuery("entity", "Soros"),
    KQuery("entity", "White Helmets"),
    KQuery("entity", "Kaliningrad"),
    # designators
    KQuery("designator", "MiG-31"),
    KQuery("designator", "S-400"),
    KQuery("designator", "HIMARS"),
    KQuery("designator", "Su-24"),
    KQuery("designator", "MH17"),
    KQuery("designator", "S-300 missiles"),
    KQuery("designator", "T-72 tanks"),
    # 2-6 word phrases (unquoted: OR with coordination)
    KQuery("words", "chemical attack Douma"),
    KQuery("words", "sarin gas attack in Khan Sheikhoun"),
    KQuery("words", "Russian troops withdraw from Kyiv"),
    KQuery("words", "grain exports blocked Black Sea ports"),
    KQuery("words", "biological weapons laboratories in Ukraine"),
    KQuery("words", "Ukraine shelled civilians in Donbas"),
    KQuery("words", "coup in Kiev organised by the West"),
    KQuery("words", "Turkey shot down Russian jet"),
    KQuery("words", "nuclear plant Zaporizhzhia shelling"),
    KQuery("words", "Azovstal steel plant"),
    KQuery("words", "US sanctions against Russia"),
    KQuery("words", "refugees Europe"),
    # boolean, phrase, wildcard
    KQuery("boolean", "NATO AND Crimea"),
    KQuery("boolean", "Aleppo AND (ceasefire OR truce)"),
    KQuery("boolean", "Ukraine NOT Crimea"),
    KQuery("boolean", "sanctions AND Europe AND gas"),
    KQuery("phrase", '"chemical weapons"'),
    KQuery("phrase", '"White Helmets" staged'),
    KQuery("wildcard", "hyperson*"),
    # filters
    KQuery("date filter", "Russian missile strike", since="2022-03-01", until="2022-04-30"),
    KQuery("date filter", "Syrian army offensive", since="2016-01-01", until="2016-12-31"),
    KQuery("source filter", "Ukrainian counteroffensive", sources=["The Guardian"]),
    KQuery("source filter", "NATO expansion", sources=["Sputnik"]),
]


# -- index builders (resumable) ------------------------------------------------------------------
def _read_state(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_state(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state), encoding="utf-8")
    os.replace(tmp, path)


def base_fingerprint(groups) -> str:
    import hashlib

    h = hashlib.sha1()
    for a, passages in groups:
        h.update(a.article_id.encode())
        for p in passages:
            h.update(p.text.encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:16]


def build_claims_keyword_index(
    out: Path, n: int, groups, chunk: int = 100_000, limitmb: int = 512, procs: int = 1
) -> tuple[Path, float]:
    """A real claims index folder of ``n`` passages without vectors: catalog + Whoosh + manifest.

    Built with the product's own writers (``CatalogWriter.add_article``, ``LexicalWriter`` +
    ``passage_doc``), so ``Searcher`` and ``claims search --mode keyword`` run on it; passage ids are
    1..n in ``scaled_groups`` order. Resumable: committed in chunks of ``chunk`` passages, progress in
    ``build.json``; an existing complete folder built from the same passages is reused.
    Returns (folder, build seconds, summed over resumed runs).
    """
    from index.catalog import CatalogWriter
    from index.embed import DEFAULT_MODEL
    from index.lexical import LexicalWriter, passage_doc
    from index.manifest import CATALOG, Manifest, write_manifest
    from index.writer import now_iso

    folder = out / f"kw-{n}"
    state_path = folder / "build.json"
    fp = base_fingerprint(groups)
    state = _read_state(state_path)
    if state.get("fingerprint") != fp or state.get("n") != n:
        shutil.rmtree(folder, ignore_errors=True)
        state = {}
    if state.get("complete"):
        return folder, state["seconds"]
    folder.mkdir(parents=True, exist_ok=True)
    done = int(state.get("done", 0))
    seconds = float(state.get("seconds", 0.0))
    cpu = float(state.get("cpu", 0.0))
    catalog = CatalogWriter(folder / CATALOG, 0)
    # Roll back whatever a killed run wrote past the last checkpoint.
    catalog.db.execute("DELETE FROM passages WHERE pid > ?", (done,))
    catalog.db.execute("DELETE FROM articles WHERE aid NOT IN (SELECT DISTINCT aid FROM passages)")
    for table in ("passages", "articles"):  # AUTOINCREMENT remembers deleted ids: rewind it
        catalog.db.execute(
            f"UPDATE sqlite_sequence SET seq = (SELECT coalesce(max(rowid), 0) FROM {table}) WHERE name = ?",
            (table,),
        )
    catalog.db.commit()
    if done == 0:
        catalog.begin_batch(1, f"bench build of {n} passages")
    lex = LexicalWriter(folder / "lexical", create=True)
    if done:
        with lex.ix.searcher() as s:
            if s.doc_count() != done:
                raise RuntimeError(
                    f"{folder}: Whoosh holds {s.doc_count()} docs, checkpoint says {done}: delete it"
                )
    t0, c0 = time.perf_counter(), time.process_time()
    pending = 0
    pos = 0
    writer_opts = {"limitmb": limitmb}
    if procs > 1:
        writer_opts.update(procs=procs, multisegment=True)
    for a, copy, items in scaled_groups(groups, n):
        if pos + len(items) <= done:
            pos += len(items)
            continue
        if lex._writer is None:
            lex._writer = lex.ix.writer(**writer_opts)
        art = copy_article(a, copy)
        passages = [p for _, p in items]
        hashes = [str(pos + j) for j in range(len(items))]  # not used by the keyword path
        pids = catalog.add_article(art, f"bench-{copy}", passages, [], hashes, 1)
        if pids[0] != pos + 1:
            raise RuntimeError(f"{folder}: expected passage id {pos + 1}, got {pids[0]}")
        lex.add(passage_doc(pid, 1, p, art) for pid, p in zip(pids, passages, strict=True))
        pos += len(items)
        pending += len(items)
        if pending >= chunk or pos >= n:
            catalog.commit()
            lex.commit()
            seconds += time.perf_counter() - t0
            cpu += time.process_time() - c0
            t0, c0 = time.perf_counter(), time.process_time()
            _write_state(state_path, {"fingerprint": fp, "n": n, "done": pos, "seconds": seconds, "cpu": cpu})
            log(f"kw-{n}: {pos:,}/{n:,} passages ({seconds:.0f} s, CPU {cpu:.0f} s)")
            pending = 0
    counts = catalog.counts(1)
    catalog.finish_batch(1, {"passages": n})
    catalog.close()
    write_manifest(
        folder,
        Manifest(
            generation=1,
            model=DEFAULT_MODEL,
            dimension=384,
            lexical_dir="lexical",
            counts=counts,
            created=now_iso(),
            updated=now_iso(),
        ),
    )
    seconds += time.perf_counter() - t0
    cpu += time.process_time() - c0
    state = {"fingerprint": fp, "n": n, "done": n, "seconds": seconds, "cpu": cpu, "complete": True}
    _write_state(state_path, state)
    return folder, seconds


def build_bare_whoosh_index(
    out: Path, n: int, groups, chunk: int = 100_000, limitmb: int = 512
) -> tuple[Path, float]:
    """Whoosh out of the box: ``Schema(id=ID(stored), text=TEXT())`` (StandardAnalyzer) over the same texts."""
    from whoosh import fields
    from whoosh import index as whoosh_index

    folder = out / f"whoosh-bare-{n}"
    state_path = out / f"whoosh-bare-{n}.json"
    fp = base_fingerprint(groups)
    state = _read_state(state_path)
    if state.get("fingerprint") != fp or state.get("n") != n:
        shutil.rmtree(folder, ignore_errors=True)
        state = {}
    if state.get("complete"):
        return folder, state["seconds"]
    done = int(state.get("done", 0))
    seconds = float(state.get("seconds", 0.0))
    cpu = float(state.get("cpu", 0.0))
    if done == 0 or not whoosh_index.exists_in(str(folder)):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        ix = whoosh_index.create_in(str(folder), fields.Schema(id=fields.ID(stored=True), text=fields.TEXT()))
        done = 0
    else:
        ix = whoosh_index.open_dir(str(folder))
        if ix.doc_count() != done:
            raise RuntimeError(f"{folder}: {ix.doc_count()} docs, checkpoint says {done}: delete it")
    t0, c0 = time.perf_counter(), time.process_time()
    w = None
    pos = pending = 0
    for _, _, items in scaled_groups(groups, n):
        if pos + len(items) <= done:
            pos += len(items)
            continue
        w = w or ix.writer(limitmb=limitmb)
        for j, (_, p) in enumerate(items):
            w.add_document(id=str(pos + j + 1), text=p.text)
        pos += len(items)
        pending += len(items)
        if pending >= chunk or pos >= n:
            w.commit()
            w = None
            seconds += time.perf_counter() - t0
            cpu += time.process_time() - c0
            t0, c0 = time.perf_counter(), time.process_time()
            _write_state(state_path, {"fingerprint": fp, "n": n, "done": pos, "seconds": seconds, "cpu": cpu})
            log(f"whoosh-bare-{n}: {pos:,}/{n:,} passages ({seconds:.0f} s, CPU {cpu:.0f} s)")
            pending = 0
    state = {"fingerprint": fp, "n": n, "done": n, "seconds": seconds, "cpu": cpu, "complete": True}
    _write_state(state_path, state)
    return folder, seconds


def passage_texts(groups, n: int) -> list[str]:
    return [p.text for _, _, items in scaled_groups(groups, n) for _, p in items]


def build_cpu(path: Path) -> float | None:
    """CPU seconds a build recorded (None for builds made before CPU time was recorded)."""
    return _read_state(path).get("cpu")
