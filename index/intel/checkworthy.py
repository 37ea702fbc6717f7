"""Check-worthiness: the probability (0..1) that a sentence holds a verifiable factual claim worth checking.

A logistic regression over three blocks of features, trained on CLEF CheckThat! 2024 Task 1 English
by ``bench/train_checkworthiness.py`` (train + dev):

1. the MiniLM sentence embedding (384 floats, the vectors ingest computes anyway);
2. a few lexical cue counts (:data:`LEXICAL_NAMES`); blocks 1 and 2 are standardised, the
   standardisation folded into the shipped coefficients;
3. optionally TF-IDF of word 1-2-grams, computed here exactly as scikit-learn's ``TfidfVectorizer``
   (lower case, tokens of 2+ word characters, sublinear tf, smooth idf, L2 norm), times ``tfidf_weight``.

Its coefficients ship as JSON beside this module (``checkworthy.json``: no pickle), with the decision
threshold chosen by cross-validation on train+dev and the measured F1(Yes). numpy only at run time;
scikit-learn only to train.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

WEIGHTS = Path(__file__).with_name("checkworthy.json")

_NUM = re.compile(r"\b\d[\d,.]*\b")
_PATTERNS: dict[str, re.Pattern[str]] = {
    "number": _NUM,
    "percent": re.compile(r"%|\bper ?cent\b", re.I),
    "money": re.compile(
        r"\$|\b(?:dollars?|billions?|millions?|trillions?|budget|tax(?:es)?|deficit|debt)\b", re.I
    ),
    "year": re.compile(r"\b(?:1[89]|20)\d\d\b"),
    "first_person": re.compile(r"\b(?:I|I'm|I've|me|my|we|we're|our|us)\b"),
    "second_person": re.compile(r"\b(?:you|your|you're)\b", re.I),
    "question": re.compile(r"\?"),
    "exclaim": re.compile(r"!"),
    "quantity": re.compile(
        r"\b(?:more|less|fewer|most|than|increase[ds]?|decrease[ds]?|cut|raised?|higher|lower|doubled?|"
        r"tripled?|half|percent|rate|number|jobs|unemployment|average|record)\b",
        re.I,
    ),
    "fact_verb": re.compile(
        r"\b(?:voted|passed|signed|created|lost|spent|killed|built|increased|reduced|has been|have been|"
        r"was|were|is the|are the|according to|report(?:ed|s)?)\b",
        re.I,
    ),
    "opinion": re.compile(
        r"\b(?:think|believe|feel|hope|want|wish|should|must|going to|will|would|could|may|might|"
        r"let me|thank|congratulat\w*|good evening|great|wonderful|terrible)\b",
        re.I,
    ),
    "named": re.compile(r"(?<!^)(?<![.!?] )\b[A-Z][a-z]+"),
}
LEXICAL_NAMES = ["log_tokens", *(f"n_{k}" for k in _PATTERNS)]


def lexical_features(texts: list[str]) -> np.ndarray:
    """``(len(texts), len(LEXICAL_NAMES))`` float32: log token count, then the count of each cue kind
    (each count squashed with ``log1p``)."""
    out = np.zeros((len(texts), len(LEXICAL_NAMES)), dtype=np.float32)
    for i, t in enumerate(texts):
        out[i, 0] = math.log1p(len(t.split()))
        for j, rx in enumerate(_PATTERNS.values(), 1):
            out[i, j] = math.log1p(len(rx.findall(t)))
    return out


def features(texts: list[str], embeddings: np.ndarray) -> np.ndarray:
    """The model's input: ``embeddings`` (``(n, 384)``, L2-normalised MiniLM) then the lexical features."""
    emb = np.asarray(embeddings, dtype=np.float32)
    if emb.shape[0] != len(texts):
        raise ValueError(f"{len(texts)} texts but {emb.shape[0]} embeddings")
    return np.hstack([emb, lexical_features(texts)])


_WORD = re.compile(r"(?u)\b\w\w+\b")


def ngrams(text: str, n_max: int = 2) -> list[str]:
    """scikit-learn's default word analyzer: lower case, tokens of 2+ word characters, then 1..n_max-grams
    joined by a space (unigrams first)."""
    toks = _WORD.findall(text.lower())
    out = list(toks)
    for n in range(2, n_max + 1):
        out += [" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1)]
    return out


def tfidf_scores(texts: list[str], tfidf: dict) -> np.ndarray:
    """``(n,)`` contribution of the TF-IDF block: ``weight * (tfidf(text) . coef)`` with sublinear tf,
    the shipped idf and an L2 norm over every vocabulary term of the text."""
    vocab, out = tfidf["vocab"], np.zeros(len(texts))
    for i, text in enumerate(texts):
        counts: dict[int, int] = {}
        for g in ngrams(text, tfidf["n_max"]):
            j = vocab.get(g)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        if not counts:
            continue
        idx = np.fromiter(counts, dtype=np.int64)
        w = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64))) * tfidf["idf"][idx]
        out[i] = tfidf["weight"] * float(w @ tfidf["coef"][idx]) / float(np.sqrt(w @ w))
    return out


@lru_cache(maxsize=2)
def load_model(path: str | None = None) -> dict:
    """The shipped model (``checkworthy.json``) as a dict with numpy arrays for ``coef`` (and, when it
    has a TF-IDF block, ``tfidf`` with ``vocab`` as a term -> column dict)."""
    model = json.loads(Path(path or WEIGHTS).read_text(encoding="utf-8"))
    model["coef"] = np.asarray(model["coef"], dtype=np.float64)
    if model.get("tfidf"):
        t = model["tfidf"]
        t["vocab"] = {term: j for j, term in enumerate(t["terms"])}
        t["idf"] = np.asarray(t["idf"], dtype=np.float64)
        t["coef"] = np.asarray(t["coef"], dtype=np.float64)
    return model


def score(texts: list[str], embeddings: np.ndarray, model: dict | None = None) -> np.ndarray:
    """Check-worthiness of each text, ``(n,)`` float64 in [0, 1].

    ``embeddings`` must come from the model the weights were trained with (MiniLM, see
    ``model["embedding_model"]``); with other vectors the scores are meaningless. Raises
    ``ValueError`` when the feature width does not match the shipped coefficients.
    """
    model = model or load_model()
    X = features(texts, embeddings)
    if X.shape[1] != model["coef"].shape[0]:
        raise ValueError(f"checkworthy: {X.shape[1]} features, the model expects {model['coef'].shape[0]}")
    z = X.astype(np.float64) @ model["coef"] + model["intercept"]
    if model.get("tfidf"):
        z = z + tfidf_scores(texts, model["tfidf"])
    return 1.0 / (1.0 + np.exp(-z))
