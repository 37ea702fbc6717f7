"""Read-only access to the SQLite catalog, the source of truth of an index.

Every row carries the generation that added it (``added_gen``) and, once replaced or deleted, the
generation that removed it (``deleted_gen``). A reader pinned to the manifest's generation ``G``
sees exactly the rows with ``added_gen <= G < deleted_gen``: rows that an unfinished batch wrote
are invisible until its manifest lands (snapshot isolation, as in MVCC databases).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from index.errors import IndexCorruptError, NotFoundError


def visible(alias: str, gen: int) -> str:
    """SQL condition: the row of table ``alias`` is visible at generation ``gen``."""
    gen = int(gen)
    return f"({alias}.added_gen <= {gen} AND ({alias}.deleted_gen IS NULL OR {alias}.deleted_gen > {gen}))"


def damaged_catalog(path: Path | str, error: Exception) -> IndexCorruptError:
    """The one-line error for a catalog SQLite cannot read (on open, or found mid-query)."""
    return IndexCorruptError(
        f"catalog {path} is damaged ({error}): restore it from a backup or re-ingest the sources "
        "into a new index (the Whoosh and FAISS stores are rebuilt from it, not the reverse)"
    )


PASSAGE_COLUMNS = (
    "p.pid, p.ordinal, p.start, p.end, p.text, a.article_id, a.title, a.date, a.source, a.url, a.metadata"
)


def passage_row(row: sqlite3.Row | tuple) -> dict[str, Any]:
    """A catalog row (``PASSAGE_COLUMNS``) as a dict."""
    pid, ordinal, start, end, text, article_id, title, date, source, url, metadata = row
    return {
        "passage_id": pid,
        "ordinal": ordinal,
        "start": start,
        "end": end,
        "text": text,
        "article_id": article_id,
        "title": title or "",
        "date": date,
        "source": source or "",
        "url": url or "",
        "metadata": json.loads(metadata) if metadata else {},
    }


class PassageLookup:
    """``passage(pid)`` over a ``passages(pids)`` (one catalog, or ``search.sharded``'s view over shards)."""

    def passages(self, pids: Iterable[int]) -> dict[int, dict[str, Any]]:
        raise NotImplementedError

    def passage(self, pid: int) -> dict[str, Any]:
        """The visible passage ``pid`` as ``passages`` gives it.

        Raises:
            NotFoundError: No visible passage with that id (names how to find ids).
        """
        got = self.passages([pid])
        if pid not in got:
            raise NotFoundError(f"no passage {pid} in this index: find ids with `claims search ... --json`")
        return got[pid]


class CatalogReader(PassageLookup):
    """Queries over the catalog at one committed generation."""

    def __init__(self, path: Path, gen: int, readonly: bool = True):
        self.path = Path(path)
        self.gen = gen
        if readonly and not self.path.exists():
            raise IndexCorruptError(
                f"catalog {self.path} is missing: the index cannot be rebuilt without it; "
                "re-ingest the sources into a new index"
            )
        uri = f"file:{self.path}?mode=ro" if readonly else f"file:{self.path}"
        try:
            self.db = sqlite3.connect(uri, uri=True, timeout=60, check_same_thread=False)
            self.db.execute("PRAGMA query_only = 1" if readonly else "PRAGMA query_only = 0")
            self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as e:
            raise damaged_catalog(self.path, e) from None

    def close(self) -> None:
        self.db.close()

    # -- passages -----------------------------------------------------------------------------
    def passages(self, pids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """Visible passages by id (ids that are not visible are left out)."""
        pids = [int(p) for p in pids]
        out: dict[int, dict[str, Any]] = {}
        for i in range(0, len(pids), 900):
            chunk = pids[i : i + 900]
            marks = ",".join("?" * len(chunk))
            sql = (
                f"SELECT {PASSAGE_COLUMNS} FROM passages p JOIN articles a ON a.aid = p.aid "
                f"WHERE p.pid IN ({marks}) AND {visible('p', self.gen)}"
            )
            for row in self.db.execute(sql, chunk):
                out[row[0]] = passage_row(row)
        return out

    def visible_dates(self, pids: Iterable[int]) -> dict[int, str | None]:
        """``{pid: article date}`` for the ids among ``pids`` visible at this generation (the snapshot
        check every search makes; the dates feed ``--around``), 900 ids a query."""
        ids = sorted(int(p) for p in pids)
        out: dict[int, str | None] = {}
        for i in range(0, len(ids), 900):
            chunk = ids[i : i + 900]
            sql = (
                f"SELECT p.pid, a.date FROM passages p JOIN articles a ON a.aid = p.aid "
                f"WHERE p.pid IN ({','.join('?' * len(chunk))}) AND {visible('p', self.gen)}"
            )
            out.update(self.db.execute(sql, chunk))
        return out

    def neighbours(self, pid: int, before: int = 1, after: int = 1) -> list[dict[str, Any]]:
        """The passages around ``pid`` in its article, in order (including ``pid``)."""
        p = self.passage(pid)
        sql = (
            f"SELECT {PASSAGE_COLUMNS} FROM passages p JOIN articles a ON a.aid = p.aid "
            f"WHERE a.article_id = ? AND {visible('p', self.gen)} AND {visible('a', self.gen)} "
            "AND p.ordinal BETWEEN ? AND ? ORDER BY p.ordinal"
        )
        args = (p["article_id"], p["ordinal"] - before, p["ordinal"] + after)
        return [passage_row(r) for r in self.db.execute(sql, args)]

    def iter_passages(self, batch: int = 2000) -> Iterator[dict[str, Any]]:
        """Every visible passage in id order (streamed)."""
        last = -1
        while True:
            sql = (
                f"SELECT {PASSAGE_COLUMNS}, p.text_hash, p.added_gen FROM passages p JOIN articles a ON a.aid = p.aid "
                f"WHERE p.pid > ? AND {visible('p', self.gen)} ORDER BY p.pid LIMIT ?"
            )
            rows = self.db.execute(sql, (last, batch)).fetchall()
            if not rows:
                return
            for r in rows:
                d = passage_row(r[:-2])
                d["text_hash"], d["added_gen"] = r[-2], r[-1]
                yield d
            last = rows[-1][0]

    def passage_ids(self) -> set[int]:
        return {r[0] for r in self.db.execute(f"SELECT pid FROM passages p WHERE {visible('p', self.gen)}")}

    def article_text(self, article_id: str) -> str:
        row = self.db.execute(
            f"SELECT text FROM articles a WHERE article_id = ? AND {visible('a', self.gen)}", (article_id,)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no article {article_id!r} in this index")
        return row[0]

    # -- claim features ---------------------------------------------------------------------------
    def has_features(self) -> bool:
        """Whether this catalog has the claim-feature tables (an index written before them has not)."""
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'claim_features'"
        return self.db.execute(sql).fetchone() is not None

    def features(self, pids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """Stored claim features (``ClaimFeatures.to_dict()``) by passage id; ids without any are left out."""
        if not self.has_features():
            return {}
        pids = [int(p) for p in pids]
        out: dict[int, dict[str, Any]] = {}
        for i in range(0, len(pids), 900):
            chunk = pids[i : i + 900]
            sql = f"SELECT passage_id, json FROM claim_features WHERE passage_id IN ({','.join('?' * len(chunk))})"
            out.update((pid, json.loads(js)) for pid, js in self.db.execute(sql, chunk))
        return out

    def feature_pids(
        self,
        speaker: str | tuple[str, ...] | None = None,
        mode: str | None = None,
        entities: dict[str, list[str]] | None = None,
        checkworthy: float | None = None,
    ) -> set[int]:
        """Visible passage ids whose claim features match every condition given.

        Args:
            speaker: Case-insensitive substring of the speaker's name (``Putin`` matches ``Vladimir Putin``),
                or a tuple of alternatives (a name and its canonical form, ``index.intel.names``).
            mode: ``quote``, ``reported`` or ``assertion``.
            entities: ``{class: [canonical names]}`` (class ``any``, ``place``, ``weapon``, ``person``,
                ``org``, ``nationality``); each name must be present (case-insensitive, whole name); a
                name may be a tuple of alternatives (a name and its gazetteer canonical name).
            checkworthy: Minimum check-worthiness in [0, 1].
        """
        where, args = [visible("p", self.gen)], []
        if speaker:
            alternatives = (speaker,) if isinstance(speaker, str) else tuple(speaker)
            where.append("(" + " OR ".join(["f.speaker LIKE ? ESCAPE '\\'"] * len(alternatives)) + ")")
            args += [
                "%" + s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                for s in alternatives
            ]
        if mode:
            where.append("f.mode = ?")
            args.append(mode)
        if checkworthy is not None:
            where.append("f.checkworthy >= ?")
            args.append(float(checkworthy))
        for cls, names in (entities or {}).items():
            for name in names:
                alts = [name] if isinstance(name, str) else list(name)
                marks = ",".join("?" * len(alts))
                sub = (
                    f"SELECT passage_id FROM passage_entities e WHERE e.canonical COLLATE NOCASE IN ({marks})"
                )
                args.extend(alts)
                if cls != "any":
                    sub += " AND e.class = ?"
                    args.append(cls)
                where.append(f"p.pid IN ({sub})")
        sql = (
            "SELECT p.pid FROM passages p JOIN claim_features f ON f.passage_id = p.pid WHERE "
            + " AND ".join(where)
        )
        return {r[0] for r in self.db.execute(sql, args)}

    def speaker_names(self) -> list[str]:
        """The distinct speaker names (a name, else the speaker's text) of the visible passages."""
        if not self.has_features():
            return []
        sql = (
            "SELECT DISTINCT f.speaker FROM passages p JOIN claim_features f ON f.passage_id = p.pid "
            f"WHERE {visible('p', self.gen)} AND f.speaker IS NOT NULL"
        )
        return [r[0] for r in self.db.execute(sql)]

    def speaker_pids(self, names: Iterable[str]) -> set[int]:
        """Visible passage ids whose speaker is one of ``names`` (exactly, as ``speaker_names`` gives them)."""
        return self._pids_in("SELECT f.passage_id FROM claim_features f WHERE f.speaker IN ({})", list(names))

    def entity_names(self, cls: str = "any") -> list[str]:
        """The distinct canonical entity names of class ``cls`` (``any``: every class) in the visible passages."""
        if not self.has_features():
            return []
        cond, args = ("", []) if cls == "any" else ("AND e.class = ?", [cls])
        sql = (
            "SELECT DISTINCT e.canonical FROM passages p JOIN passage_entities e ON e.passage_id = p.pid "
            f"WHERE {visible('p', self.gen)} {cond}"
        )
        return [r[0] for r in self.db.execute(sql, args)]

    def entity_pids(self, cls: str, names: Iterable[str]) -> set[int]:
        """Visible passage ids naming one of ``names`` (canonical, case-insensitive) of class ``cls``
        (``any``: every class)."""
        sql = "SELECT e.passage_id FROM passage_entities e WHERE e.canonical COLLATE NOCASE IN ({})"
        if cls != "any":
            sql += " AND e.class = ?"
        return self._pids_in(sql, list(names), [] if cls == "any" else [cls])

    def _pids_in(self, sub: str, values: list[str], extra: list | None = None) -> set[int]:
        """Visible passage ids of ``sub`` (a SELECT of passage ids with one ``IN ({})``), 900 values a query."""
        out: set[int] = set()
        if not values or not self.has_features():
            return out
        for i in range(0, len(values), 900):
            chunk = values[i : i + 900]
            inner = sub.format(",".join("?" * len(chunk)))
            sql = f"SELECT p.pid FROM passages p WHERE {visible('p', self.gen)} AND p.pid IN ({inner})"
            out.update(r[0] for r in self.db.execute(sql, [*chunk, *(extra or [])]))
        return out

    def checkworthy_pids(
        self, lo: float | None, hi: float | None, lo_excl: bool = False, hi_excl: bool = False
    ) -> set[int]:
        """Visible passage ids whose check-worthiness is in the range (None: open; ``*_excl``: exclusive)."""
        if not self.has_features():
            return set()
        where, args = [visible("p", self.gen), "f.checkworthy IS NOT NULL"], []
        if lo is not None:
            where.append(f"f.checkworthy {'>' if lo_excl else '>='} ?")
            args.append(float(lo))
        if hi is not None:
            where.append(f"f.checkworthy {'<' if hi_excl else '<='} ?")
            args.append(float(hi))
        sql = (
            "SELECT p.pid FROM passages p JOIN claim_features f ON f.passage_id = p.pid WHERE "
            + " AND ".join(where)
        )
        return {r[0] for r in self.db.execute(sql, args)}

    def number_rows(self, kind: str) -> list[tuple[int, str | None, float, float]]:
        """``(passage id, unit, low, high)`` of every quantity of ``kind`` (``index.intel.numbers``:
        ``aircraft``, ``casualties``, ``distance``...) in the visible passages (``low == high`` but for
        vague quantities such as "dozens of"). Read from the stored JSON once per kind and generation
        and kept: rows visible at a committed generation never change."""
        cache = self.__dict__.setdefault("_number_cache", {})
        if (self.gen, kind) not in cache:
            cache[(self.gen, kind)] = list(self._number_rows(kind))
        return cache[(self.gen, kind)]

    def _number_rows(self, kind: str) -> Iterator[tuple[int, str | None, float, float]]:
        if not self.has_features():
            return
        sql = (
            "SELECT p.pid, json_extract(n.value, '$.unit'), json_extract(n.value, '$.value'), "
            "json_extract(n.value, '$.low'), json_extract(n.value, '$.high') "
            "FROM passages p JOIN claim_features f ON f.passage_id = p.pid, json_each(f.json, '$.numbers') n "
            f"WHERE {visible('p', self.gen)} AND json_extract(n.value, '$.kind') = ?"
        )
        for pid, unit, value, low, high in self.db.execute(sql, (kind,)):
            yield pid, unit, float(value if low is None else low), float(value if high is None else high)

    def facet_counts(self, pids: Iterable[int], by: str) -> dict[str, int]:
        """``{value: passages}`` among the visible ``pids`` for facet ``by``: ``speaker``, ``mode``,
        ``source``, ``month`` (``YYYY-MM`` of the article date) or an entity class (``place``,
        ``weapon``, ``person``, ``org``, ``nationality``: canonical names). Passages without a value
        are not counted; each passage counts once per value. 900 ids a query, summed."""
        columns = {
            "speaker": ("f.speaker", "JOIN claim_features f ON f.passage_id = p.pid"),
            "mode": ("f.mode", "JOIN claim_features f ON f.passage_id = p.pid"),
            "source": ("a.source", "JOIN articles a ON a.aid = p.aid"),
            "month": ("substr(a.date, 1, 7)", "JOIN articles a ON a.aid = p.aid"),
        }
        if by in columns:
            value, join = columns[by]
            count, cond = "count(*)", ""
        else:
            value, join = "e.canonical", "JOIN passage_entities e ON e.passage_id = p.pid"
            count, cond = "count(DISTINCT p.pid)", "AND e.class = ?"
        if ("claim_features" in join or "passage_entities" in join) and not self.has_features():
            return {}
        ids = sorted({int(p) for p in pids})
        out: dict[str, int] = {}
        for i in range(0, len(ids), 900):
            chunk = ids[i : i + 900]
            sql = (
                f"SELECT {value}, {count} FROM passages p {join} WHERE p.pid IN ({','.join('?' * len(chunk))}) "
                f"AND {visible('p', self.gen)} {cond} AND {value} IS NOT NULL AND {value} != '' GROUP BY 1"
            )
            for v, n in self.db.execute(sql, [*chunk, *([by] if cond else [])]):
                out[v] = out.get(v, 0) + n
        return out

    # -- stats ----------------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        g = self.gen
        one = lambda sql: self.db.execute(sql).fetchone()  # noqa: E731
        articles, first, last = one(
            f"SELECT count(*), min(date), max(date) FROM articles a WHERE {visible('a', g)}"
        )
        passages = one(f"SELECT count(*) FROM passages p WHERE {visible('p', g)}")[0]
        dropped = dict(
            self.db.execute(
                "SELECT d.reason, count(*) FROM dropped d JOIN articles a ON a.aid = d.aid "
                f"WHERE {visible('a', g)} GROUP BY d.reason ORDER BY d.reason"
            ).fetchall()
        )
        sources = dict(
            self.db.execute(
                f"SELECT coalesce(source, ''), count(*) FROM articles a WHERE {visible('a', g)} "
                "GROUP BY 1 ORDER BY 2 DESC, 1"
            ).fetchall()
        )
        batches = one("SELECT count(*) FROM batches WHERE status = 'committed'")[0]
        return {
            "articles": articles,
            "passages": passages,
            "dropped": sum(dropped.values()),
            "dropped_by_reason": dropped,
            "sources": sources,
            "date_range": [first, last],
            "batches": batches,
        }
