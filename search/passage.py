"""A passage as ``claims show`` prints it: its neighbours in the article, its provenance and its claim
features (``claims show --json``, ``GET /api/passages/{id}``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from search.hits import FEATURE_FIELDS, Hit
from search.searcher import Searcher


def show(index_dir: Path | None, passage_id: int, context: int = 1) -> dict[str, Any]:
    """A passage with its neighbours in the article, its provenance and its claim features (the
    ``search.hits`` fields ``speaker`` ... ``checkworthy``) (``claims show``)."""
    with Searcher(index_dir) as s:
        return passage_view(s, passage_id, context)


def passage_view(searcher: Searcher, passage_id: int, context: int = 1) -> dict[str, Any]:
    """What ``show`` returns, from an open ``Searcher`` (``claims show --json`` and the HTTP API)."""
    row = searcher.catalog.passage(passage_id)
    row["neighbours"] = [
        n for n in searcher.catalog.neighbours(passage_id, context, context) if n["passage_id"] != passage_id
    ]
    hit = Hit(passage_id)  # the claim features, as in a hit's JSON (null / empty when none)
    hit.set_features(searcher.catalog.features([passage_id]).get(passage_id))
    row.update({k: getattr(hit, k) for k in FEATURE_FIELDS})
    return row
