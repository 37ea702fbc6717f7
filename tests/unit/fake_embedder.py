"""A deterministic stand-in for ``index.embed.Embedder``: hashed character n-grams, no model.

Each text becomes the signed sum of its features (every lowercased word, and the 3- and 4-grams of
``#word#``), each hashed (BLAKE2b, so the same in every process) to one of 384 dimensions with a
sign, then L2-normalised: float32, unit length, so inner product is cosine as with the real model.
Texts sharing words or word pieces score higher than unrelated ones, which is all a unit test of
the plumbing (ingest, the dense leg, fusion, the CLI) needs; ranking quality is tested with the
real model in ``tests/integration``.

``tests/unit/conftest.py`` puts it in place of ``index.embed.Embedder`` for every unit test.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

DIMENSION = 384  # all-MiniLM-L6-v2's, so stores and manifests have the real shape
NAME = "fake/hashed-char-ngrams-384"
NGRAMS = (3, 4)
_WORD = re.compile(r"\w+")


def features(text: str) -> list[str]:
    """The hashed features of ``text``: its lowercased words and their padded character n-grams."""
    out = []
    for word in _WORD.findall(text.lower()):
        out.append("w:" + word)
        padded = f"#{word}#"
        for n in NGRAMS:
            out += ["g:" + padded[i : i + n] for i in range(max(1, len(padded) - n + 1))]
    return out or ["<empty>"]  # every text gets a unit vector, as the real model gives one


def _slot(feature: str) -> tuple[int, float]:
    digest = hashlib.blake2b(feature.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    h = int.from_bytes(digest, "little")
    return h % DIMENSION, (1.0 if (h >> 63) & 1 else -1.0)


class HashingEmbedder:
    """Same interface as ``index.embed.Embedder`` (``name``, ``path``, ``dimension``, ``batch_size``,
    ``device``, ``encode``, ``encode_query``); ``model`` is accepted and ignored."""

    def __init__(self, model: str | None = None, batch_size: int = 64, device: str | None = None):
        self.name = NAME
        self.path = ""  # nothing on disk: a searcher falls back to ``name``, which matches
        self.batch_size = batch_size
        self.device = "cpu"
        self.texts_encoded = 0

    @property
    def dimension(self) -> int:
        return DIMENSION

    def encode(self, texts: list[str]) -> np.ndarray:
        """``(len(texts), 384)`` float32, each row unit length."""
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature in features(text):
                slot, sign = _slot(feature)
                out[row, slot] += sign
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        # a text whose features cancel out exactly still gets a unit vector
        out[norms[:, 0] == 0, 0] = 1.0
        norms[norms == 0] = 1.0
        self.texts_encoded += len(texts)
        return np.ascontiguousarray(out / norms, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        """One query vector, ``(384,)`` float32."""
        return self.encode([text])[0]
