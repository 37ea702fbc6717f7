"""Shared test setup: offline model loading and an index folder that is never inside the repository."""

from __future__ import annotations

import os

import pytest

# The bundled model loads from local disk; nothing may be fetched from a hub during the tests.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True)
def _isolated_index(tmp_path, monkeypatch):
    """Point the default index (``CLAIMS_INDEX``) at a fresh temp folder: no test writes into the repo."""
    monkeypatch.setenv("CLAIMS_INDEX", str(tmp_path / "claims-index"))
    monkeypatch.delenv("CLAIMS_MODEL", raising=False)
    monkeypatch.delenv("CLAIMS_DEBUG", raising=False)
