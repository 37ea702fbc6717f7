"""One ingest batch: sources -> articles -> passages -> vectors -> catalog + Whoosh + FAISS -> commit.

Each stage is a pure function over a batch of records (``read_sources``, ``split_article``,
``Embedder.encode``), so a Ray ``map_batches`` can run them on many nodes later; this module only
wires them to one ``IndexWriter``. Embedding is the bound (~100 passages/s on 2 cores): passages
are embedded in chunks of ``chunk`` texts (sentence-transformers sorts each call by length), and
what is already embedded (same text hash, same model) is never embedded again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from index.errors import ClaimsError, InputFormatError
from index.faults import checkpoint
from index.lexical import passage_doc
from index.passages import split_article
from index.records import Article, Passage, Problem, text_hash
from index.sources import FieldMap, read_sources
from index.writer import Batch, IndexWriter

Progress = Callable[..., None]  # progress(event, **info): "file", "articles", "passages", "problem", "wait"


@dataclass
class IngestReport:
    """The summary printed at the end of ``claims ingest``."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    deleted: int = 0
    passages: int = 0
    dropped: int = 0
    embedded: int = 0
    cached_vectors: int = 0
    seconds: float = 0.0
    generation: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ingested(self) -> int:
        return self.added + self.updated + self.unchanged

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Pending:
    article: Article
    content_hash: str
    passages: list
    dropped: list
    hashes: list[str]
    replaces: int | None  # aid of the version this one replaces
    fields: list[tuple[int, str, str]]  # embedded article fields: (field number, text, text hash)


class _Pipeline:
    """Accumulates articles until ``chunk`` passages need vectors, then writes them all."""

    def __init__(
        self, writer: IndexWriter, batch: Batch, report: IngestReport, progress: Progress, chunk: int
    ):
        self.w, self.batch, self.report, self.progress, self.chunk = writer, batch, report, progress, chunk
        self.pending: list[_Pending] = []
        self.need: dict[str, str] = {}  # text hash -> text, not yet embedded
        self.seen: set[str] = set()

    def offer(self, article: Article) -> None:
        chash = article.content_hash()
        current = self.w.catalog.current_article(article.article_id, self.batch.gen)
        if current and current[1] == chash:
            self.report.unchanged += 1
            self.progress("articles", n=1)
            return
        passages, dropped = split_article(article)
        hashes = [text_hash(p.text) for p in passages]
        fields = article_fields(article.title, article.metadata, self.batch.embed_fields)
        self.pending.append(
            _Pending(article, chash, passages, dropped, hashes, current[0] if current else None, fields)
        )
        for p, h in zip(passages, hashes, strict=True):
            self.need.setdefault(h, p.text)
        for _, text, h in fields:
            self.need.setdefault(h, text)
        if len(self.need) >= self.chunk:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        w, report = self.w, self.report
        cached, embedded = embed_cached(w, self.need)
        report.embedded += embedded
        report.cached_vectors += len(self.need) - embedded
        dim = w.manifest.dimension or w.embedder.dimension
        names = self.batch.embed_fields
        for item in self.pending:
            a = item.article
            if item.replaces is not None:
                self.batch.remove_passages(w.catalog.retire_article(item.replaces, self.batch.gen))
                report.updated += 1
            elif a.article_id in self.seen:
                report.updated += 1  # the same id twice in one run: the later record wins
            else:
                report.added += 1
            self.seen.add(a.article_id)
            pids = w.catalog.add_article(
                a, item.content_hash, item.passages, item.dropped, item.hashes, self.batch.gen
            )
            context = context_text(item.fields, names)
            docs = [
                passage_doc(pid, self.batch.gen, p, a, context)
                for pid, p in zip(pids, item.passages, strict=True)
            ]
            self.batch.add_passages(pids, docs, as_matrix(cached, item.hashes, dim))
            if pids:
                _add_field_vectors(self.batch, pids[0], item.fields, cached, dim)
            report.passages += len(pids)
            report.dropped += len(item.dropped)
            self.progress("articles", n=1)
            self.progress("passages", n=len(pids))
        w.catalog.commit()
        checkpoint("catalog-chunk")
        self.pending.clear()
        self.need.clear()


