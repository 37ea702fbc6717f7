"""Sharded indexes: a folder whose shard manifest names N ordinary index folders.

Layout of a sharded index folder ``DIR``::

    DIR/shards.json          the shard manifest (this module; written atomically, like manifest.json)
    DIR/shards.lock          flock held while the shard manifest changes
    DIR/shard-00/ ...        ordinary index folders (catalog, Whoosh, FAISS, manifest.json each)

``shards.json``: ``{"format": "claims-shards", "format_version": 1, "route": [0, 1, 2],
"shards": [{"number": 0, "path": "shard-00"}, ...]}``. ``route`` lists the shards new articles are
hashed over; it never changes once written, so routing is stable. A shard added with
``claims shard add`` keeps the articles it holds but takes no new ones by hash.

**Routing** (``route``): an article goes to the shard that already holds its id (a re-ingest, or an
article of an added shard); otherwise to ``route[h % len(route)]``, ``h`` the first 8 bytes of
``blake2b(article_id)`` (big-endian). Python's ``hash`` is salted per process, so it is never used.

**Passage ids** (``global_pid``): ``shard number * SHARD_BASE + the shard's own passage id`` (its SQLite
row id), ``SHARD_BASE = 10**11``: passage 42 of shard 3 is ``300000000042``, and shard 0's ids are its
own (an index added as shard 0 keeps its ids). Unique across shards, and as stable as a single index's
ids (an unchanged article keeps them; a changed one gets new ones). They stay below ``2**48``
(``index.ids.FIELD_SHIFT``) for up to 2,814 shards.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from index.errors import ClaimsError, IndexCorruptError, IndexVersionError
from index.manifest import CATALOG, MANIFEST, atomic_write_bytes, read_manifest

SHARDS = "shards.json"
SHARDS_LOCK = "shards.lock"
FORMAT = "claims-shards"
FORMAT_VERSION = 1
SHARD_BASE = 10**11
MAX_SHARDS = 2814  # (2**48 - 1) // SHARD_BASE: global ids stay below index.ids.FIELD_SHIFT


class ShardError(ClaimsError):
    """A shard operation that cannot be done (the message names the fix)."""


@dataclass
class Shard:
    number: int
    path: str  # relative to the sharded folder, or absolute


@dataclass
class ShardManifest:
    """What ``shards.json`` holds: the shards and the ones new articles are hashed over."""

    shards: list[Shard] = field(default_factory=list)
    route: list[int] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "route": self.route,
                "shards": [{"number": s.number, "path": s.path} for s in self.shards],
            },
            indent=2,
        )

    def dirs(self, root: Path) -> list[tuple[int, Path]]:
        """``(shard number, folder)`` of every shard, in manifest order."""
        return [
            (s.number, (Path(root) / s.path) if not Path(s.path).is_absolute() else Path(s.path))
            for s in self.shards
        ]


# -- passage ids --------------------------------------------------------------------------------
def global_pid(shard: int, local: int) -> int:
    """The sharded index's id of passage ``local`` of shard ``shard``."""
    return int(shard) * SHARD_BASE + int(local)


def split_pid(pid: int) -> tuple[int, int]:
    """``(shard number, the shard's passage id)`` of a global passage id."""
    return divmod(int(pid), SHARD_BASE)


def route_hash(article_id: str) -> int:
    """A stable 64-bit hash of an article id (same on every machine and process)."""
    return int.from_bytes(hashlib.blake2b(article_id.encode("utf-8"), digest_size=8).digest(), "big")


def route(article_id: str, route_over: Sequence[int]) -> int:
    """The shard a new article goes to by hash (``route_over``: the manifest's ``route``)."""
    return route_over[route_hash(article_id) % len(route_over)]


# -- the manifest -------------------------------------------------------------------------------
def is_sharded(index_dir: Path | str) -> bool:
    """Is ``index_dir`` a sharded index (it holds ``shards.json``)?"""
    return (Path(index_dir) / SHARDS).is_file()


def read_shards(index_dir: Path) -> ShardManifest:
    """Read and check ``index_dir/shards.json``.

    Raises:
        IndexCorruptError: unreadable; IndexVersionError: another format version.
    """
    path = Path(index_dir) / SHARDS
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError("not a claims shard manifest")
        version = int(data["format_version"])
        shards = [Shard(int(s["number"]), str(s["path"])) for s in data["shards"]]
        route_over = [int(n) for n in data["route"]]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise IndexCorruptError(
            f"{path} is unreadable ({e.__class__.__name__}): restore it, or rebuild the sharded index "
            "with `claims shard add`"
        ) from None
    if version != FORMAT_VERSION:
        raise IndexVersionError(
            f"shard manifest format {version} at {index_dir}: this tool reads {FORMAT_VERSION}; "
            "upgrade with `pip install -U claims`"
        )
    return ShardManifest(shards, route_over)


def write_shards(index_dir: Path, m: ShardManifest) -> None:
    atomic_write_bytes(Path(index_dir) / SHARDS, m.to_json().encode("utf-8"))


class _ShardsLock:
    """An exclusive flock on ``shards.lock`` while the shard manifest changes."""

    def __init__(self, index_dir: Path):
        Path(index_dir).mkdir(parents=True, exist_ok=True)
        self.fh = open(Path(index_dir) / SHARDS_LOCK, "a")  # noqa: SIM115 - released in __exit__
        fcntl.flock(self.fh, fcntl.LOCK_EX)

    def __enter__(self) -> _ShardsLock:
        return self

    def __exit__(self, *exc) -> None:
        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()


def validate_count(n: int) -> None:
    if not 1 <= n <= MAX_SHARDS:
        raise ShardError(f"--shards {n}: give a number of shards from 1 to {MAX_SHARDS}")


