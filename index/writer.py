"""The index writer: one lock, crash recovery, and one commit across catalog, Whoosh and FAISS.

A batch ``N`` (the manifest's generation ``G`` plus one):

1. catalog rows are written stamped with ``N`` (invisible to readers pinned to ``G``), in small
   SQLite transactions; embeddings are cached (``index.embcache``, its own file) as soon as they are
   computed, before anything uses them, and the cache's WAL is folded into its file before step 4;
2. Whoosh gets the batch's documents in one writer, committed at the end of the batch;
3. FAISS is written to a new file ``vectors.N.faiss`` (``vectors.G.faiss`` is left alone);
4. the manifest naming generation ``N`` is written by rename: **the commit point**;
5. the old vectors file is removed.

A crash anywhere before 4 leaves the manifest at ``G``. The next writer rolls the catalog back to
``G``, deletes Whoosh documents stamped after ``G`` and removes stray files, so the index is exactly
generation ``G`` again; the cached embeddings (never rolled back: a row is a text's vector, whichever
batch asked for it) make the re-run cheap. A format-1 index (the cache inside the catalog) is migrated
when a writer first opens it: rows copied to ``embeddings.sqlite``, the manifest rewritten as format 2
(same generation), then the catalog's table dropped; each step is idempotent, so a crash anywhere is
finished by the next writer. Readers never see a half batch:
they read the manifest first and filter every hit through the catalog at its generation.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from index.analysis import METADATA_PREFIX
from index.catalog import CatalogWriter
from index.embcache import EMBCACHE, EmbeddingCache, drop_legacy, migrate
from index.errors import IndexLockedError, ModelMismatchError
from index.faults import checkpoint
from index.ids import field_vector_id
from index.lexical import LexicalWriter
from index.manifest import (
    CATALOG,
    FORMAT_VERSION,
    LOCK,
    MANIFEST,
    Manifest,
    loadable_model,
    read_manifest,
    tool_version,
    write_manifest,
)
from index.vectors import VectorWriter, vectors_file

LEXICAL_DIR = "lexical"


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class WriteLock:
    """An exclusive ``flock`` on ``write.lock``: one writer per index, readers never wait."""

    def __init__(self, index_dir: Path, wait: bool = True, on_wait: Callable[[str], None] | None = None):
        self.path = Path(index_dir) / LOCK
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                os.close(self.fd)
                raise IndexLockedError(
                    f"another `claims` process is writing to {index_dir}: wait for it, or run again without --no-wait"
                ) from None
            if on_wait:
                on_wait(f"waiting for another writer to finish with {index_dir} ...")
            fcntl.flock(self.fd, fcntl.LOCK_EX)

    def release(self) -> None:
        if self.fd >= 0:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = -1


class IndexWriter:
    """Opens an index folder for writing (creating it when new) and runs batches on it."""

    def __init__(
        self,
        index_dir: Path,
        model: str | None = None,
        wait: bool = True,
        on_wait: Callable[[str], None] | None = None,
        create: bool = True,
        rebuild: bool = False,
    ):
        """``rebuild``: the caller builds new Whoosh and FAISS stores from the catalog (``reindex``,
        ``repair``), so recovery leaves the current Whoosh store alone: it may be the damaged part."""
        from index.embed import Embedder

        self.dir = Path(index_dir)
        self.rebuild = rebuild
        if create:
            self.dir.mkdir(parents=True, exist_ok=True)
        self.lock = WriteLock(self.dir, wait=wait, on_wait=on_wait)
        try:
            self.manifest = self._open_manifest()
            self.embedder = Embedder(model or loadable_model(self.manifest) or None)
            if self.manifest.model and model is not None and self.embedder.name != self.manifest.model:
                raise ModelMismatchError(
                    f"{self.dir} was built with {self.manifest.model}, not {self.embedder.name}: "
                    f"re-embed it with `claims reindex --model {model}` or use a new --index"
                )
            self.catalog = CatalogWriter(self.dir / CATALOG, self.manifest.generation)
            self.cache = EmbeddingCache(self.dir / EMBCACHE)
            self.migrate()
            self.recover()
        except BaseException:
            if getattr(self, "cache", None) is not None:
                self.cache.close()
            self.lock.release()
            raise

    def migrate(self) -> int:
        """A format-1 index: its catalog's cached vectors move to ``embeddings.sqlite``, then the manifest
        is rewritten as the current format (same generation), then the catalog's table goes. Returns
        rows moved (0 when there was nothing to migrate)."""
        moved = migrate(self.catalog.db, self.cache)
        if (self.dir / MANIFEST).exists() and self.manifest.format_version < FORMAT_VERSION:
            self.manifest = replace(self.manifest, format_version=FORMAT_VERSION, tool_version=tool_version())
            write_manifest(self.dir, self.manifest)
        drop_legacy(self.catalog.db)
        return moved

    def _open_manifest(self) -> Manifest:
        if (self.dir / "manifest.json").exists():
            return read_manifest(self.dir)
        return Manifest(generation=0, created=now_iso())

    @property
    def gen(self) -> int:
        return self.manifest.generation

    # -- recovery ---------------------------------------------------------------------------------
    def recover(self) -> dict[str, int]:
        """Bring every store back to exactly the committed generation (after a crash)."""
        g = self.gen
        undone = self.catalog.rollback_to(g)
        removed_docs = 0
        lex_path = self.dir / self.manifest.lexical_dir
        if lex_path.exists() and not self.rebuild:
            lw = LexicalWriter(lex_path)
            removed_docs = lw.delete_generations_after(g)
            lw.commit()
        stray = 0
        for p in self.dir.iterdir():
            keep = {
                self.manifest.vectors_file,
                self.manifest.vectors_file + ".tomb.npy",
                self.manifest.lexical_dir,
            }
            if (p.name.startswith("vectors.") or p.name.startswith(LEXICAL_DIR)) and p.name not in keep:
                shutil.rmtree(p) if p.is_dir() else p.unlink()
                stray += 1
            elif p.name.startswith(".") and p.name.endswith(".tmp"):
                p.unlink()
                stray += 1
        return {"catalog_rows": undone, "lexical_docs": removed_docs, "files": stray}

    # -- batches ----------------------------------------------------------------------------------
    def begin(self, command: str, lexical_dir: str | None = None) -> Batch:
        return Batch(self, command, lexical_dir)

    def close(self) -> None:
        self.catalog.close()
        self.cache.close()
        self.lock.release()

    def __enter__(self) -> IndexWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Batch:
    """One generation's worth of changes; ``commit()`` makes all of them visible at once."""

    def __init__(self, writer: IndexWriter, command: str, lexical_dir: str | None = None):
        self.w = writer
        self.gen = writer.gen + 1
        self.fresh_lexical = lexical_dir is not None
        self.lexical_dir = lexical_dir or writer.manifest.lexical_dir
        writer.catalog.begin_batch(self.gen, command)
        self.lexical = LexicalWriter(writer.dir / self.lexical_dir, create=True)
        if self.fresh_lexical:
            self.vectors = VectorWriter.open(None, writer.embedder.dimension)
        else:
            old = writer.manifest.vectors_file
            self.vectors = VectorWriter.open(writer.dir / old if old else None, self._dimension())
        self.metadata_fields: set[str] = set(writer.manifest.metadata_fields)
        # Append-only: a field's number (its place + 1) is part of its vectors' ids.
        self.embed_fields: list[str] = list(writer.manifest.embed_fields)
        self.ranker = writer.manifest.ranker  # the adopted learned ranker carries over (``claims tune``)

    def _extractor(self, old: Manifest) -> str:
        """The extractor version the manifest records: this one when the batch extracted features and
        none from another version stay (a rebuild re-extracts every passage; an index with no features
        yet), else the old record (new articles in a stale index leave it stale until ``reindex``)."""
        from index.intel import EXTRACTOR_VERSION

        fresh = self.fresh_lexical or not old.counts.get("claim_features")
        return (
            EXTRACTOR_VERSION if getattr(self.w.catalog, "features_added", False) and fresh else old.extractor
        )

    def _dimension(self) -> int:
        return self.w.manifest.dimension or self.w.embedder.dimension

    def add_passages(self, pids: list[int], docs: list[dict], vectors: np.ndarray) -> None:
        for doc in docs:
            self.metadata_fields.update(
                k[len(METADATA_PREFIX) :] for k in doc if k.startswith(METADATA_PREFIX)
            )
        self.lexical.add(docs)
        self.vectors.add(np.asarray(pids, dtype=np.int64), vectors)

    def add_embed_fields(self, names: Sequence[str]) -> None:
        """Embed these article fields too from this batch on (new names go last: numbers never move)."""
        self.embed_fields += [f for f in dict.fromkeys(names) if f not in self.embed_fields]

    def add_field_vectors(self, first_pid: int, field_numbers: list[int], vectors: np.ndarray) -> None:
        """An article's field vectors, stored under its first passage's id (``field_vector_id``)."""
        ids = [field_vector_id(first_pid, no) for no in field_numbers]
        self.vectors.add(np.asarray(ids, dtype=np.int64), vectors)

    def remove_passages(self, pids: list[int]) -> None:
        """An article's passages retired in this batch (with its field vectors): gone from FAISS in this
        generation; from Whoosh in the next.

        Whoosh keeps their documents one generation longer because readers of the previous generation
        still search that same Whoosh index; hits on them are filtered out through the catalog.
        """
        ids = list(pids)
        if pids:
            ids += [field_vector_id(min(pids), f) for f in range(1, len(self.embed_fields) + 1)]
        self.vectors.remove(ids)

    def commit(self, stats: dict | None = None) -> Manifest:
        w = self.w
        old = w.manifest
        # Purge Whoosh documents retired in committed generations (see remove_passages).
        if not self.fresh_lexical:
            self.lexical.delete(w.catalog.deleted_since(old.lexical_purged_gen, old.generation))
        checkpoint("before-lexical-commit")
        self.lexical.commit()
        checkpoint("after-lexical-commit")
        self.vectors.maybe_restructure()
        vfile = vectors_file(self.gen)
        sha = self.vectors.save(w.dir / vfile)
        counts = w.catalog.counts(self.gen)
        w.cache.checkpoint()
        new = Manifest(
            extractor=self._extractor(old),
            generation=self.gen,
            model=w.embedder.name,
            model_path=w.embedder.path,
            dimension=self._dimension(),
            lexical_dir=self.lexical_dir,
            vectors_file=vfile,
            vectors_kind=self.vectors.store.kind,
            vectors_sha256=sha,
            lexical_purged_gen=self.gen if self.fresh_lexical else old.generation,
            metadata_fields=sorted(self.metadata_fields),
            embed_fields=self.embed_fields,
            ranker=self.ranker,
            counts=counts,
            created=old.created or now_iso(),
            updated=now_iso(),
        )
        write_manifest(w.dir, new)  # the commit point
        checkpoint("after-manifest-rename")
        w.manifest = new
        w.catalog.gen = self.gen
        w.catalog.finish_batch(self.gen, stats or {})
        checkpoint("before-cleanup")
        for name in {old.vectors_file, old.vectors_file + ".tomb.npy"} - {"", ".tomb.npy"}:
            (w.dir / name).unlink(missing_ok=True)
        if self.fresh_lexical and old.lexical_dir != self.lexical_dir:
            shutil.rmtree(w.dir / old.lexical_dir, ignore_errors=True)
        return new

    def abort(self) -> None:
        """Undo the batch (a write error, --strict): the index stays at the previous generation."""
        self.lexical.cancel()
        self.w.recover()