def article_fields(title: str, metadata: dict, names: Sequence[str]) -> list[tuple[int, str, str]]:
    """``(field number, text, text hash)`` of the article fields to embed (``--embed-field``): the title
    or metadata keys."""
    out = []
    for no, name in enumerate(names, 1):
        value = title if name == "title" else metadata.get(name)
        if isinstance(value, str) and value.strip():
            out.append((no, value.strip(), text_hash(value.strip())))
    return out


def _add_field_vectors(
    batch: Batch, first_pid: int, fields: list[tuple[int, str, str]], cached, dim: int
) -> None:
    if fields:
        vectors = as_matrix(cached, [h for _, _, h in fields], dim)
        batch.add_field_vectors(first_pid, [no for no, _, _ in fields], vectors)


def context_text(fields: Sequence[tuple], names: Sequence[str]) -> str:
    """The keyword-searchable ``context`` of a passage: its article's embedded fields except the title."""
    return "\n".join(f[1] for f in fields if names[f[0] - 1] != "title")


def embed_cached(writer: IndexWriter, need: dict[str, str]) -> tuple[dict[str, bytes], int]:
    """Vectors for ``{text hash: text}``: from the catalog's cache, embedding (and caching) only the rest."""
    model = writer.embedder.name
    cached = writer.catalog.vectors(model, need)
    missing = [h for h in need if h not in cached]
    if missing:
        vecs = writer.embedder.encode([need[h] for h in missing])
        fresh = {h: v.tobytes() for h, v in zip(missing, vecs, strict=True)}
        writer.catalog.put_vectors(model, list(fresh.items()))
        cached.update(fresh)
    return cached, len(missing)


def as_matrix(cached: dict[str, bytes], hashes: Sequence[str], dim: int) -> np.ndarray:
    return np.frombuffer(b"".join(cached[h] for h in hashes), dtype=np.float32).reshape(-1, dim)


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
) -> IngestReport:
    """Ingest files (or already-read ``articles``) into the index at ``index_dir`` as one batch.

    ``embed_fields`` names article fields (``title`` or metadata keys such as a subtitle) that are
    embedded too: a semantic match on one scores the article's first passage, and their text (but
    the title's, which has its own field) is keyword-searchable as ``context``.

    Bad files and records are reported and skipped; the rest goes in. With ``strict`` the first bad
    record aborts the batch and nothing changes.

    Raises:
        InputFormatError: with ``strict``, on the first bad record.
        ClaimsError: nothing could be ingested at all (the index is left as it was).
    """
    progress = progress or (lambda *a, **k: None)
    report = IngestReport()
    t0 = time.perf_counter()
    stream = articles if articles is not None else read_sources(paths, fields=fields, source=source)
    command = "ingest " + " ".join(str(p) for p in paths)
    with IndexWriter(
        index_dir, model=model, wait=wait, on_wait=lambda m: progress("wait", message=m)
    ) as writer:
        batch = writer.begin(command)
        batch.add_embed_fields(embed_fields)
        pipe = _Pipeline(writer, batch, report, progress, chunk)
        try:
            for item in stream:
                if isinstance(item, Problem):
                    writer.catalog.log_problem(batch.gen, item)
                    report.problems.append(("warning: " if not item.fatal else "") + str(item))
                    progress("problem", problem=item)
                    if item.fatal:
                        report.failed += 1
                        if strict:
                            raise InputFormatError(
                                item.origin, item.reason + " (--strict: nothing was ingested)"
                            )
                    continue
                pipe.offer(item)
            pipe.flush()
            if report.ingested == 0:
                raise ClaimsError(
                    f"nothing could be ingested from {', '.join(map(str, paths)) or 'the input'} "
                    f"({report.failed} bad input{'s' if report.failed != 1 else ''}): see the lines above"
                )
            report.seconds = round(time.perf_counter() - t0, 3)
            if report.added or report.updated:
                report.generation = batch.commit(report.to_dict()).generation
            else:  # everything unchanged: a true no-op, no new generation
                batch.abort()
                report.generation = writer.gen
        except BaseException:
            batch.abort()
            raise
    return report


