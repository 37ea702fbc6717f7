"""``claims stats`` and ``claims check`` on a sharded index (``index.shards``): each shard is an
ordinary index, inspected by ``search.admin``; the figures are summed and the problems named by shard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from index.manifest import MANIFEST
from index.shards import read_shards


def _shards(index_dir: Path) -> list[tuple[int, Path]]:
    return [(n, d) for n, d in read_shards(index_dir).dirs(index_dir) if (d / MANIFEST).exists()]


def sharded_stats(index_dir: Path) -> dict[str, Any]:
    """``search.admin.index_stats`` summed over shards (model and format of the first), with
    ``shards``: per shard ``{number, path, articles, passages, generation}``.

    Raises:
        IndexNotFoundError: no shard holds anything yet.
    """
    from index.errors import IndexNotFoundError
    from search.admin import index_stats

    per = [(n, d, index_stats(d)) for n, d in _shards(index_dir)]
    if not per:
        raise IndexNotFoundError(
            f"the sharded index {index_dir} holds nothing yet: `claims ingest PATH --index {index_dir}`"
        )
    out = dict(per[0][2])
    for key in ("articles", "passages", "dropped", "batches", "generation"):
        out[key] = sum(st.get(key, 0) for _, _, st in per)
    for key in ("dropped_by_reason", "sources"):
        merged: dict[str, int] = {}
        for _, _, st in per:
            for k, v in st[key].items():
                merged[k] = merged.get(k, 0) + v
        out[key] = (
            dict(sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))) if key == "sources" else merged
        )
    firsts = [st["date_range"][0] for _, _, st in per if st["date_range"][0]]
    lasts = [st["date_range"][1] for _, _, st in per if st["date_range"][1]]
    out["date_range"] = [min(firsts, default=None), max(lasts, default=None)]
    out["metadata_fields"] = sorted({f for _, _, st in per for f in st["metadata_fields"]})
    out["fields"] = sorted({f for _, _, st in per for f in st["fields"]})
    out["vectors_kind"] = ",".join(sorted({st["vectors_kind"] for _, _, st in per}))
    out["bytes"] = {k: sum(st["bytes"][k] for _, _, st in per) for k in per[0][2]["bytes"]}
    out["shards"] = [
        {
            "number": n,
            "path": str(d),
            "articles": st["articles"],
            "passages": st["passages"],
            "generation": st["generation"],
        }
        for n, d, st in per
    ]
    return out


def sharded_check(index_dir: Path) -> dict[str, Any]:
    """``search.admin.check_index`` on every shard, plus the sharded index's own rules: one model, and
    every article in one shard only. Problems are prefixed ``shard N:``; the fix for a shard's is
    ``claims repair --index DIR`` (it repairs every shard)."""
    from index.shards import article_ids
    from search.admin import check_index

    problems: list[str] = []
    notes: list[str] = []
    passages = 0
    seen: dict[str, int] = {}
    models = set()
    shards = _shards(index_dir)
    for n, d in shards:
        r = check_index(d)
        passages += r["passages"]
        problems += [f"shard {n} ({d}): {p}" for p in r["problems"] if not p.startswith("fix:")]
        notes += [f"shard {n}: {p}" for p in r["notes"]]
        from index.manifest import read_manifest

        m = read_manifest(d)
        models.add((m.model, m.dimension))
        for a in article_ids(d, m.generation):
            if a in seen:
                problems.append(
                    f"article {a!r} is in shard {seen[a]} and shard {n}: `claims delete` it from one"
                )
            seen.setdefault(a, n)
    if len(models) > 1:
        problems.append(f"shards were built with different models {sorted(models)}: `claims reindex --model`")
    if not shards:
        notes.append("no shard holds anything yet")
    if problems:
        problems.append(f"fix: `claims repair --index {index_dir}` rebuilds every shard's Whoosh and FAISS")
    return {
        "ok": not problems,
        "passages": passages,
        "problems": problems,
        "notes": notes,
        "shards": len(shards),
    }
