"""Crash consistency: SIGKILL an ingest at every write-path checkpoint and at random moments, then check.

    python bench/crash.py [--trials 50] [--records N] [--chunk 256] [--seed 0] [--workdir DIR]

The records (the project's samples plus the shared corpora, or the first ``--records N`` of them)
are split in two. A reference index ingests the first half, then the second half (plus changed
versions of two first-half articles: an update batch) uninterrupted. Each trial copies the
first-half index, starts ``ingest`` of the second half in a child process and kills it with SIGKILL,
either at the N-th hit of a named checkpoint (``CLAIMS_FAULT``, see ``index/faults.py``) or after a
random delay. Then:

1. the index opens and answers a hybrid search, and ``check_index`` is clean (before any writer
   has recovered it);
2. the committed generation holds exactly the old passages or exactly the new ones, never a mix;
3. the same ingest, run again to the end, yields exactly the reference run's passages, as a multiset
   of ``(article_id, start, end, text)`` (no loss, no duplicate); ``check_index`` is clean, the batch
   log agrees with the manifest and no stray file is left.

Some trials crash the first batch of a new index ("no index" must be reported cleanly), and some kill
the resumed ingest as well (a crash during recovery). The embedding cache of every trial's index is
filled from the reference run, so children never load the model to embed. Prints one line per trial,
then trials, kill points hit and failures; exits 1 on any failure. ``tests/integration/test_crash.py``
runs the same rig on a small subset; ``bench/crash.py`` runs this module's ``main`` (a test helper,
so it lives under ``tests/``; each child is this file run with ``--child``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CORPORA = ("fakes-syria-war", "nyt-guardian-ukraine-2022", "euvsdisinfo-2015-2017")
QUERY = "Syria chemical attack Russia missiles"


# -- input --------------------------------------------------------------------------------------------
def sample_records() -> list[dict]:
    """The project's ``samples/articles`` as JSON records."""
    from index.records import Article
    from index.sources import read_sources

    out = []
    for a in read_sources([ROOT / "samples" / "articles"]):
        if isinstance(a, Article):
            out.append(
                {"id": a.article_id, "title": a.title, "date": a.date, "source": a.source, "url": a.url}
                | {"text": a.text}
            )
    return out


def shared_records(limit: int | None, corpora: tuple[str, ...] = CORPORA) -> list[dict]:
    """The first ``limit`` records (all when None) of the shared corpora, in order; [] without them."""
    out: list[dict] = []
    for name in corpora:
        path = SHARED / "corpora" / name / f"{name}.jsonl.gz"
        if not path.exists():
            continue
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                if limit is not None and len(out) >= limit:
                    return out
                out.append(json.loads(line))
    return out


def write_jsonl(path: Path, records: list[dict]) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    return path


def split_inputs(records: list[dict], folder: Path) -> tuple[Path, Path]:
    """First half; second half plus changed versions of two first-half articles (an update batch)."""
    half = len(records) // 2
    first, second = records[:half], list(records[half:])
    for r in first[:2]:
        second.append(
            r | {"text": r["text"] + "\n\nThe figures were revised on Friday, officials said in a statement."}
        )
    folder.mkdir(parents=True, exist_ok=True)
    return write_jsonl(folder / "first.jsonl.gz", first), write_jsonl(folder / "second.jsonl.gz", second)


# -- reading an index -------------------------------------------------------------------------------------
def passage_multiset(index: Path) -> list[tuple[str, int, int, str]]:
    """Every passage of the committed generation as sorted ``(article_id, start, end, text)``."""
    from index.catalog_reader import CatalogReader
    from index.manifest import CATALOG, read_manifest

    cat = CatalogReader(index / CATALOG, read_manifest(index).generation)
    try:
        return sorted((p["article_id"], p["start"], p["end"], p["text"]) for p in cat.iter_passages())
    finally:
        cat.close()


def open_and_search(index: Path) -> int | None:
    """Open the index like a user would and run a hybrid search; the generation, or None for "no index"."""
    from index.errors import IndexNotFoundError
    from search.searcher import Searcher, SearchOptions

    try:
        s = Searcher(index)
    except IndexNotFoundError:
        return None
    with s:
        s.search(QUERY, SearchOptions(mode="hybrid", limit=5))
        return s.manifest.generation