def delete(index_dir: Path, article_ids: Sequence[str], wait: bool = True) -> tuple[int, list[str]]:
    """Remove articles (and their passages, from every store) as one batch. Returns (deleted, unknown ids)."""
    with IndexWriter(index_dir, wait=wait, create=False) as writer:
        batch = writer.begin("delete " + " ".join(article_ids))
        try:
            missing, n = [], 0
            for article_id in article_ids:
                current = writer.catalog.current_article(article_id, batch.gen)
                if current is None:
                    missing.append(article_id)
                    continue
                batch.remove_passages(writer.catalog.retire_article(current[0], batch.gen))
                n += 1
            writer.catalog.commit()
            if n:
                batch.commit({"deleted": n})
            else:
                batch.abort()
        except BaseException:
            batch.abort()
            raise
    return n, missing


def reindex(
    index_dir: Path,
    model: str | None = None,
    wait: bool = True,
    progress: Progress | None = None,
    embed_fields: Sequence[str] = (),
) -> dict:
    """Rebuild the Whoosh and FAISS stores from the catalog alone (cached embeddings; new ones only
    when ``model`` changes or ``embed_fields`` adds article fields), into fresh files that the new
    manifest switches to atomically."""
    progress = progress or (lambda *a, **k: None)
    t0 = time.perf_counter()
    with IndexWriter(index_dir, wait=wait, create=False, rebuild=True) as writer:
        if model is not None:
            from index.embed import Embedder

            writer.embedder = Embedder(model)
            writer.manifest.dimension = writer.embedder.dimension
        gen = writer.gen + 1
        batch = writer.begin("reindex", lexical_dir=f"lexical-{gen}")
        batch.add_embed_fields(embed_fields)
        try:
            n, embedded = _rebuild(writer, batch, progress)
            batch.commit({"reindexed": n})
        except BaseException:
            batch.abort()
            raise
    return {"passages": n, "embedded": embedded, "seconds": round(time.perf_counter() - t0, 3)}


def _rebuild(writer: IndexWriter, batch: Batch, progress: Progress, chunk: int = 2048) -> tuple[int, int]:
    dim = writer.embedder.dimension if writer.manifest.dimension == 0 else writer.manifest.dimension
    names = batch.embed_fields
    n = embedded = 0
    rows: list[dict] = []

    def flush() -> None:
        nonlocal n, embedded
        need = {r["text_hash"]: r["text"] for r in rows}
        firsts = []  # (first passage id, [(field number, text, hash)])
        for r in rows:
            fields = article_fields(r["title"], r["metadata"], names)
            r["context"] = context_text(fields, names)
            if r["ordinal"] == 0:  # an article's field vectors live under its first passage's id
                firsts.append((r["passage_id"], fields))
                need.update((h, t) for _, t, h in fields)
        cached, k = embed_cached(writer, need)
        embedded += k
        docs = [_doc_from_row(r) for r in rows]
        batch.add_passages(
            [r["passage_id"] for r in rows], docs, as_matrix(cached, [r["text_hash"] for r in rows], dim)
        )
        for pid, fields in firsts:
            _add_field_vectors(batch, pid, fields, cached, dim)
        n += len(rows)
        progress("passages", n=len(rows))
        rows.clear()

    for row in writer.catalog.iter_passages():
        rows.append(row)
        if len(rows) >= chunk:
            flush()
    if rows:
        flush()
    return n, embedded


def _doc_from_row(row: dict) -> dict:
    a = Article(
        article_id=row["article_id"],
        text="",
        title=row["title"],
        date=row["date"],
        source=row["source"],
        url=row["url"],
        metadata=row["metadata"],
    )
    passage = Passage(row["start"], row["end"], row["text"])
    return passage_doc(row["passage_id"], row["added_gen"], passage, a, row["context"])
