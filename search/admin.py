"""Read-only inspection of an index folder: ``claims stats`` and ``claims check``."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from index.catalog_reader import CatalogReader
from index.embcache import EMBCACHE, check_cache
from index.errors import ClaimsError
from index.manifest import CATALOG, read_manifest


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def index_stats(index_dir: Path) -> dict[str, Any]:
    """Counts, sources, date range, model, format and bytes on disk per store."""
    from search.lexical import open_lexical_readonly

    m = read_manifest(index_dir)
    cat = CatalogReader(Path(index_dir) / CATALOG, m.generation)
    try:
        st = cat.stats()
    finally:
        cat.close()
    _, searcher = open_lexical_readonly(Path(index_dir) / m.lexical_dir)
    schema = searcher.schema  # not ix.schema: it re-reads the newest TOC, which a commit may delete
    searcher.close()
    core = {"passage_id", "pid", "gen", "source_id"}
    st.update(
        model=m.model,
        dimension=m.dimension,
        format_version=m.format_version,
        tool_version=m.tool_version,
        generation=m.generation,
        vectors_kind=m.vectors_kind,
        updated=m.updated,
        fields=sorted(n for n in schema.names() if n not in core and not n.endswith("*")),
        metadata_fields=m.metadata_fields,
        bytes={
            "catalog": sum(_size(Path(index_dir) / f"{CATALOG}{s}") for s in ("", "-wal", "-shm")),
            "lexical": _size(Path(index_dir) / m.lexical_dir),
            "vectors": _size(Path(index_dir) / m.vectors_file) if m.vectors_file else 0,
            "embeddings": sum(_size(Path(index_dir) / f"{EMBCACHE}{s}") for s in ("", "-wal", "-shm")),
        },
    )
    return st


def check_index(index_dir: Path) -> dict[str, Any]:
    """Do catalog, Whoosh and FAISS hold exactly the same passage ids, do the checksums match, and does
    the embedding cache (``index.embcache``) hold a sound vector for every passage of the generation?"""
    from whoosh.query import NumericRange

    from index.ids import vector_field_no, vector_passage_id
    from index.vector_store import VectorStore
    from search.impacts import ImpactIndex
    from search.lexical import open_lexical_readonly, pid_column

    problems: list[str] = []
    notes: list[str] = []  # no disagreement, but worth knowing
    m = read_manifest(index_dir)
    d = Path(index_dir)
    cat = CatalogReader(d / CATALOG, m.generation)
    try:
        catalog_ids = cat.passage_ids()
        # Whoosh may still hold documents of passages retired in the last batch (purged by the next);
        # those are not a disagreement, but any other difference is.
        retired = {
            r[0]
            for r in cat.db.execute(
                "SELECT pid FROM passages WHERE deleted_gen > ? AND deleted_gen <= ?",
                (m.lexical_purged_gen, m.generation),
            )
        }
        integrity = cat.db.execute("PRAGMA quick_check").fetchone()[0]
        if integrity != "ok":
            problems.append(f"catalog integrity: {integrity}")
        cache_problems = check_cache(d, cat.db, m.generation, m.model, m.dimension)
    finally:
        cat.close()
    uncommitted: set[int] = set()
    try:
        _, searcher = open_lexical_readonly(d / m.lexical_dir)
        with searcher as s:
            col = pid_column(s.reader())
            lexical_ids = {int(col[n]) for n in s.reader().all_doc_ids()}
            # Documents stamped after the committed generation belong to a batch that is running or
            # was interrupted (the next writer removes them): not part of this generation.
            uncommitted = {int(col[n]) for n in NumericRange("gen", m.generation + 1, None).docs(s)}
            lexical_ids -= uncommitted
            if s.doc_count_all() and ImpactIndex.open(s, d / m.lexical_dir) is None:
                notes.append(
                    "keyword impact arrays are missing or stale: keyword search falls back to Whoosh "
                    "(same ranking, slower at scale); the next ingest or `claims repair` writes them"
                )
    except ClaimsError as e:
        problems.append(str(e))
        lexical_ids = set()
    vector_ids: set[int] = set()
    if m.vectors_file:
        path = d / m.vectors_file
        if not path.exists():
            problems.append(f"vector store {path} is missing")
        else:
            sha = hashlib.sha256(path.read_bytes()).hexdigest()
            if sha != m.vectors_sha256:
                problems.append(f"vector store {path} does not match the manifest's checksum")
            try:
                all_ids = VectorStore.load(path).ids().astype(np.int64)
            except ClaimsError as e:
                problems.append(str(e))
                all_ids = np.zeros(0, dtype=np.int64)
            # Article field vectors (``--embed-field``) hang off their article's first passage id.
            is_field = vector_field_no(all_ids) > 0
            vector_ids = set(all_ids[~is_field].tolist())
            orphans = set(vector_passage_id(all_ids[is_field]).tolist()) - catalog_ids
            if orphans:
                problems.append(f"FAISS holds field vectors of {len(orphans)} passages the catalog doesn't")
    for name, ids in (("Whoosh", lexical_ids - retired), ("FAISS", vector_ids)):
        missing, extra = catalog_ids - ids, ids - catalog_ids
        if missing:
            problems.append(
                f"{name} lacks {len(missing)} passages of the catalog (e.g. {sorted(missing)[:5]})"
            )
        if extra:
            problems.append(
                f"{name} holds {len(extra)} passages the catalog doesn't (e.g. {sorted(extra)[:5]})"
            )
    if m.counts.get("passages") != len(catalog_ids):
        problems.append(
            f"manifest counts {m.counts.get('passages')} passages, the catalog {len(catalog_ids)}"
        )
    if problems:
        problems.append(
            f"fix: `claims repair --index {index_dir}` rebuilds Whoosh and FAISS from the catalog"
        )
    problems += cache_problems  # each names its own fix
    return {
        "ok": not problems,
        "passages": len(catalog_ids),
        "problems": problems,
        "notes": notes,
        "generation": m.generation,
        "uncommitted": len(uncommitted),
    }
