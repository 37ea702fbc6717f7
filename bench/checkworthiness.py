"""F1 of the Yes class of the shipped check-worthiness model on an ``id<TAB>text<TAB>label`` file.

    .venv/bin/python bench/checkworthiness.py --data ../shared/bench/checkworthiness-ct24-en/devtest.tsv

Scores every sentence with ``index.intel.checkworthy`` (MiniLM embedding + lexical features, the
weights in ``index/intel/checkworthy.json``) and applies the threshold chosen at training time (by
cross-validation on train+dev, the splits the model is fitted on: its F1 on dev is in-sample; the
out-of-fold dev figure is in the weights file, ``cv_dev_f1_yes``).
Embeddings are cached under ``bench/out/`` by the texts' hash. Prints precision, recall and F1 of
``Yes`` (the official CheckThat! measure) and the scoring time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.train_checkworthiness import embed_cached, prf_yes, read_tsv  # noqa: E402
from index.intel import checkworthy  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="F1(Yes) of the shipped check-worthiness model on a TSV file.")
    ap.add_argument("--data", type=Path, required=True, help="id<TAB>text<TAB>label file (label Yes/No)")
    args = ap.parse_args(argv)
    if not args.data.is_file():
        print(f"--data {args.data}: no such file (an id<TAB>text<TAB>label .tsv)", file=sys.stderr)
        return 2
    texts, y = read_tsv(args.data)
    t0 = time.perf_counter()
    emb = embed_cached(texts, args.data.stem)
    model = checkworthy.load_model()
    scores = checkworthy.score(texts, emb, model)
    pred = (scores >= model["threshold"]).astype(np.int8)
    p, r, f = prf_yes(y, pred)
    print(
        f"{args.data}: {len(texts)} sentences, {int(y.sum())} Yes; threshold {model['threshold']} "
        f"({model.get('chosen_by', 'chosen on dev')})"
    )
    print(
        f"P(Yes)={p:.3f} R(Yes)={r:.3f} F1(Yes)={f:.3f}  ({time.perf_counter() - t0:.1f} s incl. embedding)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