def create(index_dir: Path, n: int) -> ShardManifest:
    """Make ``index_dir`` a sharded index of ``n`` shards ``shard-00``... (folders made by their first
    ingest), or return its manifest when it already is one with ``n`` hashed shards.

    Raises:
        ShardError: ``index_dir`` is an ordinary index, or a sharded one hashing over another count.
    """
    validate_count(n)
    index_dir = Path(index_dir)
    with _ShardsLock(index_dir):
        if is_sharded(index_dir):
            m = read_shards(index_dir)
            if len(m.route) != n:
                raise ShardError(
                    f"{index_dir} hashes articles over {len(m.route)} shards, not {n}: drop --shards "
                    "or give a new --index"
                )
            return m
        if (index_dir / MANIFEST).exists():
            raise ShardError(
                f"{index_dir} is an ordinary index: make a sharded one with `claims shard add {index_dir} "
                "--index NEW_DIR`, or drop --shards"
            )
        width = max(2, len(str(n - 1)))
        m = ShardManifest([Shard(i, f"shard-{i:0{width}d}") for i in range(n)], list(range(n)))
        write_shards(index_dir, m)
        return m


def add_shard(index_dir: Path, shard_dir: Path) -> Shard:
    """Add the ordinary index ``shard_dir`` to the sharded index ``index_dir`` (created when new).

    The shard keeps its articles and passage ids (``global_pid`` with its number); new articles are
    not hashed to it. Returns the new ``Shard``.

    Raises:
        IndexNotFoundError...: ``shard_dir`` is not a readable index.
        ShardError: it is already a shard, is sharded itself, was built with another model, or holds
            an article id another shard holds.
    """
    index_dir, shard_dir = Path(index_dir), Path(shard_dir)
    if is_sharded(shard_dir):
        raise ShardError(f"{shard_dir} is a sharded index: add its shards one by one")
    added = read_manifest(shard_dir)
    with _ShardsLock(index_dir):
        if (index_dir / MANIFEST).exists():
            raise ShardError(f"{index_dir} is an ordinary index: give a new or sharded --index")
        m = read_shards(index_dir) if is_sharded(index_dir) else ShardManifest()
        if len(m.shards) >= MAX_SHARDS:
            raise ShardError(f"{index_dir} already has {MAX_SHARDS} shards, the most passage ids allow")
        ids = article_ids(shard_dir, added.generation)
        for number, d in m.dirs(index_dir):
            if d.resolve() == shard_dir.resolve():
                raise ShardError(f"{shard_dir} is already shard {number} of {index_dir}")
            if not (d / MANIFEST).exists():
                continue  # an empty shard (nothing routed to it yet)
            other = read_manifest(d)
            if (
                other.model
                and added.model
                and (other.model, other.dimension) != (added.model, added.dimension)
            ):
                raise ShardError(
                    f"{shard_dir} was built with {added.model}, shard {number} with {other.model}: "
                    f"re-embed it with `claims reindex --model {other.model} --index {shard_dir}`"
                )
            both = ids & article_ids(d, other.generation)
            if both:
                raise ShardError(
                    f"{shard_dir} and shard {number} both hold article {sorted(both)[0]!r} "
                    f"(and {len(both) - 1} more): `claims delete` it from one of them first"
                )
        number = max((s.number for s in m.shards), default=-1) + 1
        try:
            rel = shard_dir.resolve().relative_to(index_dir.resolve())
            path = str(rel)
        except ValueError:
            path = str(shard_dir.resolve())
        shard = Shard(number, path)
        m.shards.append(shard)
        write_shards(index_dir, m)
        return shard


# -- catalogs -----------------------------------------------------------------------------------
def article_ids(shard_dir: Path, gen: int) -> set[str]:
    """The live article ids of an ordinary index at generation ``gen``."""
    from index.catalog_reader import CatalogReader, visible

    cat = CatalogReader(Path(shard_dir) / CATALOG, gen)
    try:
        return {r[0] for r in cat.db.execute(f"SELECT article_id FROM articles a WHERE {visible('a', gen)}")}
    finally:
        cat.close()


def holders(dirs: Iterable[tuple[int, Path]], ids: Sequence[str]) -> dict[str, int]:
    """``{article id: shard number}`` for the ids of ``ids`` some shard holds (live, at its manifest)."""
    out: dict[str, int] = {}
    for number, d in dirs:
        if not (d / MANIFEST).exists():
            continue
        gen = read_manifest(d).generation
        from index.catalog_reader import visible

        db = sqlite3.connect(f"file:{d / CATALOG}?mode=ro", uri=True)
        try:
            for i in range(0, len(ids), 900):
                chunk = list(ids[i : i + 900])
                sql = (
                    f"SELECT article_id FROM articles a WHERE article_id IN ({','.join('?' * len(chunk))}) "
                    f"AND {visible('a', gen)}"
                )
                for (aid,) in db.execute(sql, chunk):
                    out.setdefault(aid, number)
        finally:
            db.close()
    return out


def assign(index_dir: Path, ids: Iterator[str]) -> dict[str, int]:
    """``{article id: shard number}``: the holder of each id, else its hashed shard (``route``)."""
    m = read_shards(index_dir)
    ids = list(dict.fromkeys(ids))
    held = holders(m.dirs(index_dir), ids)
    if not m.route and len(held) < len(ids):
        raise ShardError(
            f"{index_dir} takes no new articles (its shards were added with `claims shard add`): "
            "ingest into one of its shards, then nothing else is needed"
        )
    return {a: held[a] if a in held else route(a, m.route) for a in ids}
