"""Searching an index with another model than its own, in memory: how ``claims tune`` ranks the holdout
with a candidate model (``index.tuned.Candidate``'s store) and ``claims eval`` ranks with the base model
beside a tuned one (``base_vectors``: rebuilt from the embedding cache, nothing embedded)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any


def base_model(m) -> tuple[str, str]:
    """``(name, path)`` of the untuned model of manifest ``m``: its model, or the base of a tuned one."""
    from index.manifest import loadable_model, tune_record

    record = tune_record(m.model_path)
    if record is None:
        return m.model, loadable_model(m)
    path = record["base_model_path"]
    return record["base_model"], path if Path(path).exists() else record["base_model"]


def model_view(searcher, model_path: str, vector_store) -> Any:
    """A shallow copy of ``searcher`` whose semantic leg uses ``model_path`` and an in-memory vector
    store (the candidate of ``index.tuned.Candidate``, or ``base_vectors``); the rest is shared."""
    from index.embed import Embedder, resolve_model
    from search.dense import DenseIndex

    view = copy.copy(searcher)
    view.manifest = copy.copy(searcher.manifest)
    view.manifest.model, view.manifest.model_path = resolve_model(model_path)
    view._embedder = Embedder(model_path)
    view._dense = DenseIndex(vector_store.index, vector_store.tombstones)
    return view


def base_vectors(searcher, model: str):
    """The index's vectors for ``model`` rebuilt in memory from the embedding cache (no embedding):
    how ``claims eval`` ranks with the base model beside a tuned one."""
    from index.embcache import open_cache
    from index.vector_store import VectorStore
    from index.vectorcache import catalog_vectors

    m = searcher.manifest
    store = VectorStore.empty(m.dimension)
    with open_cache(searcher.dir, searcher.catalog.db) as cache:
        for ids, matrix in catalog_vectors(searcher.catalog, cache, model, m.embed_fields, m.dimension):
            store.index.add_with_ids(matrix, ids)
    return store
