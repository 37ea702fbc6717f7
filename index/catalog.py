"""The SQLite catalog writer: articles, passages, dropped spans, claim features and the ingest log.

The catalog is the source of truth; Whoosh and FAISS are derived from it (``claims reindex``).
Writes of batch ``N`` are stamped ``added_gen = N`` / ``deleted_gen = N`` and committed to SQLite in
small transactions as they go; they stay invisible to readers (pinned to the manifest generation)
until the manifest of ``N`` lands, and ``rollback_to`` undoes them after a crash.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from index.catalog_reader import CatalogReader, visible
from index.records import Article, Dropped, Passage, Problem

SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    aid INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    title TEXT, date TEXT, source TEXT, url TEXT, metadata TEXT, origin TEXT,
    text TEXT NOT NULL,
    added_gen INTEGER NOT NULL,
    deleted_gen INTEGER
);
CREATE INDEX IF NOT EXISTS articles_by_id ON articles(article_id);
CREATE INDEX IF NOT EXISTS articles_by_added ON articles(added_gen);
CREATE INDEX IF NOT EXISTS articles_by_deleted ON articles(deleted_gen);
CREATE TABLE IF NOT EXISTS passages (
    pid INTEGER PRIMARY KEY AUTOINCREMENT,
    aid INTEGER NOT NULL REFERENCES articles(aid),
    ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    added_gen INTEGER NOT NULL,
    deleted_gen INTEGER
);
CREATE INDEX IF NOT EXISTS passages_by_aid ON passages(aid);
CREATE INDEX IF NOT EXISTS passages_by_added ON passages(added_gen);
CREATE INDEX IF NOT EXISTS passages_by_deleted ON passages(deleted_gen);
CREATE TABLE IF NOT EXISTS dropped (
    aid INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL, reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dropped_by_aid ON dropped(aid);
CREATE TABLE IF NOT EXISTS batches (
    gen INTEGER PRIMARY KEY, started REAL, finished REAL, status TEXT, command TEXT, stats TEXT
);
CREATE TABLE IF NOT EXISTS problems (gen INTEGER, origin TEXT, reason TEXT, fatal INTEGER);
CREATE TABLE IF NOT EXISTS claim_features (
    passage_id INTEGER PRIMARY KEY, json TEXT NOT NULL, speaker TEXT, mode TEXT, hedged INTEGER,
    checkworthy REAL, event_date TEXT
);
CREATE INDEX IF NOT EXISTS claim_features_by_speaker ON claim_features(speaker COLLATE NOCASE);
CREATE TABLE IF NOT EXISTS passage_entities (
    passage_id INTEGER NOT NULL, label TEXT NOT NULL, canonical TEXT NOT NULL, class TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS passage_entities_by_pid ON passage_entities(passage_id);
CREATE INDEX IF NOT EXISTS passage_entities_by_name ON passage_entities(class, canonical COLLATE NOCASE);
"""


