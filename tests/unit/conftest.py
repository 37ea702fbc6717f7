"""The unit tier never loads the embedding model: the fake embedder is in place, and a guard fails
any unit test that reaches for the real one.

Around every phase of every test in ``tests/unit`` (setup, so module- and session-scoped fixtures
too, call and teardown) and around the import of each unit test module:

* ``index.embed.Embedder`` is ``fake_embedder.HashingEmbedder`` (deterministic, no model), and
  ingest/reindex skip the claim-intelligence stage by default (``index.extraction.DEFAULT``: spaCy
  imports torch; the stage is tested in ``tests/integration``);
* the real loader ``index.embed._load``, ``SentenceTransformer(...)`` (when already imported by an
  integration test in the same session) and any fresh import of ``sentence_transformers``,
  ``transformers`` or ``torch`` trip the guard. A trip raises ``RealModelUsed`` where it happens
  and, should the test swallow that, fails the phase afterwards all the same.

A test that needs the real model belongs in ``tests/integration``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fake_embedder import HashingEmbedder  # tests/unit is on sys.path (pytest's rootdir-less conftest)

MODEL_MODULES = ("sentence_transformers", "transformers", "torch")


class RealModelUsed(AssertionError):
    """A unit test reached for the real embedding model."""


class ModelGuard:
    """Records and refuses every use of the real model while active (also a ``sys.meta_path`` finder)."""

    def __init__(self) -> None:
        self.trips: list[str] = []

    def trip(self, what: str):
        self.trips.append(what)
        raise RealModelUsed(
            f"a unit test used the real embedding model ({what}): the unit tier runs on the fake "
            "embedder (tests/unit/fake_embedder.py); move a test that needs the model to tests/integration"
        )

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in MODEL_MODULES:
            self.trip(f"import {name}")
        return None  # anything else: the next finder

    @contextmanager
    def active(self) -> Iterator[ModelGuard]:
        import index.embed
        import index.extraction

        mp = pytest.MonkeyPatch()
        mp.setattr(index.embed, "Embedder", HashingEmbedder)
        mp.setattr(index.extraction, "DEFAULT", False)
        mp.setattr(index.embed, "_load", lambda path, device: self.trip(f"index.embed._load({path!r})"))
        st = sys.modules.get("sentence_transformers")
        if st is not None:
            mp.setattr(st.SentenceTransformer, "__init__", lambda *a, **k: self.trip("SentenceTransformer()"))
        sys.meta_path.insert(0, self)
        try:
            yield self
        finally:
            sys.meta_path.remove(self)
            mp.undo()

    def check(self, phase: str) -> None:
        """Fail ``phase`` if the guard tripped during it (even if the test caught the error)."""
        trips, self.trips = self.trips, []
        if trips:
            pytest.fail(f"{phase}: the real embedding model was used: {'; '.join(trips)}", pytrace=False)


GUARD = ModelGuard()


def _guarded(phase: str):
    with GUARD.active():
        result = yield
    GUARD.check(phase)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    return (yield from _guarded("setup"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    return (yield from _guarded("call"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    return (yield from _guarded("teardown"))


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    """Importing a unit test module is guarded too (a module-level model load fails its collection)."""
    with GUARD.active():
        report = yield
    if GUARD.trips:
        trips, GUARD.trips = GUARD.trips, []
        report.outcome = "failed"
        report.longrepr = (
            f"collecting {collector.nodeid}: the real embedding model was used: {'; '.join(trips)}"
        )
    return report


@pytest.fixture
def model_guard() -> ModelGuard:
    """The active guard, for tests of the guard itself (they clear ``trips`` after asserting on them)."""
    return GUARD