def batch_log_problems(index: Path) -> list[str]:
    """The catalog's batch log must call exactly the generations 1..G committed."""
    from index.manifest import CATALOG, read_manifest

    gen = read_manifest(index).generation
    db = sqlite3.connect(f"file:{index / CATALOG}?mode=ro", uri=True)
    try:
        committed = [
            r[0] for r in db.execute("SELECT gen FROM batches WHERE status = 'committed' ORDER BY gen")
        ]
    finally:
        db.close()
    if committed != list(range(1, gen + 1)):
        return [f"batch log says generations {committed} committed, the manifest {gen}"]
    return []


def stray_files(index: Path) -> list[str]:
    from index.manifest import read_manifest

    m = read_manifest(index)
    keep = {"manifest.json", "write.lock", m.lexical_dir, m.vectors_file, m.vectors_file + ".tomb.npy"}
    keep |= {
        f"{db}{s}" for db in ("catalog.sqlite", "embeddings.sqlite") for s in ("", "-wal", "-shm", "-journal")
    }
    return sorted(p.name for p in index.iterdir() if p.name not in keep)


def prime_embeddings(dst_index: Path, src_index: Path) -> None:
    """Copy the embedding cache of index ``src`` into index folder ``dst`` (children then never load the
    model to embed)."""
    from index.embcache import EMBCACHE, EmbeddingCache

    Path(dst_index).mkdir(parents=True, exist_ok=True)
    with EmbeddingCache(Path(dst_index) / EMBCACHE) as cache:
        cache.copy_from(Path(src_index) / EMBCACHE)


def chill(index: Path, n: int = 3) -> int:
    """Drop ``n`` cached vectors that the committed generation does not use (the next ingest embeds
    them: it loads the model and writes the cache). Returns rows dropped."""
    from index.embcache import EMBCACHE

    db = sqlite3.connect(index / EMBCACHE)
    try:
        db.execute("ATTACH DATABASE ? AS cat", (str(index / "catalog.sqlite"),))
        with db:
            gone = db.execute(
                "DELETE FROM main.embeddings WHERE (model, text_hash) IN (SELECT model, text_hash "
                "FROM main.embeddings WHERE text_hash NOT IN (SELECT text_hash FROM cat.passages) LIMIT ?)",
                (n,),
            ).rowcount
        db.execute("DETACH DATABASE cat")
    finally:
        db.close()
    return gone


# -- trials -----------------------------------------------------------------------------------------------
@dataclass
class Trial:
    """One kill: at the ``fault`` checkpoint (``NAME:N``), or after ``at`` times the time an uninterrupted
    child takes (measured as the trials go: other processes change it); ``fresh``: into a new index."""

    fault: str | None = None
    at: float | None = None
    fresh: bool = False
    then: Trial | None = None  # kill the resumed ingest as well (a crash during recovery)
    cold: bool = False  # a few vectors the child needs are missing from the cache: it embeds them

    @property
    def name(self) -> str:
        what = self.fault or f"random at {self.at:.0%}"
        what = ("fresh " if self.fresh else "") + ("cold " if self.cold else "") + what
        return what + (f" then {self.then.name}" if self.then else "")


@dataclass
class Outcome:
    trial: Trial
    killed: list[str] = field(default_factory=list)  # where each kill landed (the last checkpoint passed)
    states: list[str] = field(default_factory=list)  # what a reader saw after each kill
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        status = "ok" if not self.failures else "FAIL: " + "; ".join(self.failures)
        return (
            f"{self.trial.name:<48} killed at {', '.join(self.killed) or '-':<36} "
            f"saw {', '.join(self.states) or '-':<14} {self.seconds:5.1f}s {status}"
        )


