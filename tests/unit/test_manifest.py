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


def test_format_versions_read_and_refused(tmp_path):
    """Format 2 (the embedding cache in its own file) is current; format 1 (the cache in the catalog) is
    still read (its first writer migrates it); anything older or newer is one line naming the fix."""
    import pytest

    from index.errors import IndexVersionError
    from index.manifest import FORMAT_VERSION, MIN_FORMAT_VERSION

    assert (MIN_FORMAT_VERSION, FORMAT_VERSION) == (1, 2)
    write_manifest(tmp_path, Manifest(generation=4, model="m"))
    data = json.loads(manifest_path(tmp_path).read_text(encoding="utf-8"))
    assert data["format_version"] == 2
    for version in (1, 2):
        manifest_path(tmp_path).write_text(json.dumps(data | {"format_version": version}), encoding="utf-8")
        assert read_manifest(tmp_path).format_version == version
    for version, fix in ((0, "claims reindex"), (3, "pip install -U claims")):
        manifest_path(tmp_path).write_text(json.dumps(data | {"format_version": version}), encoding="utf-8")
        with pytest.raises(IndexVersionError, match=fix):
            read_manifest(tmp_path)
