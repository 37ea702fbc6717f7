"""Batches that are not new articles: ``delete`` (retire articles) and ``reindex`` (rebuild the Whoosh
and FAISS stores from the catalog alone)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from index import extraction
from index.extraction import Beside, checkworthy_applies, score_checkworthy
from index.lexical import passage_doc
from index.records import Article, Passage
from index.vectorcache import _add_field_vectors, article_fields, as_matrix, context_text, embed_cached
from index.writer import Batch, IndexWriter


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
    progress: Callable[..., None] | None = None,
    embed_fields: Sequence[str] = (),
    extract: bool | None = None,
) -> dict:
    """Rebuild the Whoosh and FAISS stores from the catalog alone (cached embeddings; new ones only
    when ``model`` changes or ``embed_fields`` adds article fields), into fresh files that the new
    manifest switches to atomically. With ``extract`` (None: ``index.extraction.DEFAULT``, on) every passage's claim features are extracted
    again (``index.extraction``, beside the embedding) and replace the stored ones: an index ingested
    with ``--no-extract``, or by an older version, gains them."""
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
            n, embedded = _rebuild(writer, batch, progress, extract=extraction.enabled(extract))
            batch.commit({"reindexed": n})
        except BaseException:
            batch.abort()
            raise
    return {"passages": n, "embedded": embedded, "seconds": round(time.perf_counter() - t0, 3)}


def _rebuild(
    writer: IndexWriter,
    batch: Batch,
    progress: Callable[..., None],
    chunk: int = 2048,
    extract: bool | None = None,
) -> tuple[int, int]:
    dim = writer.embedder.dimension if writer.manifest.dimension == 0 else writer.manifest.dimension
    names = batch.embed_fields
    n = embedded = 0
    rows: list[dict] = []

    beside = Beside() if extract else None
    scored = extract and checkworthy_applies(writer.embedder.name)

    def flush() -> None:
        nonlocal n, embedded
        extracting = beside.submit(_articles(writer, rows)) if beside is not None else None
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
        pids, matrix = [r["passage_id"] for r in rows], as_matrix(cached, [r["text_hash"] for r in rows], dim)
        batch.add_passages(pids, docs, matrix)
        if extracting is not None:
            feats = [f for per_article in extracting.result() for f in per_article]
            if scored:
                score_checkworthy(feats, [r["text"] for r in rows], matrix)
            writer.catalog.add_features(pids, feats)
            writer.catalog.commit()
        for pid, fields in firsts:
            _add_field_vectors(batch, pid, fields, cached, dim)
        n += len(rows)
        progress("passages", n=len(rows))
        rows.clear()

    try:
        for row in writer.catalog.iter_passages():
            # a chunk ends at an article's end: extraction reads an article's passages together
            if len(rows) >= chunk and row["article_id"] != rows[-1]["article_id"]:
                flush()
            rows.append(row)
        if rows:
            flush()
    finally:
        if beside is not None:
            beside.close()
    return n, embedded


def _articles(writer: IndexWriter, rows: list[dict]) -> list[tuple[list[Passage], str, object]]:
    """``(passages, article text, date)`` per article of ``rows`` (each article's rows are contiguous)."""
    out: list[tuple[list[Passage], str, object]] = []
    last = None
    for r in rows:
        if r["article_id"] != last:
            last = r["article_id"]
            out.append(([], writer.catalog.article_text(last), r["date"]))
        out[-1][0].append(Passage(r["start"], r["end"], r["text"]))
    return out


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
