"""``claims ingest --ray`` extracts claim features as a local ingest does (issue 13): the extraction
stage runs as Ray tasks beside the embedding actors, the driver stores the features with their passages."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from test_ray_ingest import assert_same_index, needs_ray


def features(index: Path) -> dict[tuple, tuple[dict, list]]:
    """``{(article_id, ordinal): (claim_features JSON, sorted passage_entities rows)}`` of the live passages."""
    from index.manifest import CATALOG

    with sqlite3.connect(index / CATALOG) as db:
        rows = db.execute(
            "SELECT p.pid, a.article_id, p.ordinal, f.json FROM passages p JOIN articles a ON a.aid = p.aid "
            "JOIN claim_features f ON f.passage_id = p.pid WHERE p.deleted_gen IS NULL AND a.deleted_gen IS NULL"
        ).fetchall()
        ents: dict[int, list] = {}
        for pid, *row in db.execute("SELECT passage_id, label, canonical, class FROM passage_entities"):
            ents.setdefault(pid, []).append(tuple(row))
    return {(aid, ordinal): (json.loads(js), sorted(ents.get(pid, []))) for pid, aid, ordinal, js in rows}


@pytest.mark.ray
@needs_ray
def test_ray_ingest_stores_the_claim_features_a_local_ingest_stores(ray_cluster, sample_build, tmp_path):
    from index.manifest import read_manifest
    from index.ray_ingest import ingest_ray

    index = tmp_path / "ray"
    report = ingest_ray(index, sample_build.inputs, address="local", workers=2, chunk=64)
    assert report.passages == sample_build.report.passages
    assert_same_index(index, sample_build.path)
    ours, theirs = features(index), features(sample_build.path)
    assert len(ours) == report.passages == read_manifest(index).counts["claim_features"]
    assert ours.keys() == theirs.keys()
    for key, (f, ents) in ours.items():
        g, gents = theirs[key]
        assert ents == gents, key
        # check-worthiness comes from the vectors, equal to 1e-5: its 4th decimal may round apart
        assert f.pop("checkworthy") == pytest.approx(g.pop("checkworthy"), abs=2e-4), key
        assert f == g, key
    # by hand: the Defense Ministry seed passage carries its claim on Ray too
    mig = [f for f, _ in ours.values() if f["speaker"] and "Defense Ministry" in f["speaker"]["text"]]
    assert any(
        f["mode"] == "reported"
        and ("MiG-31", "aircraft") in {(e["canonical"], e["label"]) for e in f["entities"]}
        and "Kaliningrad" in {e["canonical"] for e in f["entities"]}
        for f in mig
    )


@pytest.mark.ray
@needs_ray
def test_ray_ingest_without_extraction_leaves_them_for_reindex(ray_cluster, sample_build, tmp_path):
    from index.ray_ingest import ingest_ray

    index = tmp_path / "ray"
    ingest_ray(index, sample_build.inputs[:1], address="local", workers=1, extract=False)
    assert features(index) == {}