class CatalogWriter(CatalogReader):
    """The one writer of a catalog (the index write lock is held by the caller)."""

    def __init__(self, path: Path, gen: int):
        super().__init__(path, gen, readonly=False)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.executescript(SCHEMA)
        self.db.commit()
        self.features_added = False

    # -- recovery ---------------------------------------------------------------------------------
    def rollback_to(self, gen: int) -> int:
        """Undo every write of generations after ``gen`` (an interrupted batch). Returns rows undone."""
        with self.db:
            n = 0
            for table in ("claim_features", "passage_entities"):
                self.db.execute(
                    f"DELETE FROM {table} WHERE passage_id IN (SELECT pid FROM passages WHERE added_gen > ?)",
                    (gen,),
                )
            for table in ("passages", "articles"):
                if table == "articles":
                    self.db.execute(
                        "DELETE FROM dropped WHERE aid IN (SELECT aid FROM articles WHERE added_gen > ?)",
                        (gen,),
                    )
                n += self.db.execute(f"DELETE FROM {table} WHERE added_gen > ?", (gen,)).rowcount
                n += self.db.execute(
                    f"UPDATE {table} SET deleted_gen = NULL WHERE deleted_gen > ?", (gen,)
                ).rowcount
            self.db.execute(
                "UPDATE batches SET status = 'rolled back' WHERE gen > ? AND status != 'rolled back'", (gen,)
            )
            self.db.execute("DELETE FROM problems WHERE gen > ?", (gen,))
            # A crash between the manifest's rename and ``finish_batch`` leaves the committed batch
            # marked open in the log: the manifest is the commit point, so it is committed.
            self.db.execute(
                "UPDATE batches SET status = 'committed', finished = coalesce(finished, ?) "
                "WHERE gen = ? AND status = 'open'",
                (time.time(), gen),
            )
        return n

    # -- batches --------------------------------------------------------------------------------
    def begin_batch(self, gen: int, command: str) -> None:
        self.features_added = False  # set by add_features: the batch extracted claim features
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO batches(gen, started, status, command) VALUES (?, ?, 'open', ?)",
                (gen, time.time(), command),
            )

    def finish_batch(self, gen: int, stats: dict[str, Any]) -> None:
        with self.db:
            self.db.execute(
                "UPDATE batches SET finished = ?, status = 'committed', stats = ? WHERE gen = ?",
                (time.time(), json.dumps(stats), gen),
            )

    def log_problem(self, gen: int, problem: Problem) -> None:
        self.db.execute(
            "INSERT INTO problems(gen, origin, reason, fatal) VALUES (?, ?, ?, ?)",
            (gen, problem.origin, problem.reason, int(problem.fatal)),
        )

    # -- articles -------------------------------------------------------------------------------
    def current_article(self, article_id: str, gen: int) -> tuple[int, str] | None:
        """``(aid, content_hash)`` of the article's live version as this batch sees it (its own writes included)."""
        return self.db.execute(
            f"SELECT aid, content_hash FROM articles a WHERE article_id = ? AND {visible('a', gen)}",
            (article_id,),
        ).fetchone()

    def current_articles(self, article_ids: list[str], gen: int) -> dict[str, tuple[int, str]]:
        """``{article_id: (aid, content_hash)}`` of the live versions of ``article_ids`` as this batch sees
        them, 900 ids a query (SQLite's bound-parameter limit): the batched unchanged check."""
        out: dict[str, tuple[int, str]] = {}
        for i in range(0, len(article_ids), 900):
            chunk = article_ids[i : i + 900]
            sql = (
                f"SELECT article_id, aid, content_hash FROM articles a "
                f"WHERE article_id IN ({','.join('?' * len(chunk))}) AND {visible('a', gen)}"
            )
            out.update((r[0], (r[1], r[2])) for r in self.db.execute(sql, chunk))
        return out

    def changed(self, gen: int) -> bool:
        """Whether batch ``gen`` has added or retired any article so far."""
        sql = "SELECT 1 FROM articles WHERE added_gen = ? OR deleted_gen = ? LIMIT 1"
        return self.db.execute(sql, (gen, gen)).fetchone() is not None

    def retire_article(self, aid: int, gen: int) -> list[int]:
        """Mark an article version and its passages deleted in ``gen``; returns the retired passage ids."""
        pids = [
            r[0]
            for r in self.db.execute("SELECT pid FROM passages WHERE aid = ? AND deleted_gen IS NULL", (aid,))
        ]
        self.db.execute("UPDATE articles SET deleted_gen = ? WHERE aid = ?", (gen, aid))
        self.db.execute(
            "UPDATE passages SET deleted_gen = ? WHERE aid = ? AND deleted_gen IS NULL", (gen, aid)
        )
        return pids

    def add_article(
        self,
        article: Article,
        content_hash: str,
        passages: list[Passage],
        dropped: list[Dropped],
        hashes: list[str],
        gen: int,
    ) -> list[int]:
        """Insert an article version with its passages; returns the new passage ids in order."""
        cur = self.db.execute(
            "INSERT INTO articles(article_id, content_hash, title, date, source, url, metadata, origin, text, "
            "added_gen) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                article.article_id,
                content_hash,
                article.title,
                article.date,
                article.source,
                article.url,
                json.dumps(article.metadata, ensure_ascii=False, default=str),
                article.origin,
                article.text,
                gen,
            ),
        )
        aid = cur.lastrowid
        pids = []
        for i, (p, h) in enumerate(zip(passages, hashes, strict=True)):
            cur = self.db.execute(
                "INSERT INTO passages(aid, ordinal, start, end, text, text_hash, added_gen) VALUES (?,?,?,?,?,?,?)",
                (aid, i, p.start, p.end, p.text, h, gen),
            )
            pids.append(cur.lastrowid)
        self.db.executemany(
            "INSERT INTO dropped(aid, start, end, reason) VALUES (?,?,?,?)",
            [(aid, d.start, d.end, d.reason) for d in dropped],
        )
        return pids

    def add_features(self, pids: list[int], features: list) -> None:
        """Store claim features (``index.intel.ClaimFeatures``, one per passage id) and their entities,
        replacing any stored for these ids (``reindex`` re-extracts). Keyed by passage id: they are
        visible exactly when their passage is (uncommitted until ``commit``)."""
        from index.extraction import entity_class

        rows, ents = [], []
        for pid, f in zip(pids, features, strict=True):
            sp = f.speaker
            speaker = (sp.name or sp.text) if sp is not None else None
            day = f.event_date.date_start if f.event_date is not None else None
            d = f.to_dict()
            rows.append(
                (pid, json.dumps(d, ensure_ascii=False), speaker, f.mode, int(f.hedged), f.checkworthy, day)
            )
            seen = set()
            for e in f.entities:
                key = (e.label, e.canonical)
                if e.canonical and key not in seen:
                    seen.add(key)
                    ents.append((pid, e.label, e.canonical, entity_class(e.label)))
        for i in range(0, len(pids), 900):
            chunk = [int(p) for p in pids[i : i + 900]]
            marks = ",".join("?" * len(chunk))
            self.db.execute(f"DELETE FROM passage_entities WHERE passage_id IN ({marks})", chunk)
        self.db.executemany("INSERT OR REPLACE INTO claim_features VALUES (?,?,?,?,?,?,?)", rows)
        self.db.executemany("INSERT INTO passage_entities VALUES (?,?,?,?)", ents)
        self.features_added = self.features_added or bool(rows)

    def commit(self) -> None:
        self.db.commit()

    def deleted_since(self, gen_from: int, gen_to: int) -> list[int]:
        """Passage ids deleted in generations ``gen_from < g <= gen_to``."""
        return [
            r[0]
            for r in self.db.execute(
                "SELECT pid FROM passages WHERE deleted_gen > ? AND deleted_gen <= ?", (gen_from, gen_to)
            )
        ]

    def counts(self, gen: int) -> dict[str, int]:
        one = lambda sql: self.db.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "articles": one(f"SELECT count(*) FROM articles a WHERE {visible('a', gen)}"),
            "passages": one(f"SELECT count(*) FROM passages p WHERE {visible('p', gen)}"),
            "dropped": one(
                f"SELECT count(*) FROM dropped d JOIN articles a ON a.aid = d.aid WHERE {visible('a', gen)}"
            ),
            # passages with claim features: equal to "passages" when every passage has them
            "claim_features": one(
                "SELECT count(*) FROM passages p JOIN claim_features f ON f.passage_id = p.pid "
                f"WHERE {visible('p', gen)}"
            ),
        }
