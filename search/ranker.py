"""The learned fusion of ``claims tune``: a LightGBM LambdaMART ranker (Burges, "From RankNet to
LambdaRank to LambdaMART", MSR-TR-2010-82) over features every hybrid search already computes.

Per candidate (a passage either text leg retrieved), ``FEATURES``: for the keyword and the semantic
leg, whether it retrieved the passage, its raw score, 1/rank, z-score within the leg and the ratio to
the leg's best score; the date leg's score (and whether the query has one); the fixed fusion's score
and 1/rank (``search.fusion.fuse`` with the ranker's recorded configuration). A leg that did not
retrieve a passage gives NaN (LightGBM's missing value), never a made-up score. Title and claim-feature
matches are not features yet: they cost a catalog or Whoosh read per candidate.

A ranker is JSON (``index.tuned.save_ranker``): the LightGBM model as text (no pickle), the feature
names, the fusion it was trained beside and the embedding model it was trained for: the searcher uses
it only with that model (``fuse_runs``), in hybrid mode.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from search.fusion import Ranked, fuse, sort_run

Run = Sequence[tuple[int, float]]

FEATURES = (
    "kw_hit", "kw_score", "kw_rr", "kw_z", "kw_ratio",
    "sem_hit", "sem_score", "sem_rr", "sem_z", "sem_ratio",
    "date_leg", "date_score",
    "fixed_score", "fixed_rr",
)  # fmt: skip
# LightGBM parameters: small trees, one thread and a fixed seed (the same data gives the same model).
PARAMS = {
    "objective": "lambdarank",
    "metric": "map",
    "eval_at": [5],
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 20,
    "feature_fraction": 1.0,
    "lambdarank_truncation_level": 20,
    "num_threads": 1,
    "deterministic": True,
    "force_row_wise": True,
    "seed": 13,
    "verbose": -1,
}
ROUNDS = 150


def _leg(run: Run) -> dict[int, tuple[float, float, float, float]]:
    """``{pid: (score, 1/rank, z, score / best)}`` of one leg (best first)."""
    if not run:
        return {}
    scores = [s for _, s in run]
    mean = math.fsum(scores) / len(scores)
    std = math.sqrt(math.fsum((s - mean) ** 2 for s in scores) / len(scores))
    best = scores[0]
    return {
        p: (s, 1.0 / r, (s - mean) / std if std > 0 else 0.0, s / best if best > 0 else 0.0)
        for r, (p, s) in enumerate(run, 1)
    }


def candidate_features(runs: Mapping[str, Run], fusion: Mapping[str, Any]) -> tuple[list[int], np.ndarray]:
    """``(candidate ids, (n, len(FEATURES)) float64)`` for one query's legs.

    Args:
        runs: ``{"keyword": run, "semantic": run[, "date": run]}``, each best first, as the searcher
            fuses them (visible passages, the semantic leg cut at the minimum similarity).
        fusion: The fixed fusion (``{"method", "weights", "norm"|"k", "date_weight"}``) whose score is a feature.
    """
    kw, sem, date = _leg(runs.get("keyword", ())), _leg(runs.get("semantic", ())), dict(runs.get("date", ()))
    fixed = fixed_fusion(runs, fusion)
    fixed_at = {p: (s, 1.0 / r) for r, (p, s) in enumerate(fixed, 1)}
    pids = sorted(set(kw) | set(sem))
    nan = math.nan
    has_date = 1.0 if "date" in runs else 0.0
    rows = []
    for p in pids:
        k = kw.get(p)
        s = sem.get(p)
        f = fixed_at.get(p, (nan, 0.0))
        rows.append(
            [
                1.0 if k else 0.0, *(k if k else (nan, 0.0, nan, nan)),
                1.0 if s else 0.0, *(s if s else (nan, 0.0, nan, nan)),
                has_date, date.get(p, nan),
                *f,
            ]
        )  # fmt: skip
    return pids, np.asarray(rows, dtype=np.float64).reshape(len(pids), len(FEATURES))


def fixed_fusion(runs: Mapping[str, Run], fusion: Mapping[str, Any]) -> Ranked:
    """The fixed fusion of ``runs`` (keyword, semantic, then date when present)."""
    cfg = {k: v for k, v in fusion.items() if k not in ("method", "date_weight")}
    legs = [runs.get("keyword", []), runs.get("semantic", [])]
    cfg["weights"] = list(cfg["weights"])
    if "date" in runs:
        legs.append(runs["date"])
        cfg["weights"].append(fusion["date_weight"])
    return fuse(legs, method=fusion["method"], **cfg)


def train(groups: Sequence[tuple[np.ndarray, np.ndarray]], rounds: int = ROUNDS, seed: int = 13) -> str:
    """Fit LambdaMART on ``[(features, 0/1 labels)]`` (one pair per query; queries without a relevant
    candidate teach nothing and are dropped). Returns the LightGBM model as text.

    Raises:
        ValueError: No query with a relevant candidate.
    """
    import lightgbm as lgb

    kept = [(x, y) for x, y in groups if len(y) and y.max() > 0]
    if not kept:
        raise ValueError("no training query has a relevant candidate among the legs' results")
    x = np.vstack([x for x, _ in kept])
    y = np.concatenate([y for _, y in kept])
    data = lgb.Dataset(
        x, y, group=[len(g) for _, g in kept], feature_name=list(FEATURES), free_raw_data=False
    )
    booster = lgb.train({**PARAMS, "seed": seed}, data, num_boost_round=rounds)
    return booster.model_to_string()


class Ranker:
    """A loaded ranker: ``rank(runs)`` orders one query's candidates by the model's score."""

    def __init__(self, payload: Mapping[str, Any]):
        import lightgbm as lgb

        if list(payload["features"]) != list(FEATURES):
            raise ValueError("the ranker was trained on other features: run `claims tune` again")
        self.payload = dict(payload)
        self.name = payload.get("name", "ranker")
        self.model = payload["model"]
        self.fusion = payload["fusion"]
        self.booster = lgb.Booster(model_str=payload["booster"])

    def rank(self, runs: Mapping[str, Run]) -> Ranked:
        """``(pid, ranker score)`` for every keyword or semantic candidate, sorted by ``(-score, pid)``."""
        pids, x = candidate_features(runs, self.fusion)
        if not pids:
            return []
        return sort_run(zip(pids, self.booster.predict(x, num_threads=1).tolist(), strict=True))


@lru_cache(maxsize=8)
def load(path: str) -> Ranker:
    """The ranker file at ``path`` (cached: ranker files are named by their content, never rewritten)."""
    payload = json.loads(Path(path).read_text(encoding="utf-8"))
    payload.setdefault("name", Path(path).stem)
    return Ranker(payload)


def active(searcher) -> Ranker | None:
    """The index's adopted ranker when it was trained for the index's current model, else None."""
    m = searcher.manifest
    if not m.ranker:
        return None
    r = load(str(Path(searcher.dir) / m.ranker))
    return r if r.model == m.model else None


def fuse_runs(searcher, runs: Mapping[str, Run], opts) -> Ranked:
    """The searcher's fusion step: the adopted ranker (``claims tune``) when a hybrid search has both
    text legs and the index has one for its model; else ``search.fusion.fuse`` with ``opts`` (one leg:
    its own run)."""
    from search.options import fusion_params

    if len(runs) < 2:
        return list(next(iter(runs.values()), []))
    ranker = active(searcher) if "keyword" in runs and "semantic" in runs else None
    if ranker is not None:
        return ranker.rank(runs)
    return fuse(list(runs.values()), method=opts.fusion, **fusion_params(opts, list(runs)))


def answered_by(searcher, legs: Sequence[str]) -> dict[str, str]:
    """What ``--explain`` reports: the query model and the fusion (learned ranker or fixed)."""
    ranker = active(searcher) if "keyword" in legs and "semantic" in legs else None
    return {"model": searcher.manifest.model, "ranker": ranker.name if ranker else "fixed fusion"}
