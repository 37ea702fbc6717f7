"""``claims ingest --ray``: the pure stages on a Ray cluster, the one writer in the driver.

What runs where:

* **Ray Data** (``map_batches``, one file per batch, ``PLAN_CPUS`` of a CPU each): files -> articles
  (``index.sources.read_file``) -> planned articles (``index.ingest.plan``: passages, offsets, text
  hashes). Rows come back to the driver in input order (``preserve_order``), so "the last record of an
  id wins" means the same as in a local ingest.
* **An actor pool** of ``workers`` embedding actors (``_EmbedActor``: the model is loaded once per
  actor), restarted by Ray if one dies (``max_restarts``) with its calls retried (``max_task_retries``).
* **Extraction tasks** (``PLAN_CPUS`` each): the claim-intelligence stage
  (``index.extraction.extract_window``, one ``nlp.pipe`` per group of changed articles) runs as one Ray
  task per group sent to the actors, beside the embedding; the driver attaches the features before
  ``apply``, which scores check-worthiness from the vectors and stores them, as in a local ingest.
* **The driver** (this process) holds the index lock and does everything that touches the index: the
  batched unchanged check by content hash, the embedding-cache lookup, and ``index.ingest.apply`` and
  the periodic commits of ``IndexWriter``, exactly as a local ingest. Only text hashes that are neither
  in the cache nor already sent are sent to an actor, so no text is embedded twice across workers;
  fresh vectors are cached (committed) before ``apply`` uses them, so a crash costs no embedding twice.

Files are read by the Ray workers: on a multi-node cluster the paths must be on storage every node
sees. ``import ray`` happens only here and only when ``--ray`` is given (``require_ray``).
"""

from __future__ import annotations

import math
import pickle
import time
from collections import Counter, deque
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack
from itertools import chain
from pathlib import Path

import numpy as np

from index import extraction
from index.extraction import extract_window
from index.ingest import IngestReport, PlannedArticle, Progress, apply, plan
from index.ray_cluster import connect, require_ray, validate_workers
from index.records import FieldMap, Problem
from index.run_base import COMMIT_ARTICLES, COMMIT_SECONDS, RunBase, finish_runs
from index.sources import iter_files, read_file
from index.writer import IndexWriter

PLAN_CPUS = 0.25  # a plan task is cheap next to embedding: it must never wait for the actors' CPUs
ROWS_PER_BLOB = 64  # planned articles pickled together in one Ray Data row
MAX_RESTARTS = 3  # an embedding actor that dies is restarted this many times; its calls are retried


class _EmbedActor:
    """One embedding worker: the model loads once, on the first call, and stays loaded."""

    def __init__(self, model_path: str):
        from index.embed import Embedder

        self.embedder = Embedder(model_path)

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.embedder.encode(texts)


def _read_plan(batch: dict, fields: FieldMap, source: str | None, embed_fields: list[str]) -> dict:
    """Ray Data ``map_batches`` function: file paths -> pickled lists of ``PlannedArticle`` / ``Problem``."""
    blobs = []
    for path in batch["path"]:
        items: list = []
        for item in read_file(Path(str(path)), fields, source):
            items.append(item if isinstance(item, Problem) else plan([item], embed_fields)[0])
            if len(items) >= ROWS_PER_BLOB:
                blobs.append(pickle.dumps(items))
                items = []
        if items:
            blobs.append(pickle.dumps(items))
    return {"blob": np.array(blobs, dtype=object)}


def _planned(
    ray, paths: list[str], fields: FieldMap, source: str | None, embed_fields: list[str]
) -> Iterator[PlannedArticle | Problem]:
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True
    ctx.enable_progress_bars = False
    ds = ray.data.from_items([{"path": p} for p in paths], override_num_blocks=max(1, len(paths)))
    ds = ds.map_batches(
        _read_plan,
        batch_size=1,
        num_cpus=PLAN_CPUS,
        fn_kwargs={"fields": fields, "source": source, "embed_fields": list(embed_fields)},
    )
    for batch in ds.iter_batches(batch_size=1, batch_format="numpy"):
        for blob in batch["blob"]:
            yield from pickle.loads(blob)


