"""One ingest run: sources -> articles -> passages -> vectors -> catalog + Whoosh + FAISS -> commit.

The public seam is two steps, so that a Ray ``map_batches`` or an HTTP upload can drive them:

* :func:`plan` (pure, any worker): articles -> :class:`PlannedArticle` (passages, dropped spans and
  the text hashes to embed). Embedding is a pure step too (``Embedder.encode`` on the texts, keyed by
  :func:`index.records.text_hash`).
* :func:`apply` (the one writer, under the index lock): a batch of planned articles plus their
  vectors by text hash -> catalog rows, Whoosh documents and FAISS vectors of an open ``Batch``, with
  one SQLite query for the whole batch's unchanged check and one live article per id (the last wins).

:func:`ingest` wires them for ``claims ingest``: it reads the files, drops unchanged articles before
splitting them, embeds in chunks of ``chunk`` texts (sentence-transformers sorts each call by length)
and never embeds a text twice (same text hash, same model: from the embedding cache, ``index.embcache``). A long run
commits a generation every ``commit_articles`` articles or ``commit_seconds`` seconds, each commit
atomic, so a kill loses at most one interval. Embedding is the bound (~100 passages/s on 2 cores).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from index import extraction
from index.extraction import Beside, checkworthy_applies, score_checkworthy
from index.faults import checkpoint
from index.lexical import passage_doc
from index.passages import split_article
from index.rebuild import delete, reindex
from index.records import Article, Dropped, FieldMap, Passage, Problem, text_hash
from index.run_base import COMMIT_ARTICLES, COMMIT_SECONDS, RunBase
from index.sources import iter_files, read_file
from index.vectorcache import SPILL, article_fields, context_text, embed_cached, vectors_for
from index.writer import Batch, IndexWriter

__all__ = ["IngestReport", "PlannedArticle", "apply", "delete", "ingest", "plan", "reindex"]

# progress(event, **info): "file" (done, total, bytes_done, bytes_total), "articles" (n), "passages" (n),
# "embedding" (done, total: texts of a window too big to hold, e.g. a huge article), "problem" (problem),
# "wait" (message), "commit" (generation)
Progress = Callable[..., None]


@dataclass
class IngestReport:
    """The summary printed at the end of ``claims ingest``.

    ``added`` / ``updated`` / ``unchanged`` count distinct article ids; ``repeats`` counts records
    whose id came again in the same run (the last one wins; they are in none of the other counts).
    ``commits`` is the number of generations the run committed (more than one in a long run).
    """

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    repeats: int = 0
    failed: int = 0
    deleted: int = 0
    passages: int = 0
    dropped: int = 0
    embedded: int = 0
    cached_vectors: int = 0
    seconds: float = 0.0
    generation: int = 0
    commits: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ingested(self) -> int:
        return self.added + self.updated + self.unchanged

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class PlannedArticle:
    """An article split and hashed, ready for :func:`apply`.

    Attributes:
        article: The article as read.
        content_hash: ``article.content_hash()``: equal to the live version's means unchanged.
        passages: Its passages (offsets into ``article.text``).
        dropped: Its boilerplate spans.
        hashes: ``text_hash`` of each passage, the keys of their vectors.
        fields: Embedded article fields as ``(field number, text, text hash)`` (``--embed-field``).
        features: One ``index.intel.ClaimFeatures`` per passage (``index.extraction``), or None: not
            extracted (``--no-extract``); ``apply`` stores them and scores their check-worthiness.
    """

    article: Article
    content_hash: str
    passages: list[Passage]
    dropped: list[Dropped]
    hashes: list[str]
    fields: list[tuple[int, str, str]]
    features: list | None = None

    def texts(self) -> dict[str, str]:
        """``{text hash: text}`` of everything of this article that needs a vector."""
        out = dict(zip(self.hashes, (p.text for p in self.passages), strict=True))
        out.update((h, t) for _, t, h in self.fields)
        return out


def plan(articles: Iterable[Article], embed_fields: Sequence[str] = ()) -> list[PlannedArticle]:
    """Split and hash articles; pure (no index, no model), so any worker can run it on a batch.

    Args:
        articles: Articles as read by ``index.sources``.
        embed_fields: The index's embedded article fields, in their numbered order (field ``k`` is
            ``embed_fields[k - 1]``), as ``Batch.embed_fields`` holds them.

    Returns:
        One ``PlannedArticle`` per article, in order (repeats of an id are kept: ``apply`` collapses them).
    """
    out = []
    for article in articles:
        passages, dropped = split_article(article)
        hashes = [text_hash(p.text) for p in passages]
        fields = article_fields(article.title, article.metadata, embed_fields)
        out.append(PlannedArticle(article, article.content_hash(), passages, dropped, hashes, fields))
    return out


def apply(
    writer: IndexWriter,
    batch: Batch,
    planned: Sequence[PlannedArticle],
    vectors: Mapping[str, bytes],
    report: IngestReport | None = None,
    seen: set[str] | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Write planned articles into an open batch: the one-writer step of an ingest.

    One SQLite query finds the live version of every id in ``planned``; an article whose content hash
    equals it is left alone (``unchanged``), a changed one replaces it (``updated``), a new id is
    ``added``. Within ``planned`` the last record of an id wins and the earlier ones count as
    ``repeats``; ``seen`` (ids already applied by earlier calls of the same run) extends that across
    calls: a later record of a seen id replaces the version that call wrote. Rows are committed to the
    catalog (invisible to readers until ``batch.commit()``).

    Args:
        writer: The index writer (holds the lock).
        batch: The open batch (``writer.begin(...)``).
        planned: From :func:`plan`, with the batch's ``embed_fields``.
        vectors: float32 vector bytes by text hash (``dimension * 4`` bytes each); hashes missing here
            are read from the writer's embedding cache, a slice at a time.
        report: Counts to add to (a new report when None).
        seen: Ids applied earlier in this run (updated in place).
        progress: ``progress(event, **info)`` callback.

    Returns:
        ``report``. Raises ``KeyError`` if a vector is neither in ``vectors`` nor cached.
    """
    report = report if report is not None else IngestReport()
    seen = seen if seen is not None else set()
    progress = progress or (lambda *a, **k: None)
    last = {item.article.article_id: item for item in planned}  # the last record of an id wins
    report.repeats += len(planned) - len(last)
    current = writer.catalog.current_articles(list(last), batch.gen)
    w = writer
    dim = w.manifest.dimension or w.embedder.dimension
    for article_id, item in last.items():
        live = current.get(article_id)
        again = article_id in seen
        report.repeats += again
        seen.add(article_id)
        if live and live[1] == item.content_hash:
            report.unchanged += not again
            progress("articles", n=1)
            continue
        if live:
            batch.remove_passages(w.catalog.retire_article(live[0], batch.gen))
        if not again:
            if live:
                report.updated += 1
            else:
                report.added += 1
        a = item.article
        pids = w.catalog.add_article(
            a, item.content_hash, item.passages, item.dropped, item.hashes, batch.gen
        )
        context = context_text(item.fields, batch.embed_fields)
        step = 2048  # bounded memory for a huge article: documents and vectors a slice at a time
        for i in range(0, len(pids), step):
            ids, hashes = pids[i : i + step], item.hashes[i : i + step]
            docs = [
                passage_doc(pid, batch.gen, p, a, context)
                for pid, p in zip(ids, item.passages[i : i + step], strict=True)
            ]
            matrix = vectors_for(w, vectors, hashes, dim)
            batch.add_passages(ids, docs, matrix)
            if item.features is not None:  # claim features of the slice, check-worthiness from its vectors
                feats = item.features[i : i + step]
                if checkworthy_applies(w.embedder.name):
                    score_checkworthy(feats, [p.text for p in item.passages[i : i + step]], matrix)
                w.catalog.add_features(ids, feats)
        if pids and item.fields:
            field_vectors = vectors_for(w, vectors, [h for _, _, h in item.fields], dim)
            batch.add_field_vectors(pids[0], [no for no, _, _ in item.fields], field_vectors)
        report.passages += len(pids)
        report.dropped += len(item.dropped)
        progress("articles", n=1)
        progress("passages", n=len(pids))
    w.catalog.commit()
    checkpoint("catalog-chunk")
    return report