class CrashRig:
    """Reference runs, the first-half index to copy, and the trials over them."""

    def __init__(self, work: Path, records: list[dict], chunk: int = 256, log=print):
        self.work = Path(work)
        self.chunk = chunk
        self.log = log
        self.first, self.second = split_inputs(records, self.work / "input")
        self.base = self.work / "base"  # first half committed (generation 1)
        self.fresh = self.work / "fresh"  # no index yet, only the embedding cache
        self.n = 0

    def setup(self) -> None:
        """Build the reference index in this process (embeds once) and time one uninterrupted child."""
        from index.ingest import ingest

        t0 = time.perf_counter()
        ingest(self.base, [self.first], chunk=self.chunk)
        self.first_set = passage_multiset(self.base)
        ref = self.work / "reference"
        shutil.copytree(self.base, ref)
        ingest(ref, [self.second], chunk=self.chunk)
        self.full_set = passage_multiset(ref)
        prime_embeddings(self.base, ref)
        prime_embeddings(self.fresh, ref)
        shutil.rmtree(ref)
        self.log(
            f"reference: {len(self.first_set)} passages after the first half, {len(self.full_set)} after "
            f"the second ({time.perf_counter() - t0:.1f}s)"
        )
        # One uninterrupted child: the span that random kills are drawn from, and a control trial.
        control = self.run(Trial())
        self.child_seconds = self.last_child
        if control.failures:
            raise RuntimeError(f"uninterrupted child run failed: {control.failures}")
        self.log(f"uninterrupted child ingest of the second half: {self.child_seconds:.1f}s")

    def random_trial(self, rng: random.Random, fresh: bool = False) -> Trial:
        return Trial(at=rng.uniform(0.1, 0.9), fresh=fresh)

    # -- one child ------------------------------------------------------------------------------------
    def child(self, index: Path, path: Path, fault: str | None, delay: float | None, tag: str) -> str | None:
        """Run an ingest child; returns where a kill landed, or None when it ran to the end."""
        log = self.work / f"{tag}.checkpoints"
        env = dict(os.environ, HF_HUB_OFFLINE="1", CLAIMS_FAULT_LOG=str(log))
        env.pop("CLAIMS_FAULT", None)
        if fault:
            env["CLAIMS_FAULT"] = fault
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(index), str(path)]
        cmd += ["--chunk", str(self.chunk)]
        t0 = time.perf_counter()
        with open(self.work / f"{tag}.stderr", "wb") as err:
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT)
            if delay is not None:
                try:
                    proc.wait(timeout=delay)
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
            rc = proc.wait()
        if rc == 0 and not fault and path == self.second:
            # An uninterrupted update: the span random kills are drawn from follows the machine's load.
            self.last_child = time.perf_counter() - t0
            if hasattr(self, "child_seconds"):
                self.child_seconds = (self.child_seconds + self.last_child) / 2
        passed = log.read_text().split() if log.exists() else []
        if rc == -signal.SIGKILL:
            counts = Counter(passed)
            return f"{passed[-1]}#{counts[passed[-1]]}" if passed else "start"
        if rc != 0:
            tail = (self.work / f"{tag}.stderr").read_text(errors="replace").strip().splitlines()[-3:]
            raise RuntimeError(f"child exited {rc}: {' | '.join(tail)}")
        return None

    # -- one trial --------------------------------------------------------------------------------------
    def run(self, trial: Trial) -> Outcome:
        from index.ingest import ingest
        from search.admin import check_index

        self.n += 1
        out = Outcome(trial)
        t0 = time.perf_counter()
        index = self.work / f"trial-{self.n:03d}"
        shutil.copytree(self.fresh if trial.fresh else self.base, index)
        if trial.cold:
            chill(index)
        path = self.first if trial.fresh else self.second
        old, new = ([], self.first_set) if trial.fresh else (self.first_set, self.full_set)
        try:
            step: Trial | None = trial
            round_ = 0
            while step is not None:
                round_ += 1
                fault = step.fault
                delay = step.at * self.child_seconds if step.at is not None else None
                where = self.child(index, path, fault, delay, f"trial-{self.n:03d}-{round_}")
                if fault and where is None:
                    out.failures.append(f"{fault} was never reached (the child ran to the end)")
                if where:
                    out.killed.append(where)
                out.states.append(self._inspect(index, old, new, out.failures))
                step = step.then
            # Resume: the same ingest again, to the end (in this process: the model is loaded here).
            ingest(index, [path], chunk=self.chunk)
            got = passage_multiset(index)
            if got != new:
                lost, extra = Counter(new) - Counter(got), Counter(got) - Counter(new)
                out.failures.append(
                    f"after resuming: {sum(lost.values())} passages lost, {sum(extra.values())} extra"
                )
            report = check_index(index)
            if not report["ok"]:
                out.failures.append("check after resume: " + " | ".join(report["problems"]))
            out.failures += batch_log_problems(index)
            stray = stray_files(index)
            if stray:
                out.failures.append(f"stray files after resume: {stray}")
        except Exception as e:  # noqa: BLE001 - a failed trial is reported, the others still run
            out.failures.append(f"{e.__class__.__name__}: {e}")
        out.seconds = time.perf_counter() - t0
        if not out.failures:
            shutil.rmtree(index, ignore_errors=True)
        return out

    def _inspect(self, index: Path, old: list, new: list, failures: list[str]) -> str:
        """What a reader sees right after a kill, before any writer recovers the index."""
        from search.admin import check_index

        gen = open_and_search(index)
        if gen is None:
            if old:
                failures.append("the committed first half is gone: 'no index'")
            return "no index"
        report = check_index(index)
        if not report["ok"]:
            failures.append("check after kill: " + " | ".join(report["problems"]))
        got = passage_multiset(index)
        if got == old:
            return f"old (gen {gen})"
        if got == new:
            return f"new (gen {gen})"
        failures.append(
            f"generation {gen} holds {len(got)} passages: neither the old {len(old)} nor the new {len(new)}"
        )
        return f"mixed (gen {gen})"


