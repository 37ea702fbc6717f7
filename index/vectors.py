"""Write side of the FAISS store: add, remove, switch to HNSW past a threshold, save atomically.

Each committed generation has its own file ``vectors.<gen>.faiss`` (named in the manifest), so a
batch never touches the file readers are using; the old file is removed after the manifest lands.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from index.manifest import atomic_write_bytes
from search.dense import DenseIndex, tombstone_path

# Exact search up to this many vectors; HNSW beyond. At 1M exact search is 60 ms and hybrid is no slower
# over it, while HNSW (M=32, efSearch 512) reached only 0.83 recall@10 (bench/query_semantic.py).
HNSW_THRESHOLD = int(os.environ.get("CLAIMS_HNSW_THRESHOLD", "1000000"))
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
# Rebuild an HNSW store once this fraction of its vectors are tombstones.
TOMBSTONE_REBUILD = 0.2


def vectors_file(gen: int) -> str:
    return f"vectors.{gen}.faiss"


class VectorWriter:
    """A mutable copy of one generation's vectors."""

    def __init__(self, store: DenseIndex):
        self.store = store

    @classmethod
    def open(cls, path: Path | None, dimension: int) -> VectorWriter:
        return cls(DenseIndex.load(path) if path else DenseIndex.empty(dimension))

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self.store.index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64)
            )

    def remove(self, ids: list[int]) -> None:
        if not ids:
            return
        ids_arr = np.asarray(ids, dtype=np.int64)
        if self.store.kind == "flat":
            self.store.index.remove_ids(ids_arr)
        else:
            present = ids_arr[np.isin(ids_arr, self.store.faiss.vector_to_array(self.store.index.id_map))]
            self.store.tombstones = np.union1d(self.store.tombstones, present).astype(np.int64)

    def maybe_restructure(self) -> None:
        """Switch to HNSW past the threshold; rebuild HNSW when tombstones pile up."""
        s = self.store
        live = len(s)
        too_many_dead = s.kind == "hnsw" and len(s.tombstones) > TOMBSTONE_REBUILD * max(s.ntotal, 1)
        if (s.kind == "flat" and live >= HNSW_THRESHOLD) or too_many_dead:
            self.rebuild(kind="hnsw" if live >= HNSW_THRESHOLD else "flat")

    def rebuild(self, kind: str) -> None:
        faiss = self.store.faiss
        ids = self.store.ids()
        vecs = self.store.reconstruct(ids) if len(ids) else np.zeros((0, self.store.index.d), np.float32)
        d = self.store.index.d
        if kind == "hnsw":
            inner = faiss.IndexHNSWFlat(d, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        else:
            inner = faiss.IndexFlatIP(d)
        index = faiss.IndexIDMap2(inner)
        if len(ids):
            index.add_with_ids(vecs, ids)
        self.store = DenseIndex(index)

    def save(self, path: Path) -> str:
        """Write atomically; returns the file's sha256 (recorded in the manifest)."""
        faiss = self.store.faiss
        data = faiss.serialize_index(self.store.index).tobytes()
        atomic_write_bytes(path, data, fault="vectors-before-rename")
        tomb = tombstone_path(path)
        if len(self.store.tombstones):
            import io

            buf = io.BytesIO()
            np.save(buf, self.store.tombstones)
            atomic_write_bytes(tomb, buf.getvalue())
        return hashlib.sha256(data).hexdigest()
