"""The embedding cache: float32 vectors keyed by ``(model, text hash)``, in its own file of the index folder.

``embeddings.sqlite`` (SQLite, WAL, ``synchronous = FULL``) holds one table,
``embeddings(model, text_hash, vector)``; ``vector`` is ``dimension`` float32s (4 bytes each, native
order), ``model`` the embedder's name (a tuned model's folder name, ``index.embed.resolve_model``), so
two models' vectors never mix and switching back to a model embeds nothing. ``PRAGMA user_version``
is the file's own format (``CACHE_VERSION``).

The cache is content-addressed and append-only: a row is what model M gives text T, whichever batch
asked for it. Rows are committed (and fsynced) as soon as they are embedded, before the batch that
uses them applies anything, so every passage of a committed generation has its vector here, and a
killed batch leaves rows that its re-run reuses (nothing is embedded twice). No generation stamp and
no rollback are needed. ``IndexWriter`` folds the WAL into the file at every commit
(``checkpoint``), before the manifest lands.

Index format 1 kept the same rows in the catalog's ``embeddings`` table. The first writer that opens
such an index moves them here (``migrate``) and rewrites the manifest as format 2; readers of a
format-1 index not yet migrated read the catalog's table (``open_cache``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

from index.errors import IndexCorruptError
from index.faults import checkpoint

EMBCACHE = "embeddings.sqlite"
CACHE_VERSION = 1
LEGACY_TABLE = "embeddings"  # the catalog's table in index format 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    model TEXT NOT NULL, text_hash TEXT NOT NULL, vector BLOB NOT NULL,
    PRIMARY KEY (model, text_hash)
) WITHOUT ROWID;
"""
_CHUNK = 900  # SQLite's bound-parameter limit, less the model


def damaged_cache(path: Path | str, error: Exception, index_dir: Path | str) -> IndexCorruptError:
    """The one-line error for a cache file SQLite cannot read."""
    return IndexCorruptError(
        f"embedding cache {path} is damaged ({error}): delete it and run `claims reindex --index {index_dir}` "
        "(it re-embeds what the cache lacked; the catalog is intact)"
    )


def _has_table(db: sqlite3.Connection, name: str) -> bool:
    sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    return db.execute(sql, (name,)).fetchone() is not None