def ingest_ray(
    index_dir: Path,
    paths: Sequence[str | Path],
    address: str = "local",
    workers: int = 2,
    fields: FieldMap = FieldMap(),
    source: str | None = None,
    model: str | None = None,
    strict: bool = False,
    wait: bool = True,
    progress: Progress | None = None,
    chunk: int = 512,
    embed_fields: Sequence[str] = (),
    commit_articles: int = COMMIT_ARTICLES,
    commit_seconds: float = COMMIT_SECONDS,
    extract: bool | None = None,
    routes: Mapping[str, Path] | None = None,
) -> IngestReport:
    """``index.ingest.ingest`` on Ray: same arguments, same report, same index (see the module doc).

    Args:
        address: ``local`` (start a cluster here with ``workers`` CPUs), ``auto`` or ``HOST:PORT``.
        workers: Embedding actors (each loads the model once).
        chunk: Texts gathered before they are sent to the actors (split evenly among them).
        extract: The claim-intelligence stage (None: ``index.extraction.DEFAULT``, on): each group of
            changed articles is extracted by one Ray task (``index.extraction.extract_window``) while the
            actors embed it; the driver scores check-worthiness from the vectors and stores the
            features with their passages, as a local ingest does.
        routes: ``{article id: shard folder}`` for a sharded index (``index.shard_ingest``): each
            planned article goes to its shard's run, one writer (and write lock) per shard, all fed
            by the same plan stage and embedding actors; ``index_dir`` is then unused. None: one index.

    Progress events are those of a local ingest (no ``file`` events) plus ``workers`` (``actors``:
    the actor handles, e.g. for a test that kills one).

    Raises:
        RayMissingError: Ray is not installed. ``ClaimsError``: bad ``workers``, no cluster at
        ``address``, nothing ingested. ``InputFormatError``: with ``strict``, on the first bad record.
    """
    validate_workers(workers)
    ray = require_ray()
    progress = progress or (lambda *a, **k: None)
    report = IngestReport()
    t0 = time.perf_counter()
    files = list(iter_files(paths))
    command = "ingest --ray " + " ".join(str(p) for p in paths)
    started = connect(ray, address, workers)
    targets = [Path(index_dir)] if routes is None else sorted(set(routes.values()))
    try:
        with ExitStack() as stack:
            writers = [
                stack.enter_context(
                    IndexWriter(d, model=model, wait=wait, on_wait=lambda m: progress("wait", message=m))
                )
                for d in targets  # one writer (and its lock) per shard, taken in a fixed order
            ]
            actors = _embed_actors(ray, writers[0].embedder.path, workers)
            progress("workers", n=workers, actors=list(actors))
            stack.callback(lambda: [ray.kill(a) for a in actors])
            extracting = None
            if extraction.enabled(extract):
                extracting = ray.remote(num_cpus=PLAN_CPUS, max_retries=MAX_RESTARTS)(extract_window)
            runs = {}
            for d, writer in zip(targets, writers, strict=True):
                run = runs[d] = _RayRun(ray, writer, command, embed_fields, report, progress, chunk, actors)
                run.extracting = extracting
                # --strict promises all or nothing: one commit at the end
                run.every = (math.inf, math.inf) if strict else (commit_articles, commit_seconds)
            first = runs[targets[0]]
            try:
                problems = [f for f in files if isinstance(f, Problem)]
                todo = [str(f) for f in files if not isinstance(f, Problem)]
                stream = _planned(ray, todo, fields, source, first.batch.embed_fields) if todo else iter(())
                for item in chain(problems, stream):
                    if isinstance(item, Problem):
                        first.problem(item, strict)
                    else:
                        aid = item.article.article_id
                        (first if routes is None else runs[routes[aid]]).offer(item)
                finish_runs(list(runs.values()), paths, t0)
            except BaseException:
                for run in runs.values():
                    run.batch.abort()
                raise
    finally:
        if started:
            ray.shutdown()
    return report


def _embed_actors(ray, model_path: str, workers: int) -> list:
    """``workers`` embedding actors, each with one CPU less a share so that plan tasks
    (``PLAN_CPUS``) always find room; restarted by Ray if one dies, their calls retried."""
    total = float(ray.cluster_resources().get("CPU", workers))
    cpus = max(0.1, min(1.0, (total - PLAN_CPUS) / workers))
    actor = ray.remote(num_cpus=cpus, max_restarts=MAX_RESTARTS)(_EmbedActor)
    return [actor.options(max_task_retries=MAX_RESTARTS).remote(model_path) for _ in range(workers)]


