"""Train the check-worthiness model shipped in ``index/intel/checkworthy.json``.

    .venv/bin/python bench/train_checkworthiness.py [--data DIR] [--out index/intel/checkworthy.json]

Data: CLEF CheckThat! 2024 Task 1 English (``DIR/{train,dev,devtest}.tsv``: ``id<TAB>text<TAB>label``).
The model is scikit-learn's ``LogisticRegression`` over the MiniLM sentence embedding of each sentence
(``index.embed.Embedder``, the vectors ingest already computes) concatenated with the lexical features
of ``index.intel.checkworthy.lexical_features`` and (optionally) TF-IDF word n-grams. The TF-IDF block
(none, 1-grams, 1-2-grams), the regularisation ``C`` and the decision threshold are chosen on dev (F1
of the Yes class); devtest is scored once, for the chosen model, for the README. The
coefficients are written as JSON (no pickle). Embeddings are cached under ``bench/out/`` (keyed by
the texts' hash), so a re-run skips the several-minute encode.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from index.intel import checkworthy  # noqa: E402

DATA = REPO.parent / "shared" / "bench" / "checkworthiness-ct24-en"
CACHE = REPO / "bench" / "out"
TFIDF_WEIGHT = 3.0  # the TF-IDF block's scale beside the standardised dense features


def read_tsv(path: Path) -> tuple[list[str], np.ndarray]:
    """``(texts, labels)`` of an ``id<TAB>text<TAB>label`` file (label Yes -> 1)."""
    texts, labels = [], []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) < 3:
            raise SystemExit(f"{path}:{n}: expected id<TAB>text<TAB>label, got {len(parts)} fields")
        texts.append(parts[1])
        labels.append(1 if parts[-1].strip().lower() in {"yes", "1", "true"} else 0)
    return texts, np.array(labels, dtype=np.int8)


def embed_cached(texts: list[str], tag: str) -> np.ndarray:
    """MiniLM vectors of ``texts``, cached in ``bench/out/cw-emb-<tag>-<hash>.npy``."""
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = CACHE / f"cw-emb-{tag}-{digest}.npy"
    if path.exists():
        return np.load(path)
    from index.embed import Embedder

    vecs = Embedder().encode(texts)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vecs)
    return vecs


def prf_yes(y: np.ndarray, pred: np.ndarray) -> tuple[float, float, float]:
    """Precision, recall and F1 of the positive (Yes) class."""
    tp = int(((pred == 1) & (y == 1)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def f1_yes(y: np.ndarray, pred: np.ndarray) -> float:
    return prf_yes(y, pred)[2]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, default=Path(checkworthy.WEIGHTS))
    ap.add_argument("--embed-only", action="store_true", help="fill the embedding cache and stop")
    args = ap.parse_args(argv)
    splits = {s: read_tsv(args.data / f"{s}.tsv") for s in ("train", "dev", "devtest")}
    emb = {s: embed_cached(t, s) for s, (t, _) in splits.items()}
    if args.embed_only:
        return 0
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    X = {s: checkworthy.features(splits[s][0], emb[s]) for s in splits}
    y = {s: splits[s][1] for s in splits}
    mu, sd = X["train"].mean(0), X["train"].std(0) + 1e-6
    Z = {s: (X[s] - mu) / sd for s in X}
    best = None
    for n_max in (0, 1, 2):  # 0: no TF-IDF block
        vec = None
        F = Z
        if n_max:
            vec = TfidfVectorizer(ngram_range=(1, n_max), min_df=3, sublinear_tf=True)
            T = {
                s: vec.fit_transform(splits[s][0]) if s == "train" else vec.transform(splits[s][0])
                for s in splits
            }
            F = {s: hstack([csr_matrix(Z[s]), T[s] * TFIDF_WEIGHT]).tocsr() for s in splits}
        for C in (0.1, 0.3, 1.0, 3.0):
            clf = LogisticRegression(C=C, max_iter=5000).fit(F["train"], y["train"])
            p = clf.predict_proba(F["dev"])[:, 1]
            for t in np.arange(0.2, 0.81, 0.02):
                f = f1_yes(y["dev"], (p >= t).astype(int))
                if best is None or f > best[0]:
                    best = (f, n_max, C, float(t), clf, vec, F)
            print(f"tfidf 1-{n_max}-grams C={C}: best dev F1(Yes) so far {best[0]:.4f}", flush=True)
    f_dev, n_max, C, thr, clf, vec, F = best
    p_dt = clf.predict_proba(F["devtest"])[:, 1]
    f_dt = f1_yes(y["devtest"], (p_dt >= thr).astype(int))
    dense = clf.coef_[0][: Z["train"].shape[1]]
    # Fold the standardisation into the coefficients: z = w . x + b on the raw dense features.
    w = dense / sd
    b = float(clf.intercept_[0] - (dense * mu / sd).sum())
    tfidf = None
    if vec is not None:
        terms = sorted(vec.vocabulary_, key=vec.vocabulary_.get)
        tfidf = {
            "n_max": n_max,
            "min_df": 3,
            "weight": TFIDF_WEIGHT,
            "terms": terms,
            "idf": [round(float(v), 5) for v in vec.idf_],
            "coef": [round(float(v), 5) for v in clf.coef_[0][Z["train"].shape[1] :]],
        }
    model = {
        "format": "claims-checkworthy/1",
        "trained_on": "CLEF CheckThat! 2024 Task 1 English train (22,501 sentences)",
        "command": "python bench/train_checkworthiness.py",
        "embedding_model": "sentence-transformers/all-MiniLM-L6-v2",
        "lexical_features": checkworthy.LEXICAL_NAMES,
        "C": C,
        "threshold": round(thr, 4),
        "dev_f1_yes": round(f_dev, 4),
        "devtest_f1_yes": round(f_dt, 4),
        "intercept": b,
        "coef": [round(float(v), 6) for v in w],
        "tfidf": tfidf,
    }
    args.out.write_text(json.dumps(model, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"chosen on dev: TF-IDF 1-{n_max}-grams (0 = none), C={C}, threshold={thr:.2f}")
    print(f"dev F1(Yes)={f_dev:.4f}  devtest F1(Yes)={f_dt:.4f}  -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
