"""The FAISS vector store's on-disk format: one generation's file, its tombstones, load and inspect.

Vectors are L2-normalised float32 in an ``IndexIDMap2`` keyed by vector id (``index.ids``: a
passage id, or an article field's id), inner product (cosine). Exact (``IndexFlatIP``) while small;
IVF (``IndexIVFFlat``) past a measured size threshold (``index.vectors``; HNSW stores of older
versions are still read). Approximate stores keep removed ids as tombstones, stored beside the
index in ``<file>.tomb.npy`` and excluded at search time, until a rebuild.

``index.vectors`` writes this format; ``search.dense`` searches it.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np

from index.errors import IndexCorruptError


def tombstone_path(path: Path) -> Path:
    """The tombstone file beside the store file ``path`` (int64 ids, ``numpy.save`` format)."""
    return Path(str(path) + ".tomb.npy")


class VectorStore:
    """One generation of the vector store: a FAISS ``IndexIDMap2`` and its tombstones (int64 ids)."""

    def __init__(self, index, tombstones: np.ndarray | None = None):
        import faiss

        self.faiss = faiss
        self.index = index
        self.tombstones = tombstones if tombstones is not None else np.zeros(0, dtype=np.int64)

    @classmethod
    def empty(cls, dimension: int):
        """An empty exact store of ``dimension``-d vectors."""
        import faiss

        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dimension)))

    @classmethod
    def load(cls, path: Path, fh: BinaryIO | None = None, tomb_fh: BinaryIO | None = None):
        """Load the store at ``path``, or from ``fh`` (and ``tomb_fh``), handles opened on it earlier: a
        reader opens its generation's files when it opens, so they stay readable after a writer's
        next commit removes them.

        Raises:
            IndexCorruptError: the file is unreadable (names ``claims repair``).
        """
        import faiss

        path = Path(path)
        try:
            if fh is not None:
                fh.seek(0)
                index = faiss.read_index(faiss.PyCallbackIOReader(fh.read))
                tomb = None
                if tomb_fh is not None:
                    tomb_fh.seek(0)
                    tomb = np.load(tomb_fh)
            else:
                index = faiss.read_index(str(path))
                tomb_file = tombstone_path(path)
                tomb = np.load(tomb_file) if tomb_file.exists() else None
        except Exception as e:  # noqa: BLE001 - FAISS raises RuntimeError for any damage
            raise IndexCorruptError(
                f"vector store {path} is unreadable ({str(e).splitlines()[0][:80]}): run `claims repair`"
            ) from None
        return cls(index, tomb)

    @property
    def kind(self) -> str:
        """``flat`` (exact), ``ivf`` or ``hnsw`` (read only: stores of older versions)."""
        inner = self.faiss.downcast_index(self.index.index)
        if isinstance(inner, self.faiss.IndexHNSW):
            return "hnsw"
        return "ivf" if isinstance(inner, self.faiss.IndexIVF) else "flat"

    @property
    def nlist(self) -> int:
        """IVF list count (0 for other kinds)."""
        return int(self.faiss.downcast_index(self.index.index).nlist) if self.kind == "ivf" else 0

    @property
    def ntotal(self) -> int:
        """Vectors stored, tombstones included."""
        return int(self.index.ntotal)

    def __len__(self) -> int:
        return self.ntotal - len(self.tombstones)

    def ids(self) -> np.ndarray:
        """The live vector ids (int64), tombstones left out."""
        ids = self.faiss.vector_to_array(self.index.id_map).astype(np.int64)
        if len(self.tombstones):
            ids = ids[~np.isin(ids, self.tombstones)]
        return ids

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of ``ids``, shape ``(len(ids), d)`` float32."""
        return self.index.reconstruct_batch(np.asarray(ids, dtype=np.int64))
