"""Write side of the FAISS store: add, remove, switch to IVF past a threshold, save atomically.

Each committed generation has its own file ``vectors.<gen>.faiss`` (named in the manifest), so a
batch never touches the file readers are using; the old file is removed after the manifest lands.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from index.manifest import atomic_write_bytes
from index.vector_store import VectorStore, tombstone_path

# Exact search up to this many vectors; an inverted-file index (IVF) beyond. At 1M vectors
# (bench/query_semantic.py): exact 54 ms a query; IVF with nlist 4096 and nprobe 256 4.2 ms at
# recall@10 0.983 against exact, built in 67 s; HNSW (M=32, efConstruction 80, built by the bench
# with ``--ann hnsw``) took 380 s to build and reached 0.83 at efSearch 512 (0.97 at 2048) on the
# same vectors. Exact at 200k: ~11 ms.
ANN_THRESHOLD = int(os.environ.get("CLAIMS_ANN_THRESHOLD", os.environ.get("CLAIMS_HNSW_THRESHOLD", "200000")))
# Rebuild an approximate store once this fraction of its vectors are tombstones.
TOMBSTONE_REBUILD = 0.2


def ivf_lists(n: int) -> int:
    """IVF list count for ``n`` vectors: the power of two nearest 4 * sqrt(n) (1M -> 4096)."""
    return max(64, 1 << round(np.log2(max(4 * np.sqrt(max(n, 1)), 1))))


def vectors_file(gen: int) -> str:
    return f"vectors.{gen}.faiss"


class VectorWriter:
    """A mutable copy of one generation's vectors (``store``: an ``index.vector_store.VectorStore``,
    or a subclass, kept through rebuilds)."""

    def __init__(self, store: VectorStore):
        self.store = store

    @classmethod
    def open(cls, path: Path | None, dimension: int) -> VectorWriter:
        return cls(VectorStore.load(path) if path else VectorStore.empty(dimension))

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
        """Switch to IVF past the threshold; rebuild an approximate store when tombstones pile up,
        and an IVF store when it has grown to want twice its lists (its centroids were trained on
        a quarter of the data or less)."""
        s = self.store
        live = len(s)
        approximate = s.kind != "flat"
        too_many_dead = approximate and len(s.tombstones) > TOMBSTONE_REBUILD * max(s.ntotal, 1)
        outgrown = s.kind == "ivf" and ivf_lists(live) >= 2 * s.nlist
        if (s.kind == "flat" and live >= ANN_THRESHOLD) or too_many_dead or outgrown:
            self.rebuild(kind="ivf" if live >= ANN_THRESHOLD else "flat")

    def rebuild(self, kind: str) -> None:
        """Rebuild the store as ``flat`` (exact) or ``ivf`` from its live vectors (tombstones dropped)."""
        if kind not in ("flat", "ivf"):
            raise ValueError(f"vector store kind {kind!r}: expected 'flat' or 'ivf'")
        faiss = self.store.faiss
        ids = self.store.ids()
        vecs = self.store.reconstruct(ids) if len(ids) else np.zeros((0, self.store.index.d), np.float32)
        d = self.store.index.d
        if kind == "ivf":
            nlist = max(1, min(ivf_lists(len(ids)), len(ids) // 39))  # k-means wants >= 39 points a list
            inner = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
            # 40 points per list is FAISS's recommended floor for k-means; a fixed seed keeps rebuilds
            # of the same vectors identical.
            sample = np.random.default_rng(0).choice(len(ids), min(len(ids), 40 * nlist), replace=False)
            inner.train(np.ascontiguousarray(vecs[np.sort(sample)]))
            inner.make_direct_map()  # reconstruct() by id: `similar --id`, rebuilds, exact filtering
        else:
            inner = faiss.IndexFlatIP(d)
        index = faiss.IndexIDMap2(inner)
        if len(ids):
            index.add_with_ids(vecs, ids)
        self.store = type(self.store)(index)

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