def ingest(
    index_dir: Path,
    paths: Sequence[str | Path],
    fields: FieldMap = FieldMap(),
    source: str | None = None,
    model: str | None = None,
    strict: bool = False,
    wait: bool = True,
    progress: Progress | None = None,
    chunk: int = 512,
    articles: Iterable[Article | Problem] | None = None,
    embed_fields: Sequence[str] = (),
    commit_articles: int = COMMIT_ARTICLES,
    commit_seconds: float = COMMIT_SECONDS,
    extract: bool | None = None,
) -> IngestReport:
    """Ingest files (or already-read ``articles``) into the index at ``index_dir``.

    ``embed_fields`` names article fields (``title`` or metadata keys such as a subtitle) that are
    embedded too: a semantic match on one scores the article's first passage, and their text (but
    the title's, which has its own field) is keyword-searchable as ``context``.

    Bad files and records are reported and skipped; the rest goes in. One article per id: when an id
    comes again in the run, the last record wins (``report.repeats``). A run of more than
    ``commit_articles`` articles or ``commit_seconds`` seconds commits a generation at each such
    interval (each commit atomic; a kill loses at most the interval in progress); an unchanged
    re-ingest commits nothing. With ``strict`` the run commits once, at the end: the first bad record
    aborts it and nothing changes. With ``extract`` (None: ``index.extraction.DEFAULT``, on) each window's passages go through
    the claim-intelligence stage (``index.extraction``) in a thread beside their embedding, and the
    features are stored with the passages; ``extract=False`` skips it (``claims reindex`` adds them).

    Raises:
        InputFormatError: with ``strict``, on the first bad record.
        ClaimsError: nothing could be ingested at all (the index is left as it was).
    """
    progress = progress or (lambda *a, **k: None)
    report = IngestReport()
    t0 = time.perf_counter()
    stream = articles if articles is not None else _read(paths, fields, source, progress)
    command = "ingest " + " ".join(str(p) for p in paths)
    with IndexWriter(
        index_dir, model=model, wait=wait, on_wait=lambda m: progress("wait", message=m)
    ) as writer:
        run = _Run(writer, command, embed_fields, report, progress, chunk)
        run.beside = Beside() if extraction.enabled(extract) else None
        # --strict promises all or nothing: one commit at the end.
        run.every = (commit_articles, commit_seconds) if not strict else (float("inf"), float("inf"))
        try:
            for item in stream:
                if isinstance(item, Problem):
                    run.problem(item, strict)
                else:
                    run.offer(item)
            run.finish(paths, t0)
        except BaseException:
            run.batch.abort()
            raise
        finally:
            if run.beside is not None:
                run.beside.close()
    return report


