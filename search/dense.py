"""Search over the FAISS vector store (its file format: ``index.vector_store``): top k by cosine,
with filters.

``DenseIndex`` adds the search to ``index.vector_store.VectorStore`` (load, kind, ids, tombstones).
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from index.vector_store import VectorStore

# Below this many allowed ids a filtered query is answered exactly over just those vectors: an
# ANN graph walk with a very selective filter can come back with fewer than k results.
EXACT_FILTER_LIMIT = 50_000

# HNSW search breadth: recall@10 against exact search on real tweet queries was 0.90 at 128 and 0.99
# at 512 on 100k vectors (~1.5 ms a query), but 0.83 at 1M (bench/query_semantic.py).
EF_SEARCH = 512
NPROBE_DIVISOR = 8
NPROBE_MIN = 256


def single_query_threads() -> None:
    """One FAISS thread for one query: OpenMP's start-up costs more than the search itself on a
    small machine (one thread is 2.5-3.5x faster for one query even when idle, bench/query_semantic.py)."""
    import faiss

    faiss.omp_set_num_threads(1)


class DenseIndex(VectorStore):
    """One committed generation of the vector store, searchable."""

    def __init__(self, index, tombstones: np.ndarray | None = None, ef_search: int = EF_SEARCH):
        super().__init__(index, tombstones)
        self.ef_search = ef_search
        self.probe: int | None = None  # IVF lists per query; None: ``nprobe``'s default

    @property
    def nprobe(self) -> int:
        """IVF lists searched per query: an eighth of them, at least 256. Recall@10 against exact
        search on 100 real tweet queries (bench/query_semantic.py): 1M vectors, 4096 lists: 0.96-0.983
        at 256 (two builds of the store: k-means differs), 1.00 at 512 (10 ms, one thread); 100k
        vectors, 1024 lists: 0.93 at 128, 0.98-0.99 at 256 (1.9-2.9 ms)."""
        return min(self.nlist, max(NPROBE_MIN, self.nlist // NPROBE_DIVISOR))

    def search(
        self, query: np.ndarray, k: int, allowed: Collection[int] | None = None
    ) -> list[tuple[int, float]]:
        """Top ``k`` ``(vector_id, cosine)`` (vector ids: ``index.ids``); ``allowed`` restricts the search
        to those ids (exactly)."""
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
