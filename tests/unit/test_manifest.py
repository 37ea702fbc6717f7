"""The manifest round trip, and manifests written by earlier versions of this format."""

from __future__ import annotations

import json

from index.manifest import Manifest, manifest_path, read_manifest, write_manifest


def test_round_trip(tmp_path):
    m = Manifest(generation=3, model="m", dimension=384, counts={"passages": 7}, embed_fields=["title"])
    write_manifest(tmp_path, m)
    assert read_manifest(tmp_path) == m


def test_keys_this_version_dropped_are_ignored(tmp_path):
    """``normalized`` (always true, never read) was dropped from the manifest: indexes that still carry
    it, or any key this version does not know, open as before."""
    write_manifest(tmp_path, Manifest(generation=2, model="m"))
    data = json.loads(manifest_path(tmp_path).read_text(encoding="utf-8"))
    assert "normalized" not in data
    data |= {"normalized": True, "from_a_later_patch": [1]}
    manifest_path(tmp_path).write_text(json.dumps(data), encoding="utf-8")
    back = read_manifest(tmp_path)
    assert (back.generation, back.model) == (2, "m") and not hasattr(back, "normalized")
