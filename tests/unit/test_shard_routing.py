"""Routing, passage ids and the shard manifest of a sharded index (``index.shards``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from index.errors import IndexCorruptError, IndexVersionError
from index.ids import FIELD_SHIFT
from index.shards import (
    MAX_SHARDS,
    SHARD_BASE,
    SHARDS,
    ShardError,
    create,
    global_pid,
    is_sharded,
    read_shards,
    route,
    route_hash,
    split_pid,
    validate_count,
)

ROOT = Path(__file__).resolve().parents[2]


def test_route_hash_is_blake2b_of_the_id_and_the_same_in_every_process():
    import hashlib

    want = int.from_bytes(hashlib.blake2b(b"kyiv/2023-05-01", digest_size=8).digest(), "big")
    assert route_hash("kyiv/2023-05-01") == want
    ids = [f"article-{i}" for i in range(50)]
    here = [route(a, [0, 1, 2]) for a in ids]
    code = f"from index.shards import route; print([route(a, [0, 1, 2]) for a in {ids!r}])"
    for seed in ("1", "2"):  # Python's own str hash changes with the seed; the route must not
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            check=True,
        )
        assert json.loads(out.stdout) == here


def test_route_spreads_ids_over_every_listed_shard():
    counts = Counter(route(f"a{i}", [0, 1, 2, 3]) for i in range(4000))
    assert set(counts) == {0, 1, 2, 3}
    assert min(counts.values()) > 900  # 1000 each expected
    assert {route(f"a{i}", [5, 7]) for i in range(100)} == {5, 7}  # the listed numbers, not 0..n-1


def test_global_passage_ids_round_trip_and_read_as_shard_and_local():
    assert global_pid(3, 42) == 300_000_000_042
    assert global_pid(0, 42) == 42  # shard 0 keeps its own ids
    assert split_pid(300_000_000_042) == (3, 42)
    for shard, local in [(0, 1), (1, SHARD_BASE - 1), (MAX_SHARDS - 1, 12345)]:
        g = global_pid(shard, local)
        assert split_pid(g) == (shard, local)
        assert g < 1 << FIELD_SHIFT  # room for the field-vector bits of index.ids


def test_create_writes_a_manifest_and_is_idempotent(tmp_path):
    d = tmp_path / "idx"
    m = create(d, 3)
    assert is_sharded(d)
    assert [s.path for s in m.shards] == ["shard-00", "shard-01", "shard-02"] and m.route == [0, 1, 2]
    again = read_shards(d)
    assert again == m
    assert create(d, 3) == m
    with pytest.raises(ShardError, match="over 3 shards, not 4"):
        create(d, 4)
    assert [p for _, p in m.dirs(d)] == [d / "shard-00", d / "shard-01", d / "shard-02"]


def test_create_refuses_an_ordinary_index_and_bad_counts(tmp_path):
    (tmp_path / "manifest.json").write_text("{}")
    with pytest.raises(ShardError, match="ordinary index"):
        create(tmp_path, 2)
    for bad in (0, -1, MAX_SHARDS + 1):
        with pytest.raises(ShardError, match="--shards"):
            validate_count(bad)


def test_a_damaged_or_newer_shard_manifest_is_one_clear_error(tmp_path):
    create(tmp_path, 2)
    (tmp_path / SHARDS).write_text("{not json")
    with pytest.raises(IndexCorruptError, match="unreadable"):
        read_shards(tmp_path)
    (tmp_path / SHARDS).write_text(
        json.dumps({"format": "claims-shards", "format_version": 9, "route": [], "shards": []})
    )
    with pytest.raises(IndexVersionError, match="upgrade"):
        read_shards(tmp_path)