def plan(rig: CrashRig, trials: int, rng: random.Random) -> list[Trial]:
    """Every checkpoint once (two catalog chunks), a fresh-index crash, double kills; random kills for the rest."""
    from index.faults import CHECKPOINTS

    named = [Trial(fault=f"{c}:1", cold=c == "embcache-put") for c in CHECKPOINTS]
    named.insert(1, Trial(fault="catalog-chunk:2"))
    named += [
        Trial(fault="before-manifest-rename:1", fresh=True),
        Trial(fault="after-lexical-commit:1", then=Trial(fault="whoosh-toc-rename:1")),
        Trial(fault="catalog-chunk:2", then=Trial(at=rng.uniform(0.1, 0.6))),
    ]
    out = named[:trials]
    while len(out) < trials:
        out.append(rig.random_trial(rng, fresh=len(out) % 10 == 9))
    return out


def summarize(outcomes: list[Outcome]) -> dict:
    points = Counter(w.split("#")[0] for o in outcomes for w in o.killed)
    return {
        "trials": len(outcomes),
        "kills": sum(len(o.killed) for o in outcomes),
        "kill_points": dict(sorted(points.items())),
        "failures": sum(1 for o in outcomes if o.failures),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=50)
    ap.add_argument("--records", type=int, default=None, help="Shared records to use (default: all).")
    ap.add_argument("--chunk", type=int, default=256, help="Passages per catalog chunk (checkpoint).")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", type=Path, default=None, help="Keep the work here (default: a temp dir).")
    ap.add_argument("--child", nargs=2, metavar=("INDEX", "INPUT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        from index.ingest import ingest

        ingest(Path(args.child[0]), [args.child[1]], chunk=args.chunk)
        return 0
    import tempfile

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="claims-crash-"))
    work.mkdir(parents=True, exist_ok=True)
    records = sample_records() + shared_records(args.records)
    print(f"{len(records)} records; work in {work}", flush=True)
    rig = CrashRig(work, records, chunk=args.chunk, log=lambda m: print(m, flush=True))
    rig.setup()
    outcomes = []
    for trial in plan(rig, args.trials, random.Random(args.seed)):
        outcomes.append(rig.run(trial))
        print(outcomes[-1].line(), flush=True)
    s = summarize(outcomes)
    print(f"trials: {s['trials']}  kills: {s['kills']}  failures: {s['failures']}")
    print("kill points hit: " + ", ".join(f"{k} x{v}" for k, v in s["kill_points"].items()))
    if not s["failures"] and args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if s["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