class EmbeddingCache:
    """Vectors by ``(model, text hash)``: ``get`` and, for the writer, ``put``.

    Args:
        path: The cache file (``index_dir / EMBCACHE``); created by a writer when missing.
        readonly: Open for reading only (a missing file reads as empty).
        legacy: A catalog connection whose format-1 ``embeddings`` table is read after the file (readers of
            an index not yet migrated).

    Raises:
        IndexCorruptError: The file is not a cache SQLite can read (names the fix).
    """

    def __init__(self, path: Path, readonly: bool = False, legacy: sqlite3.Connection | None = None):
        self.path = Path(path)
        self.readonly = readonly
        self.legacy = legacy
        self.db: sqlite3.Connection | None = None
        try:
            if readonly:
                self.db = self._open_readonly()
            else:
                self.db = sqlite3.connect(self.path, check_same_thread=False)
                self.db.execute("PRAGMA busy_timeout = 10000")
                self.db.execute("PRAGMA journal_mode = WAL")
                self.db.execute("PRAGMA synchronous = FULL")  # a put is durable before its vectors are used
                self.db.executescript(SCHEMA)
                self.db.execute(f"PRAGMA user_version = {CACHE_VERSION}")
                self.db.commit()
        except sqlite3.DatabaseError as e:
            if self.db is not None:
                self.db.close()
            raise damaged_cache(self.path, e, self.path.parent) from None

    def _open_readonly(self) -> sqlite3.Connection | None:
        """A read-only connection to the file, or None while it does not exist."""
        if not self.path.exists():
            return None
        db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        db.execute("PRAGMA busy_timeout = 10000")
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return db

    def get(self, model: str, hashes: Iterable[str]) -> dict[str, bytes]:
        """``{text hash: float32 bytes}`` of the cached ``hashes`` for ``model``; the others are left out."""
        todo = list(dict.fromkeys(hashes))
        out: dict[str, bytes] = {}
        for db in (self.db, self.legacy):
            if db is None or not todo:
                continue
            try:
                for i in range(0, len(todo), _CHUNK):
                    chunk = todo[i : i + _CHUNK]
                    marks = ",".join("?" * len(chunk))
                    sql = (
                        f"SELECT text_hash, vector FROM embeddings WHERE model = ? AND text_hash IN ({marks})"
                    )
                    out.update(db.execute(sql, [model, *chunk]).fetchall())
            except sqlite3.OperationalError as e:
                if db is self.legacy and "no such table" in str(e):
                    # a writer migrated the index meanwhile: the rows are in the file now
                    self.legacy = None
                    self.db = self.db or self._open_readonly()
                    return out | self.get(model, [h for h in todo if h not in out])
                raise
            todo = [h for h in todo if h not in out]
        return out

    def put(self, model: str, items: list[tuple[str, bytes]]) -> None:
        """Cache ``(text hash, float32 bytes)`` pairs for ``model``, committed and fsynced at once (a
        crash never costs an embedding twice). A hash already cached keeps its vector."""
        if self.db is None or self.readonly:
            raise RuntimeError("the embedding cache is open read-only")
        with self.db:
            self.db.executemany(
                "INSERT OR IGNORE INTO embeddings(model, text_hash, vector) VALUES (?,?,?)",
                [(model, h, v) for h, v in items],
            )
        checkpoint("embcache-put")

    def copy_from(self, path: Path) -> int:
        """Copy every row of the ``embeddings`` table of the SQLite file ``path`` (another cache, or a
        format-1 catalog) that this cache lacks, in one transaction; returns rows copied."""
        if self.db is None or self.readonly:
            raise RuntimeError("the embedding cache is open read-only")
        before = self.db.total_changes
        self.db.execute("ATTACH DATABASE ? AS src", (str(path),))
        try:
            with self.db:
                self.db.execute(
                    "INSERT OR IGNORE INTO main.embeddings(model, text_hash, vector) "
                    "SELECT model, text_hash, vector FROM src.embeddings"
                )
        finally:
            self.db.execute("DETACH DATABASE src")
        return self.db.total_changes - before

    def checkpoint(self) -> None:
        """Fold the WAL into the file (an index commit calls it before its manifest lands), so the file
        alone holds every vector of the committed generation."""
        if self.db is not None and not self.readonly:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()  # busy readers: done later
        checkpoint("embcache-synced")

    def models(self) -> dict[str, int]:
        """``{model: vectors cached}``."""
        out: dict[str, int] = {}
        for db in (self.db, self.legacy):
            if db is not None and _has_table(db, "embeddings"):
                for model, n in db.execute("SELECT model, count(*) FROM embeddings GROUP BY model"):
                    out[model] = out.get(model, 0) + n
        return out

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_cache(index_dir: Path, catalog_db: sqlite3.Connection | None = None) -> EmbeddingCache:
    """The cache of ``index_dir`` for reading; with ``catalog_db`` (the index's catalog connection), a
    format-1 index's ``embeddings`` table is read too (an index no writer has migrated yet)."""
    legacy = catalog_db if catalog_db is not None and _has_table(catalog_db, LEGACY_TABLE) else None
    return EmbeddingCache(Path(index_dir) / EMBCACHE, readonly=True, legacy=legacy)


def migrate(catalog_db: sqlite3.Connection, cache: EmbeddingCache) -> int:
    """Copy a format-1 catalog's ``embeddings`` rows into ``cache`` (committed); returns rows copied.

    Idempotent (``INSERT OR IGNORE``): a crash part-way is finished by the next writer. The caller then
    rewrites the manifest as format 2 and drops the catalog's table (``drop_legacy``), in that order.
    """
    if not _has_table(catalog_db, LEGACY_TABLE):
        return 0
    n = cache.copy_from(Path(_db_path(catalog_db)))
    checkpoint("embcache-migrated")
    return n


