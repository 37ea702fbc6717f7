"""The embedding cache in its own file (``embeddings.sqlite``): a new index writes it and nothing in the
catalog; a format-1 index (the cache in the catalog's ``embeddings`` table, as commit ebc0e98 wrote it)
keeps working for readers and is migrated by its first writer, also when that writer is killed half-way;
``claims check`` validates the file.

The format-1 index is synthesised from the sample index: its cache rows go back into the catalog under the
old DDL, the file is removed and the manifest says format 1 (the same layout a real ebc0e98 build has:
checked by hand, see the README's index format section).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from index.embcache import EMBCACHE
from index.manifest import CATALOG, FORMAT_VERSION

ROOT = Path(__file__).resolve().parents[2]
OLD_TABLE = """CREATE TABLE embeddings (
    model TEXT NOT NULL, text_hash TEXT NOT NULL, vector BLOB NOT NULL,
    PRIMARY KEY (model, text_hash)
) WITHOUT ROWID"""


def to_format1(index: Path) -> int:
    """Rewrite ``index`` in the format-1 layout; returns the cache rows moved into the catalog."""
    db = sqlite3.connect(index / CATALOG)
    try:
        db.execute(OLD_TABLE)
        db.execute("ATTACH DATABASE ? AS ec", (str(index / EMBCACHE),))
        with db:
            n = db.execute("INSERT INTO main.embeddings SELECT * FROM ec.embeddings").rowcount
        db.execute("DETACH DATABASE ec")
    finally:
        db.close()
    for suffix in ("", "-wal", "-shm"):
        (index / f"{EMBCACHE}{suffix}").unlink(missing_ok=True)
    m = json.loads((index / "manifest.json").read_text())
    (index / "manifest.json").write_text(json.dumps(m | {"format_version": 1}))
    return n


def catalog_has_cache_table(index: Path) -> bool:
    with sqlite3.connect(index / CATALOG) as db:
        return db.execute("SELECT 1 FROM sqlite_master WHERE name = 'embeddings'").fetchone() is not None


def cache_rows(index: Path) -> dict[str, int]:
    with sqlite3.connect(index / EMBCACHE) as db:
        return dict(db.execute("SELECT model, count(*) FROM embeddings GROUP BY model").fetchall())


def distinct_hashes(index: Path) -> int:
    with sqlite3.connect(index / CATALOG) as db:
        return db.execute("SELECT count(DISTINCT text_hash) FROM passages").fetchone()[0]


@pytest.fixture
def old_index(sample_index, copy_index):
    index = copy_index(sample_index)
    rows = to_format1(index)
    assert rows == distinct_hashes(index) > 0  # by hand: one cached vector per distinct passage text
    return index


def test_a_new_index_keeps_its_cache_in_its_own_file(sample_index):
    assert not catalog_has_cache_table(sample_index)
    m = json.loads((sample_index / "manifest.json").read_text())
    assert m["format_version"] == FORMAT_VERSION == 2
    assert cache_rows(sample_index) == {m["model"]: distinct_hashes(sample_index)}


def test_a_format1_index_is_read_as_it_is(old_index, cli):
    from index.embcache import open_cache
    from search.searcher import Searcher, SearchOptions

    with Searcher(old_index) as s:
        assert s.manifest.format_version == 1
        hits = s.search("hypersonic missiles", SearchOptions(mode="hybrid", limit=3))
        assert hits
        hashes = [r[0] for r in s.catalog.db.execute("SELECT text_hash FROM passages")]
        with open_cache(old_index, s.catalog.db) as cache:  # what `claims eval` reads for a base model
            assert len(cache.get(s.manifest.model, hashes)) == len(set(hashes))
    r = cli("check", "--index", old_index)
    assert r.exit_code == 0, r.output
    assert not (old_index / EMBCACHE).exists()  # readers never migrate


def test_the_first_writer_migrates_and_embeds_nothing_twice(old_index, tmp_path, cli):
    from index.ingest import ingest

    before = distinct_hashes(old_index)
    new = tmp_path / "new.txt"
    new.write_text("The Kremlin said on Monday that a new drone factory had opened in Tatarstan.\n")
    report = ingest(old_index, [new])
    assert report.embedded == distinct_hashes(old_index) - before == 1  # only the new text
    m = json.loads((old_index / "manifest.json").read_text())
    assert m["format_version"] == FORMAT_VERSION and m["generation"] == 2
    assert not catalog_has_cache_table(old_index)
    assert cache_rows(old_index) == {m["model"]: before + 1}
    r = cli("check", "--index", old_index)
    assert r.exit_code == 0, r.output
    r = cli("reindex", "--index", old_index)
    assert r.exit_code == 0, r.output
    assert "(0 embedded)" in r.stderr


def test_a_writer_killed_mid_migration_leaves_a_working_index_finished_by_the_next(old_index, tmp_path):
    """Killed after the rows are copied, before the manifest moves to format 2: readers still see a
    format-1 index that checks clean; the next writer finishes the migration (copying nothing twice)."""
    from index.faults import MIGRATION_CHECKPOINTS
    from index.rebuild import reindex
    from search.admin import check_index

    env = dict(os.environ, HF_HUB_OFFLINE="1", CLAIMS_FAULT=f"{MIGRATION_CHECKPOINTS[0]}:1")
    code = "import sys; from index.rebuild import reindex; reindex(sys.argv[1])"
    proc = subprocess.run([sys.executable, "-c", code, str(old_index)], env=env, cwd=ROOT, timeout=300)
    assert proc.returncode == -signal.SIGKILL
    assert json.loads((old_index / "manifest.json").read_text())["format_version"] == 1
    assert catalog_has_cache_table(old_index) and (old_index / EMBCACHE).exists()
    report = check_index(old_index)
    assert report["ok"], report["problems"]
    r = reindex(old_index)
    assert r["embedded"] == 0
    assert json.loads((old_index / "manifest.json").read_text())["format_version"] == FORMAT_VERSION
    assert not catalog_has_cache_table(old_index)
    assert check_index(old_index)["ok"]


def test_check_names_reindex_for_a_damaged_or_incomplete_cache(sample_index, copy_index, cli):
    index = copy_index(sample_index)
    with sqlite3.connect(index / EMBCACHE) as db:
        db.execute("DELETE FROM embeddings WHERE text_hash IN (SELECT text_hash FROM embeddings LIMIT 2)")
    r = cli("check", "--index", index)
    assert r.exit_code == 2
    assert "lacks the" in r.stderr and "of 2 passages" in r.stderr and "claims reindex" in r.stderr
    r = cli("reindex", "--index", index, "-q")  # the fix it names
    assert r.exit_code == 0, r.output
    assert cli("check", "--index", index).exit_code == 0
    (index / EMBCACHE).write_bytes(b"not a database" * 500)
    r = cli("check", "--index", index)
    assert r.exit_code == 2 and "damaged" in r.stderr and "claims reindex" in r.stderr