class _RayRun(RunBase):
    """The driver's side: windows of planned articles -> unchanged check -> cache lookup -> actors ->
    cache -> ``apply`` in order -> periodic commits (the local ``_Run``'s rules, embedding remote)."""

    def __init__(self, ray, writer: IndexWriter, command, embed_fields, report, progress, chunk, actors):
        super().__init__(writer, command, embed_fields, report, progress, chunk)
        self.ray = ray
        self.model = writer.embedder.name
        self.actors = actors  # shared by every shard's run of a sharded ingest
        self.turn = 0
        self.group: list[PlannedArticle] = []  # checked, not yet sent
        self.need: dict[str, str] = {}  # text hash -> text of the group
        # sent, in order: (planned articles, texts they need, hashes sent, their futures)
        self.inflight: deque[tuple[list[PlannedArticle], int, list[list[str]], list]] = deque()
        self.open_ids: Counter = Counter()  # ids in the group or in flight
        self.sent: set[str] = set()  # hashes in flight
        self.extracting = None  # the extraction stage as a Ray remote function, or None (--no-extract)
        self.features: deque = deque()  # per inflight group: the extraction's future, or None

    def offer(self, item: PlannedArticle) -> None:
        if self._windowed(item.article.article_id, item):
            self._check()

    def _check(self) -> None:
        """The batched unchanged check of the window (one query), as ``index.ingest._Run``."""
        if not self.window:
            return
        current = self.w.catalog.current_articles(list(self.window), self.batch.gen)
        for aid, item in self.window.items():
            if not self._unchanged(aid, current.get(aid), item.content_hash, bool(self.open_ids[aid])):
                self.group.append(item)
                self.open_ids[aid] += 1
                self.need.update(item.texts())
        self.window.clear()
        if len(self.need) >= self.chunk:
            self._send()

    def _send(self) -> None:
        """Send the group's texts that are neither cached nor in flight to the actors, split evenly."""
        if not self.group:
            return
        fresh = [h for h in self.need if h not in self.sent]
        cached = self.w.cache.get(self.model, fresh) if fresh else {}
        todo = [h for h in fresh if h not in cached]
        pieces: list[list[str]] = []
        refs = []
        if todo:
            size = math.ceil(len(todo) / len(self.actors))
            for i in range(0, len(todo), size):
                part = todo[i : i + size]
                pieces.append(part)
                refs.append(
                    self.actors[self.turn % len(self.actors)].encode.remote([self.need[h] for h in part])
                )
                self.turn += 1
            self.sent.update(todo)
        self.inflight.append((self.group, len(self.need), pieces, refs))
        self.features.append(
            self.extracting.remote([(i.passages, i.article.text, i.article.date) for i in self.group])
            if self.extracting is not None
            else None
        )
        self.group, self.need = [], {}
        while len(self.inflight) > 2 * len(self.actors):
            self._apply_oldest()

    def _apply_oldest(self) -> None:
        group, needed, pieces, refs = self.inflight.popleft()
        features = self.features.popleft()
        if features is not None:  # the claim features, extracted beside the embedding
            for item, feats in zip(group, self.ray.get(features), strict=True):
                item.features = feats
        vectors: dict[str, bytes] = {}
        for part, vecs in zip(pieces, self.ray.get(refs) if refs else [], strict=True):
            fresh = [(h, v.tobytes()) for h, v in zip(part, np.asarray(vecs, dtype=np.float32), strict=True)]
            self.w.cache.put(self.model, fresh)  # cached (committed) before it is used
            vectors.update(fresh)
            self.sent.difference_update(part)
        self.report.embedded += len(vectors)
        self.report.cached_vectors += needed - len(vectors)
        apply(self.w, self.batch, group, vectors, self.report, self.seen, self.progress)
        for item in group:
            self.open_ids[item.article.article_id] -= 1
        self._applied(len(group))

    def flush(self) -> None:
        self._check()
        self._send()
        while self.inflight:
            self._apply_oldest()
