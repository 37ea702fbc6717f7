"""What an ingest embeds and the embedding cache: passage and article-field texts -> vectors by text hash.

Shared by ``index.ingest`` (new articles), ``index.ray_ingest``, ``index.rebuild`` (``claims reindex``)
and ``index.tuned`` (``claims tune``'s re-embedding): a text is embedded once per model (same text
hash, same model: read from the index's embedding cache, ``index.embcache``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from index.records import text_hash

if TYPE_CHECKING:  # annotations only: readers (search/) use ``catalog_vectors`` without the writer
    from index.catalog_reader import CatalogReader
    from index.embcache import EmbeddingCache
    from index.writer import Batch, IndexWriter

SPILL = 8  # a call needing more than SPILL * chunk vectors reads the cache a slice at a time


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


def embed_cached(
    writer: IndexWriter,
    need: Mapping[str, str],
    chunk: int = 512,
    keep: bool = True,
    on_chunk: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, bytes], int]:
    """Vectors for ``{text hash: text}``: from the embedding cache, embedding (and caching) only the rest.

    Texts are embedded ``chunk`` at a time and each chunk is cached (committed) at once, so a kill
    never costs an embedding twice. With ``keep=False`` nothing is returned in memory (the caller reads
    the vectors back from the cache a slice at a time: a huge article in bounded memory).
    ``on_chunk(done, total)`` is called after each chunk (texts looked up or embedded so far, of all).

    Returns:
        ``({text hash: float32 bytes}`` (empty when not ``keep``), number of texts embedded``)``.
    """
    model = writer.embedder.name
    hashes = list(need)
    out: dict[str, bytes] = {}
    embedded = 0
    step = max(chunk, 1) * SPILL
    for i in range(0, len(hashes), step):
        part = hashes[i : i + step]
        cached = writer.cache.get(model, part)
        missing = [h for h in part if h not in cached]
        for j in range(0, len(missing), max(chunk, 1)):
            batch = missing[j : j + max(chunk, 1)]
            vecs = writer.embedder.encode([need[h] for h in batch])
            fresh = [(h, v.tobytes()) for h, v in zip(batch, vecs, strict=True)]
            writer.cache.put(model, fresh)
            if keep:
                cached.update(fresh)
        embedded += len(missing)
        if keep:
            out.update(cached)
        if on_chunk:
            on_chunk(min(i + step, len(hashes)), len(hashes))
    return out, embedded


def as_matrix(cached: dict[str, bytes], hashes: Sequence[str], dim: int) -> np.ndarray:
    return np.frombuffer(b"".join(cached[h] for h in hashes), dtype=np.float32).reshape(-1, dim)


def vectors_for(
    writer: IndexWriter, vectors: Mapping[str, bytes], hashes: Sequence[str], dim: int
) -> np.ndarray:
    """The ``(len(hashes), dim)`` float32 matrix of ``hashes``: from ``vectors``, else from the cache."""
    missing = [h for h in hashes if h not in vectors]
    if missing:
        vectors = {
            **writer.cache.get(writer.embedder.name, missing),
            **{h: vectors[h] for h in hashes if h in vectors},
        }
    return as_matrix(vectors, hashes, dim)


def catalog_vectors(
    catalog: CatalogReader,
    cache: EmbeddingCache,
    model: str,
    names: Sequence[str],
    dim: int,
    embed: Callable[[dict[str, str]], dict[str, bytes]] | None = None,
    chunk: int = 2048,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Every visible passage's vector and its article's field vectors (``names``: the manifest's
    ``embed_fields``) for ``model``, from the embedding cache ``cache``, as ``(int64 ids, (n, dim) float32)``
    chunks in passage id order; field vectors carry ``index.ids.field_vector_id`` ids, as in FAISS.

    ``embed({text hash: text}) -> {text hash: float32 bytes}`` supplies what the cache lacks (the
    writer passes ``embed_cached``, which caches what it embeds); without it a missing vector raises.

    Raises:
        ClaimsError: A vector missing from the cache and no ``embed`` (names ``claims reindex``).
    """
    from index.errors import ClaimsError
    from index.ids import field_vector_id

    rows: list[dict] = []

    def flush():
        need = {r["text_hash"]: r["text"] for r in rows}
        firsts = []
        for r in rows:
            if r["ordinal"] == 0:  # an article's field vectors live under its first passage's id
                fields = article_fields(r["title"], r["metadata"], names)
                firsts.append((r["passage_id"], fields))
                need.update((h, t) for _, t, h in fields)
        got = cache.get(model, list(need))
        missing = {h: t for h, t in need.items() if h not in got}
        if missing and embed is None:
            raise ClaimsError(
                f"{len(missing)} texts have no cached {model} vector: re-embed with `claims reindex --model ...`"
            )
        if missing:
            got.update(embed(missing))
        ids = [r["passage_id"] for r in rows]
        hashes = [r["text_hash"] for r in rows]
        for pid, fields in firsts:
            ids += [field_vector_id(pid, no) for no, _, _ in fields]
            hashes += [h for _, _, h in fields]
        return np.asarray(ids, dtype=np.int64), as_matrix(got, hashes, dim)

    for row in catalog.iter_passages():
        if len(rows) >= chunk and row["article_id"] != rows[-1]["article_id"]:
            yield flush()
            rows.clear()
        rows.append(row)
    if rows:
        yield flush()
