"""One committed generation of an index folder, opened read-only, its stores opened lazily.

``IndexView`` reads the manifest and pins that generation's vector files at once (a writer removes them
when the next generation commits; an open handle keeps them readable), opens the catalog at the
manifest's generation, and opens the rest on first use: Whoosh and its impact arrays (``ix``,
``whoosh``, ``impacts``; a keyword search never loads FAISS or torch), FAISS (``dense``) and the query
encoder (``embedder``). ``search.searcher.Searcher`` answers queries over it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from index.catalog_reader import CatalogReader
from index.errors import IndexCorruptError, ModelMismatchError
from index.manifest import CATALOG, Manifest, read_manifest
from search.lexical import pid_column


def default_index() -> Path:
    return Path(os.environ.get("CLAIMS_INDEX", "claims-index"))


class IndexView:
    """The stores of one committed generation of ``index_dir`` (default: ``$CLAIMS_INDEX`` or
    ``claims-index``), read-only; ``model``: a local model folder for query vectors (must be the
    index's model).

    Raises:
        IndexNotFoundError, IndexVersionError, IndexCorruptError: From ``index.manifest.read_manifest``.
    """

    def __init__(self, index_dir: Path | None = None, model: str | None = None):
        self.dir = Path(index_dir) if index_dir else default_index()
        for _ in range(3):  # a writer may commit twice between reading the manifest and pinning
            self.manifest: Manifest = read_manifest(self.dir)
            self._pinned = self._pin_vectors()
            if self._pinned or not self.manifest.vectors_file:
                break
        self.catalog = CatalogReader(self.dir / CATALOG, self.manifest.generation)
        self.model = model
        self._ix = None
        self._dense = None
        self._embedder = None
        self._whoosh = None
        self._pid_col = None
        self._impacts: Any = None  # search.impacts.ImpactIndex, or None: Whoosh answers every query

    def _pin_vectors(self) -> tuple[Any, Any] | None:
        """Open this generation's vector files now (cheap; FAISS is loaded on first use): the writer
        removes them once the next generation commits, and an open handle keeps them readable."""
        from index.vector_store import tombstone_path

        if not self.manifest.vectors_file:
            return None
        path = self.dir / self.manifest.vectors_file
        try:
            fh = open(path, "rb")  # noqa: SIM115 - held until close()
        except FileNotFoundError:
            return None  # reported, with the fix, when the vectors are needed
        try:
            tomb = open(tombstone_path(path), "rb")  # noqa: SIM115 - held until close()
        except FileNotFoundError:
            tomb = None
        return fh, tomb

    def close(self) -> None:
        if self._whoosh is not None:
            self._whoosh.close()
        self.catalog.close()
        for fh in self._pinned or ():
            if fh is not None:
                fh.close()
        self._pinned = None

    def manifest_bytes(self) -> bytes:
        """The bytes of the manifest file (``export`` checks they name the generation it opened)."""
        from index.manifest import manifest_path

        return manifest_path(self.dir).read_bytes()

    # -- stores (lazy: keyword search never loads FAISS or torch) -------------------------------
    @property
    def ix(self):
        if self._ix is None:
            from search.impacts import ImpactIndex
            from search.lexical import open_lexical_readonly

            self._ix, self._whoosh = open_lexical_readonly(self.dir / self.manifest.lexical_dir)
            self._pid_col = pid_column(self._whoosh.reader())
            # Opened (memory-mapped) with the Whoosh searcher: a writer that merges segments later
            # removes the merged-away arrays, and an open map keeps them readable, as Whoosh's files.
            self._impacts = ImpactIndex.open(self._whoosh, self.dir / self.manifest.lexical_dir)
        return self._ix

    @property
    def dense(self):
        if self._dense is None:
            from search.dense import DenseIndex, single_query_threads

            if not self.manifest.vectors_file:
                raise IndexCorruptError(
                    f"{self.dir} has no vector store: run `claims repair --index {self.dir}`"
                )
            path = self.dir / self.manifest.vectors_file
            if not self._pinned:
                raise IndexCorruptError(
                    f"vector store {path} is missing: run `claims repair --index {self.dir}`"
                )
            self._dense = DenseIndex.load(path, *self._pinned)
            single_query_threads()
        return self._dense

    @property
    def embedder(self):
        if self._embedder is None:
            from index.embed import Embedder, resolve_model

            m = self.manifest
            if self.model is not None:
                name, _ = resolve_model(self.model)
                if name != m.model:
                    raise ModelMismatchError(
                        f"this index was built with {m.model}; queries with {name} would be meaningless: "
                        f"drop --model, or rebuild with `claims reindex --model {self.model}`"
                    )
                self._embedder = Embedder(self.model)
            else:
                path = m.model_path if m.model_path and Path(m.model_path).exists() else None
                self._embedder = Embedder(path or m.model)
                if self._embedder.name != m.model and path is None:
                    raise ModelMismatchError(
                        f"the index's model {m.model} is not on this machine: pass --model PATH"
                    )
        return self._embedder

    @property
    def schema(self):
        """The Whoosh schema of the opened searcher. Never ``ix.schema``: Whoosh's ``FileIndex.schema``
        re-reads the newest table of contents on every access, a file a concurrent commit may have
        just deleted (FileNotFoundError mid-query, seen under concurrent ingest), and it costs a read."""
        return self.whoosh.schema

    @property
    def whoosh(self):
        """One Whoosh searcher for this Searcher's lifetime (opening one per query costs more than the query)."""
        _ = self.ix  # the searcher is opened with the index
        return self._whoosh

    @property
    def impacts(self):
        """The numpy BM25F evaluator over this searcher's segments (``search.impacts``), or None."""
        _ = self.ix  # opened with the Whoosh searcher
        return self._impacts
