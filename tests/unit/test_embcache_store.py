"""The embedding cache's own store (``index.embcache``): keyed by (model, text hash), append-only, a
format-1 catalog's table read and migrated, and ``check_cache``'s findings, on hand-made SQLite files."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from index.catalog import CatalogWriter
from index.embcache import EMBCACHE, EmbeddingCache, check_cache, drop_legacy, migrate, open_cache
from index.errors import IndexCorruptError

# The catalog's cache table as index format 1 (commit ebc0e98, index/catalog.py) created it.
OLD_TABLE = """CREATE TABLE IF NOT EXISTS embeddings (
    model TEXT NOT NULL, text_hash TEXT NOT NULL, vector BLOB NOT NULL,
    PRIMARY KEY (model, text_hash)
) WITHOUT ROWID"""


def vec(*xs: float) -> bytes:
    return np.asarray(xs, dtype=np.float32).tobytes()


def test_get_returns_only_what_was_put_for_that_model(tmp_path):
    with EmbeddingCache(tmp_path / EMBCACHE) as c:
        c.put("m1", [("h1", vec(1, 0)), ("h2", vec(0, 1))])
        c.put("m1", [("h1", vec(9, 9))])  # a hash already cached keeps its vector
        c.put("m2", [("h1", vec(5, 5))])
        assert c.get("m1", ["h1", "h2", "h3"]) == {"h1": vec(1, 0), "h2": vec(0, 1)}
        assert c.get("m2", ["h1", "h2"]) == {"h1": vec(5, 5)}
        assert c.models() == {"m1": 2, "m2": 1}
    # a second process (reader) sees the committed rows; a missing file reads as empty
    with EmbeddingCache(tmp_path / EMBCACHE, readonly=True) as r:
        assert r.get("m1", ["h2"]) == {"h2": vec(0, 1)}
        with pytest.raises(RuntimeError):
            r.put("m1", [("h9", vec(1, 1))])
    with EmbeddingCache(tmp_path / "none.sqlite", readonly=True) as r:
        assert r.get("m1", ["h1"]) == {} and not (tmp_path / "none.sqlite").exists()


def test_many_hashes_cross_the_parameter_limit(tmp_path):
    items = [(f"h{i}", vec(i, -i)) for i in range(2000)]
    with EmbeddingCache(tmp_path / EMBCACHE) as c:
        c.put("m", items)
        got = c.get("m", [h for h, _ in items] + ["nope"])
    assert got == dict(items)


def test_a_damaged_file_is_one_line_naming_reindex(tmp_path):
    (tmp_path / EMBCACHE).write_bytes(b"this is not a database" * 200)
    for readonly in (True, False):
        with pytest.raises(IndexCorruptError, match="claims reindex"):
            EmbeddingCache(tmp_path / EMBCACHE, readonly=readonly)


def _format1_catalog(path, rows):
    cat = CatalogWriter(path, 0)  # today's schema, plus the format-1 table
    cat.db.execute(OLD_TABLE)
    cat.db.executemany("INSERT INTO embeddings VALUES (?,?,?)", rows)
    cat.db.commit()
    return cat


def test_format1_rows_are_read_then_migrated_idempotently(tmp_path):
    cat = _format1_catalog(tmp_path / "catalog.sqlite", [("m", "a", vec(1, 2)), ("m", "b", vec(3, 4))])
    try:
        with open_cache(tmp_path, cat.db) as r:  # a reader before any writer: the catalog's table
            assert r.get("m", ["a", "b", "c"]) == {"a": vec(1, 2), "b": vec(3, 4)}
        early = open_cache(tmp_path, cat.db)  # opened before the file exists
        with EmbeddingCache(tmp_path / EMBCACHE) as c:
            c.put("m", [("c", vec(5, 6))])
            assert migrate(cat.db, c) == 2
            assert migrate(cat.db, c) == 0  # a re-run after a crash copies nothing twice
            reader = open_cache(tmp_path, cat.db)  # opened while the old table still exists
            drop_legacy(cat.db)
            assert migrate(cat.db, c) == 0  # nothing left to migrate
            assert c.get("m", ["a", "b", "c"]) == {"a": vec(1, 2), "b": vec(3, 4), "c": vec(5, 6)}
            # the reader's legacy table vanished under it: it reads the file instead, no error
            assert reader.get("m", ["a", "c"]) == {"a": vec(1, 2), "c": vec(5, 6)}
            assert early.get("m", ["b", "c"]) == {"b": vec(3, 4), "c": vec(5, 6)}  # opens the file then
            reader.close()
            early.close()
        assert cat.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'embeddings'").fetchone() is None
    finally:
        cat.close()


def _catalog_with_passages(path, hashes):
    cat = CatalogWriter(path, 0)
    cat.db.execute(
        "INSERT INTO articles(article_id, content_hash, text, added_gen) VALUES ('a1', 'c', 'text', 1)"
    )
    for i, h in enumerate(hashes):
        cat.db.execute(
            "INSERT INTO passages(aid, ordinal, start, end, text, text_hash, added_gen) VALUES (1,?,0,1,'t',?,1)",
            (i, h),
        )
    cat.db.commit()
    return cat


def test_check_cache_finds_what_is_missing_or_malformed(tmp_path):
    cat = _catalog_with_passages(tmp_path / "catalog.sqlite", ["a", "b", "c"])
    try:
        # no file at all, three passages: missing
        (p,) = check_cache(tmp_path, cat.db, 1, "m", 2)
        assert "is missing" in p and "claims reindex" in p
        with EmbeddingCache(tmp_path / EMBCACHE) as c:
            c.put("m", [("a", vec(1, 2)), ("b", vec(3, 4)), ("c", vec(5, 6))])
            c.put("other", [("a", vec(1, 2, 3))])  # another model's dimension is not this one's concern
        assert check_cache(tmp_path, cat.db, 1, "m", 2) == []
        assert check_cache(tmp_path, cat.db, 0, "m", 2) == []  # generation 0 sees no passage
        db = sqlite3.connect(tmp_path / EMBCACHE)
        with db:
            db.execute("DELETE FROM embeddings WHERE text_hash = 'b'")
            db.execute(
                "UPDATE embeddings SET vector = ? WHERE text_hash = 'c' AND model = 'm'", (vec(1, 2, 3),)
            )
        db.close()
        problems = check_cache(tmp_path, cat.db, 1, "m", 2)
        assert len(problems) == 2
        assert "1 m vectors that are not 2 float32s" in problems[0]
        assert "lacks the m vectors of 1 passages of generation 1" in problems[1]
        (tmp_path / EMBCACHE).write_bytes(b"garbage" * 1000)
        (p,) = check_cache(tmp_path, cat.db, 1, "m", 2)
        assert "damaged" in p and "claims reindex" in p
    finally:
        cat.close()
