"""Write side of the impact arrays: each Whoosh segment's postings, copied into numpy.

Whoosh scores postings in pure Python (about 1 us each), so a bag-of-words query over common
words at 1M passages walks ~0.5M postings and takes a second or more. ``search.impacts`` computes
exactly Whoosh's BM25F over these arrays instead (a few ``numpy`` passes).

Layout: ``index.impact_format``.

The arrays are derived data: written after the Whoosh commit, each folder renamed into place when
complete. A segment without its folder (a crash before the rename, an index from an older version)
is searched by Whoosh itself, with the same ranking; ``claims repair`` and every later commit fill
it in.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from index.faults import checkpoint
from index.impact_format import FIELDS, FORMAT, IMPACT_DIR, NO_DATE, is_current


def sync_impacts(ix) -> int:
    """Write the arrays of every segment of ``ix`` that has none and remove those of merged-away
    segments. Returns how many segments were written. Idempotent; safe to call after any commit."""
    root = Path(ix.storage.folder) / IMPACT_DIR
    written = 0
    with ix.reader() as reader:
        live = set()
        leaves = reader.leaf_readers() if reader.doc_count_all() else []
        for leaf, _ in leaves:
            seg_id = leaf.segment().segment_id()
            live.add(seg_id)
            dest = root / seg_id
            if is_current(dest):
                continue
            write_segment(leaf, ix.schema, dest)
            written += 1
    if root.exists():
        for child in root.iterdir():
            if child.name not in live:
                shutil.rmtree(child, ignore_errors=True)
    return written


def write_segment(reader, schema, dest: Path) -> None:
    """Write the arrays of one segment reader into ``dest`` (via ``dest.tmp`` and a rename)."""
    from whoosh.util.times import datetime_to_long

    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    n = reader.doc_count_all()
    for field in FIELDS:
        keys, offsets, docs, weights = _field_postings(reader, field)
        np.save(tmp / f"{field}.keys.npy", keys)
        np.save(tmp / f"{field}.offsets.npy", offsets)
        np.save(tmp / f"{field}.docs.npy", docs)
        np.save(tmp / f"{field}.weights.npy", weights)
        lengths = np.fromiter((reader.doc_field_length(d, field, 1) for d in range(n)), np.float32, n)
        np.save(tmp / f"{field}.lengths.npy", lengths)

    col = reader.column_reader("pid") if reader.has_column("pid") else None
    pids = (
        np.fromiter((col[d] for d in range(n)), np.int64, n) if col is not None else np.full(n, -1, np.int64)
    )
    np.save(tmp / "pids.npy", pids)

    date = np.full(n, NO_DATE, np.int64)
    if "date" in reader.indexed_field_names():
        fobj = schema["date"]
        for tb in fobj.sortable_terms(reader, "date"):
            docs = np.fromiter(reader.postings("date", tb).all_ids(), np.int64)
            date[docs] = datetime_to_long(fobj.from_bytes(tb))
    np.save(tmp / "date.npy", date)

    source = np.full(n, -1, np.int32)
    sources: list[str] = []
    if "source_id" in reader.indexed_field_names():
        for tb in reader.lexicon("source_id"):
            docs = np.fromiter(reader.postings("source_id", tb).all_ids(), np.int64)
            source[docs] = len(sources)
            sources.append(tb.decode("utf-8"))
    np.save(tmp / "source.npy", source)

    meta = {"format": FORMAT, "doc_count": n, "fields": list(FIELDS), "sources": sources}
    (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    checkpoint("impacts-before-rename")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)


def _field_postings(reader, field: str):
    """``(keys, offsets, docs, weights)`` of every term of ``field``, terms ordered by key."""
    keys: list[int] = []
    doc_parts: list[np.ndarray] = []
    weight_parts: list[np.ndarray] = []
    if field in reader.indexed_field_names():
        for tb, ti in reader.iter_field(field):
            key = getattr(ti, "_offset", None)
            if key is None:  # inlined postings (a codec setting we never use): Whoosh answers those
                continue
            docs, weights = _decode(reader.postings(field, tb))
            keys.append(key)
            doc_parts.append(docs)
            weight_parts.append(weights)
    order = np.argsort(np.asarray(keys, np.int64), kind="stable")
    sizes = np.asarray([len(doc_parts[i]) for i in order], np.int64)
    offsets = np.zeros(len(order) + 1, np.int64)
    np.cumsum(sizes, out=offsets[1:])
    docs = np.concatenate([doc_parts[i] for i in order]) if keys else np.zeros(0, np.int32)
    weights = np.concatenate([weight_parts[i] for i in order]) if keys else np.zeros(0, np.float32)
    return np.asarray(keys, np.int64)[order], offsets, docs.astype(np.int32), weights.astype(np.float32)


def _decode(m) -> tuple[np.ndarray, np.ndarray]:
    """All postings of a matcher as ``(docnums, weights)``: block by block for Whoosh's W3 codec
    (0.8 us a posting), posting by posting through the public matcher API otherwise."""
    if all(hasattr(m, a) for a in ("_read_ids", "_read_weights", "_goto", "_lastblock", "_nextoffset")):
        ids: list = []
        weights: list = []
        while m.is_active():
            m._read_ids()
            m._read_weights()
            ids.extend(m._ids)
            weights.extend(m._weights)
            if m._lastblock:
                break
            m._goto(m._nextoffset)
        return np.asarray(ids, np.int32), np.asarray(weights, np.float32)
    ids, weights = [], []
    while m.is_active():
        ids.append(m.id())
        weights.append(m.weight())
        m.next()
    return np.asarray(ids, np.int32), np.asarray(weights, np.float32)