def drop_legacy(catalog_db: sqlite3.Connection) -> None:
    """Drop a format-1 catalog's ``embeddings`` table (after ``migrate`` and the manifest's rewrite)."""
    if _has_table(catalog_db, LEGACY_TABLE):  # no write at all on a format-2 index
        with catalog_db:
            catalog_db.execute(f"DROP TABLE {LEGACY_TABLE}")


def _db_path(db: sqlite3.Connection) -> str:
    return next(row[2] for row in db.execute("PRAGMA database_list") if row[1] == "main")


def check_cache(
    index_dir: Path, catalog_db: sqlite3.Connection, gen: int, model: str, dimension: int
) -> list[str]:
    """Problems of the embedding cache of ``index_dir`` at generation ``gen`` (``claims check``): the file
    is missing (format 2) or damaged, of another cache version, holds ``model`` vectors that are not
    ``dimension`` float32s, or lacks the vector of a passage of ``gen`` (an index commits only passages
    whose vectors are cached). ``catalog_db``: a connection to the index's catalog. [] when sound."""
    from index.catalog_reader import visible

    d = Path(index_dir)
    path = d / EMBCACHE
    legacy = _has_table(catalog_db, LEGACY_TABLE)
    fix = f"run `claims reindex --index {index_dir}` (it embeds what the cache lacks)"
    if not path.exists() and not legacy:
        n = catalog_db.execute(f"SELECT count(*) FROM passages p WHERE {visible('p', gen)}").fetchone()[0]
        return [f"embedding cache {path} is missing: {fix}"] if n else []
    problems: list[str] = []
    schema = "main"
    if path.exists():
        try:
            with EmbeddingCache(path, readonly=True) as cache:
                ok = cache.db.execute("PRAGMA quick_check").fetchone()[0]
                version = cache.db.execute("PRAGMA user_version").fetchone()[0]
                has_table = _has_table(cache.db, "embeddings")
        except (IndexCorruptError, sqlite3.DatabaseError) as e:
            return [str(e) if isinstance(e, IndexCorruptError) else str(damaged_cache(path, e, index_dir))]
        if ok != "ok" or not has_table:
            return [str(damaged_cache(path, ok if ok != "ok" else "no embeddings table", index_dir))]
        if version != CACHE_VERSION:
            problems.append(f"embedding cache {path} is version {version}, not {CACHE_VERSION}: {fix}")
        catalog_db.execute("ATTACH DATABASE ? AS ec", (f"file:{path}?mode=ro",))
        schema = "ec"
    try:
        bad = catalog_db.execute(
            f"SELECT count(*) FROM {schema}.embeddings WHERE model = ? AND length(vector) != ?",
            (model, 4 * int(dimension)),
        ).fetchone()[0]
        if bad:
            problems.append(
                f"embedding cache holds {bad} {model} vectors that are not {dimension} float32s: {fix}"
            )
        sources = [f"{schema}.embeddings"] + (["main.embeddings"] if legacy and schema != "main" else [])
        cached = " OR ".join(
            f"EXISTS (SELECT 1 FROM {t} e WHERE e.model = ? AND e.text_hash = p.text_hash)" for t in sources
        )
        lacking = catalog_db.execute(
            f"SELECT count(*) FROM passages p WHERE {visible('p', gen)} AND NOT ({cached})",
            [model] * len(sources),
        ).fetchone()[0]
        if lacking:
            problems.append(
                f"embedding cache lacks the {model} vectors of {lacking} passages of generation {gen}: {fix}"
            )
    finally:
        if schema == "ec":
            catalog_db.execute("DETACH DATABASE ec")
    return problems
