"""Read side of the FAISS vector store: load a generation's file, search with filters.

Vectors are L2-normalised float32 in an ``IndexIDMap2`` keyed by passage id, inner product
(cosine). Exact (``IndexFlatIP``) while small; IVF (``IndexIVFFlat``) past a measured size threshold
(HNSW stores of older versions are still read). Approximate stores keep removed ids as tombstones,
stored beside the index and excluded at search time, until a rebuild.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import BinaryIO

import numpy as np

from index.errors import IndexCorruptError

# Below this many allowed ids a filtered query is answered exactly over just those vectors: an
# ANN graph walk with a very selective filter can come back with fewer than k results.
EXACT_FILTER_LIMIT = 50_000


# Article fields embedded with ``--embed-field`` (title, a subtitle...) are stored in the same FAISS
# index as passages, under the id of the article's first passage with the field's number (1, 2...)
# in the high bits; a match on one scores that first passage.
FIELD_SHIFT = 48
PID_MASK = (1 << FIELD_SHIFT) - 1


def field_vector_id(first_pid: int, field_no: int) -> int:
    return int(first_pid) | (int(field_no) << FIELD_SHIFT)


# HNSW search breadth: recall@10 against exact search on real tweet queries was 0.90 at 128 and 0.99
# at 512 on 100k vectors (~1.5 ms a query), but 0.83 at 1M (bench/query_semantic.py).
EF_SEARCH = 512
NPROBE_DIVISOR = 16
NPROBE_MIN = 256


def single_query_threads() -> None:
    """One FAISS thread for one query: OpenMP's start-up costs more than the search itself on a
    small machine (one thread is 2.5-3.5x faster for one query even when idle, bench/query_semantic.py)."""
    import faiss

    faiss.omp_set_num_threads(1)


def tombstone_path(path: Path) -> Path:
    return Path(str(path) + ".tomb.npy")


class DenseIndex:
    """One committed generation of the vector store."""

    def __init__(self, index, tombstones: np.ndarray | None = None, ef_search: int = EF_SEARCH):
        import faiss

        self.faiss = faiss
        self.index = index
        self.tombstones = tombstones if tombstones is not None else np.zeros(0, dtype=np.int64)
        self.ef_search = ef_search
        self.probe: int | None = None  # IVF lists per query; None: ``nprobe``'s default

    @classmethod
    def empty(cls, dimension: int) -> DenseIndex:
        import faiss

        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dimension)))

    @classmethod
    def load(cls, path: Path, fh: BinaryIO | None = None, tomb_fh: BinaryIO | None = None) -> DenseIndex:
        """Load the store at ``path``, or from ``fh`` (and ``tomb_fh``), handles opened on it earlier: a
        reader opens its generation's files when it opens, so they stay readable after a writer's
        next commit removes them."""
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
        inner = self.faiss.downcast_index(self.index.index)
        if isinstance(inner, self.faiss.IndexHNSW):
            return "hnsw"
        return "ivf" if isinstance(inner, self.faiss.IndexIVF) else "flat"

    @property
    def nlist(self) -> int:
        return int(self.faiss.downcast_index(self.index.index).nlist) if self.kind == "ivf" else 0

    @property
    def nprobe(self) -> int:
        """IVF lists searched per query: a sixteenth of them, at least 256. Recall@10 against exact
        search on 100 real tweet queries (bench/query_semantic.py): 1M vectors, 4096 lists: 0.957 at
        128, 0.983 at 256 (4.2 ms); 100k vectors, 1024 lists: 0.93 at 128, 0.98 at 256 (1.9 ms)."""
        return min(self.nlist, max(NPROBE_MIN, self.nlist // NPROBE_DIVISOR))

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def __len__(self) -> int:
        return self.ntotal - len(self.tombstones)

    def ids(self) -> np.ndarray:
        ids = self.faiss.vector_to_array(self.index.id_map).astype(np.int64)
        if len(self.tombstones):
            ids = ids[~np.isin(ids, self.tombstones)]
        return ids

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        return self.index.reconstruct_batch(np.asarray(ids, dtype=np.int64))

    def search(
        self, query: np.ndarray, k: int, allowed: Collection[int] | None = None
    ) -> list[tuple[int, float]]:
        """Top ``k`` ``(passage_id, cosine)``; ``allowed`` restricts the search to those ids (exactly)."""
        faiss = self.faiss
        if k <= 0 or self.ntotal == 0:
            return []
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        if allowed is not None:
            ids = np.fromiter(allowed, dtype=np.int64, count=len(allowed))
            if len(self.tombstones):
                ids = ids[~np.isin(ids, self.tombstones)]
            if len(ids) == 0:
                return []
            if self.kind != "flat" and len(ids) <= EXACT_FILTER_LIMIT:
                return self._exact_subset(q[0], ids, k)
        sel = None
        if allowed is not None:
            sel = faiss.IDSelectorBatch(ids)
        if len(self.tombstones):
            not_dead = faiss.IDSelectorNot(faiss.IDSelectorBatch(self.tombstones))
            sel = not_dead if sel is None else faiss.IDSelectorAnd(sel, not_dead)
        if self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, k))
            if sel is not None:
                params.sel = sel
        elif self.kind == "ivf":
            params = faiss.SearchParametersIVF(nprobe=self.probe or self.nprobe)
            if sel is not None:
                params.sel = sel
        else:
            params = faiss.SearchParameters(sel=sel) if sel is not None else None
        k = min(k, self.ntotal)
        scores, labels = self.index.search(q, k, params=params)
        return [(int(i), float(s)) for i, s in zip(labels[0], scores[0], strict=True) if i != -1]

    def _exact_subset(self, q: np.ndarray, ids: np.ndarray, k: int) -> list[tuple[int, float]]:
        known = ids[np.isin(ids, self.faiss.vector_to_array(self.index.id_map))]
        if len(known) == 0:
            return []
        scores = self.index.reconstruct_batch(known) @ q
        order = np.lexsort((known, -scores))[:k]
        return [(int(known[j]), float(scores[j])) for j in order]
