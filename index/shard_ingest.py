"""Ingest into a sharded index (``claims ingest PATH --shards N``): route each article, then run the
ordinary ingest (``index.ingest.ingest``) once per shard over its articles, or (``--ray``) one Ray
ingest that sends each planned article to its shard's writer (``index.ray_ingest``).

The sources are read once to route every article id (``index.shards.assign``: the shard that holds
it, else its hash), then once more per shard that receives articles, keeping that shard's records in
input order (so the last record of an id still wins). Reading and splitting cost ~1 % of an ingest
(embedding is the rest), so the extra reads are cheap; nothing is held in memory but the routing
table. Each shard commits under its own write lock, as any index does; a crash leaves every shard
at its last commit, and the next run finishes the rest (unchanged articles are no-ops).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from index.ingest import IngestReport, _read, ingest
from index.records import Problem
from index.run_base import nothing_ingested
from index.shards import assign, create, is_sharded, read_shards
from index.sources import FieldMap


def ingest_sharded(
    index_dir: Path,
    paths: Sequence[str | Path],
    shards: int | None = None,
    fields: FieldMap = FieldMap(),
    source: str | None = None,
    progress=None,
    ray: str | None = None,
    workers: int = 2,
    **kw,
) -> IngestReport:
    """Ingest ``paths`` into the sharded index ``index_dir`` (made with ``shards`` shards when new).

    ``kw``: the options of ``index.ingest.ingest`` (model, strict, wait, embed_fields, extract...).
    ``ray``: run on Ray at this address (``index.ray_ingest.ingest_ray`` with ``routes``: one plan
    stage and one pool of ``workers`` embedding actors for every shard, one writer per shard).
    Returns one report summed over the shards (``generation``: the sum of the shards' generations,
    the sharded index's generation).

    Raises:
        ShardError: ``shards`` disagrees with the index, or ``index_dir`` is an ordinary index.
        ClaimsError: nothing could be ingested at all.
    """

    progress = progress or (lambda *a, **k: None)
    index_dir = Path(index_dir)
    if shards is not None or not is_sharded(index_dir):
        create(index_dir, shards if shards is not None else 1)
    m = read_shards(index_dir)
    problems: list[Problem] = []
    ids: list[str] = []
    for item in _read(paths, fields, source, lambda *a, **k: None):
        if isinstance(item, Problem):
            problems.append(item)
        else:
            ids.append(item.article_id)
    where = assign(index_dir, ids)
    if ray is not None and where:
        from index.ray_ingest import ingest_ray

        dirs = dict(m.dirs(index_dir))
        total = ingest_ray(
            index_dir,
            paths,
            address=ray,
            workers=workers,
            fields=fields,
            source=source,
            progress=progress,
            routes={aid: dirs[n] for aid, n in where.items()},
            **kw,
        )
        total.generation = sum(_generation(d) for _, d in m.dirs(index_dir))
        return total
    per_shard = Counter(where.values())
    total = IngestReport()
    reported = False  # the problems go with the first shard's ingest (logged in its catalog)
    for number, d in m.dirs(index_dir):
        if not per_shard.get(number):
            continue

        def stream(number=number, mine=not reported):
            quiet = lambda *a, **k: None  # noqa: E731
            for item in _read(paths, fields, source, progress if mine else quiet):
                if isinstance(item, Problem):
                    if mine:
                        yield item
                elif where[item.article_id] == number:
                    yield item

        report = ingest(d, paths, fields=fields, source=source, progress=progress, articles=stream(), **kw)
        reported = True
        _add(total, report)
    if not reported:  # no article at all: report the problems as an ordinary ingest does
        for p in problems:
            total.failed += int(p.fatal)
            total.problems.append(("warning: " if not p.fatal else "") + str(p))
            progress("problem", problem=p)
    if total.ingested == 0:
        raise nothing_ingested(paths, total.failed)
    total.generation = sum(_generation(d) for _, d in m.dirs(index_dir))
    return total


def _add(total: IngestReport, report: IngestReport) -> None:
    for f in dataclasses.fields(IngestReport):
        a, b = getattr(total, f.name), getattr(report, f.name)
        if f.name == "problems":
            a.extend(b)
        elif isinstance(a, int | float) and not isinstance(a, bool):
            setattr(total, f.name, a + b)


def _generation(d: Path) -> int:
    from index.manifest import MANIFEST, read_manifest

    return read_manifest(d).generation if (d / MANIFEST).exists() else 0


# -- the other writers, shard by shard ------------------------------------------------------------
def _shard_dirs(index_dir: Path) -> list[tuple[int, Path]]:
    """The shards that hold an index (a shard nothing was routed to yet has no folder to write)."""
    from index.manifest import MANIFEST

    return [(n, d) for n, d in read_shards(index_dir).dirs(index_dir) if (d / MANIFEST).exists()]


def delete_sharded(index_dir: Path, article_ids: Sequence[str], wait: bool = True) -> tuple[int, list[str]]:
    """``index.ingest.delete`` on the shard holding each article. Returns ``(deleted, missing ids)``."""
    from index.ingest import delete
    from index.shards import holders

    dirs = _shard_dirs(index_dir)
    held = holders(dirs, list(article_ids))
    deleted = 0
    for n, d in dirs:
        mine = [a for a in article_ids if held.get(a) == n]
        if mine:
            deleted += delete(d, mine, wait=wait)[0]
    return deleted, [a for a in article_ids if a not in held]


def repair_sharded(index_dir: Path) -> dict:
    """``index.repair.repair`` on every shard; the counts summed."""
    from index.repair import repair

    out = {"passages": 0, "seconds": 0.0, "shards": 0}
    for _, d in _shard_dirs(index_dir):
        r = repair(d)
        out["passages"] += r["passages"]
        out["seconds"] += r["seconds"]
        out["shards"] += 1
    return out


def reindex_sharded(index_dir: Path, **kw) -> dict:
    """``index.ingest.reindex`` on every shard (same options); the counts summed."""
    from index.ingest import reindex

    out: dict = {}
    for _, d in _shard_dirs(index_dir):
        for k, v in reindex(d, **kw).items():
            if isinstance(v, int | float):
                out[k] = out.get(k, 0) + v
    return out
