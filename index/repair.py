"""``claims repair``: rebuild the derived stores (Whoosh, FAISS, manifest) from the catalog alone.

Works when the manifest, the Whoosh folder or the FAISS file is damaged or missing; the catalog is
the source of truth and must be intact (its own damage is reported with what to do instead).
"""

from __future__ import annotations

import time
from pathlib import Path

from index.errors import IndexCorruptError
from index.manifest import CATALOG, MANIFEST, Manifest, read_manifest, write_manifest


def repair(index_dir: Path) -> dict:
    from index.ingest import reindex
    from index.writer import WriteLock

    d = Path(index_dir)
    if not (d / CATALOG).exists():
        raise IndexCorruptError(
            f"no catalog at {d / CATALOG}: nothing to rebuild from; re-ingest the sources into a new index"
        )
    t0 = time.perf_counter()
    lock = WriteLock(d)
    try:
        try:
            m = read_manifest(d)
        except IndexCorruptError:
            m = _manifest_from_catalog(d)
            write_manifest(d, m)
    finally:
        lock.release()
    r = reindex(d, model=None)
    return {
        "passages": r["passages"],
        "seconds": round(time.perf_counter() - t0, 3),
        "generation": m.generation,
    }


def _manifest_from_catalog(d: Path) -> Manifest:
    """A damaged manifest: recover the committed generation from the catalog's ingest log."""
    import sqlite3

    from index.embcache import open_cache

    db = sqlite3.connect(d / CATALOG)
    try:
        row = db.execute("SELECT max(gen) FROM batches WHERE status = 'committed'").fetchone()
        with open_cache(d, db) as cache:  # the model with the most cached vectors
            models = sorted(cache.models().items(), key=lambda kv: -kv[1])
        model = models[0] if models else None
    finally:
        db.close()
    (d / MANIFEST).unlink(missing_ok=True)
    gen = int(row[0] or 0)
    return Manifest(generation=gen, model=model[0] if model else "", lexical_dir="lexical", counts={})