def _read(
    paths: Sequence[str | Path], fields: FieldMap, source: str | None, progress: Progress
) -> Iterator[Article | Problem]:
    """``read_sources`` with a ``file`` progress event after each file (counts and bytes, for an ETA)."""
    files = list(iter_files(paths))
    sizes = [0 if isinstance(f, Problem) else _size(f) for f in files]
    total, done = sum(sizes), 0
    for k, (item, size) in enumerate(zip(files, sizes, strict=True), 1):
        if isinstance(item, Problem):
            yield item
        else:
            yield from read_file(item, fields, source)
        done += size
        progress("file", done=k, total=len(files), bytes_done=done, bytes_total=total)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


class _Run(RunBase):
    """One ingest run: windows of articles -> unchanged check -> plan -> embed -> apply -> periodic commits."""

    def __init__(self, writer: IndexWriter, command: str, embed_fields, report, progress, chunk: int):
        super().__init__(writer, command, embed_fields, report, progress, chunk)
        self.pending: list[PlannedArticle] = []  # checked and planned, waiting for vectors
        self.pending_ids: set[str] = set()
        self.need: dict[str, str] = {}  # text hash -> text, for the pending articles
        self.beside: Beside | None = None

    def offer(self, article: Article) -> None:
        if self._windowed(article.article_id, article):
            self._check()

    def _check(self) -> None:
        """The batched unchanged check of the window (one query), then plan what changed."""
        if not self.window:
            return
        current = self.w.catalog.current_articles(list(self.window), self.batch.gen)
        changed = [
            article
            for article_id, article in self.window.items()
            if not self._unchanged(
                article_id, current.get(article_id), article.content_hash(), article_id in self.pending_ids
            )
        ]
        self.window.clear()
        for item in plan(changed, self.batch.embed_fields):
            self.pending.append(item)
            self.pending_ids.add(item.article.article_id)
            self.need.update(item.texts())
        if len(self.need) >= self.chunk:
            self._apply()

    def _apply(self) -> None:
        if not self.pending:
            return
        keep = len(self.need) <= SPILL * self.chunk
        on_chunk = None if keep else lambda done, total: self.progress("embedding", done=done, total=total)
        extracting = None
        if self.beside is not None:  # claim features in a thread while the window is embedded
            extracting = self.beside.submit(
                [(i.passages, i.article.text, i.article.date) for i in self.pending]
            )
        vectors, embedded = embed_cached(self.w, self.need, self.chunk, keep=keep, on_chunk=on_chunk)
        if extracting is not None:
            for item, feats in zip(self.pending, extracting.result(), strict=True):
                item.features = feats
        self.report.embedded += embedded
        self.report.cached_vectors += len(self.need) - embedded
        apply(self.w, self.batch, self.pending, vectors, self.report, self.seen, self.progress)
        n = len(self.pending)
        self.pending.clear()
        self.pending_ids.clear()
        self.need.clear()
        self._applied(n)

    def flush(self) -> None:
        self._check()
        self._apply()
