"""``claims tune``: learn from the analyst's judgments, adopt only what beats the current ranking on
held-out queries.

The walk (``tune``): check the options and files (nothing heavy loaded) -> split the judged queries
into train and holdout by query (seeded) -> run the keyword and semantic legs for every judged query
with the index's current model (as ``claims eval`` does) -> mine hard negatives from those legs and
fine-tune the embedding model on the train queries (``index.tuned.train_model``) -> re-embed the
index for it through the embedding cache, in memory, under the write lock (``index.tuned.Candidate``)
-> run the legs again with it -> fit a LambdaMART ranker on the train queries (``search.ranker``) ->
score current, tuned model and ranker on the holdout (MAP@5, MRR, nDCG@10: ``search.evaluate``) ->
commit the tuned model and/or the ranker as the next generation only when it beats the current
ranking's holdout MAP@5 *significantly* (a paired randomisation test over the holdout queries' AP@5,
one-sided, seeded: p < ``TuneOptions.significance``, 0.05 by default; ``search.significance``), else
change nothing. The ranker is compared with the best ranking before it (the tuned model when adopted).

This module never writes: the writer side (``index.tuned``) is handed in by ``cli.py``, as ``claims
serve`` is handed its ingest.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from index.errors import ClaimsError
from search.evaluate import evaluate, per_query, read_qrels, read_queries, read_query_dates
from search.experiment import _date_runs, floored, leg_runs, to_docs
from search.model_view import base_model, model_view
from search.options import OptionError, SearchOptions, fusion_params, semantic_floor, validate
from search.query import query_dates
from search.significance import SIGNIFICANCE, significant_win

MEASURES = ("MAP@5", "MRR", "nDCG@10")
Runs = dict[str, dict[str, list[tuple[int, float]]]]  # {qid: {leg: run}}


@dataclass
class TuneOptions:
    """What ``claims tune`` learns and how.

    Attributes:
        holdout: Fraction of the judged queries held out for the adopt decision (0 < holdout < 1).
        epochs: Fine-tuning epochs over the train pairs; ``max_steps`` (> 0) caps the optimiser steps.
        seed: Seeds the split, the hard-negative choice, the fine-tuning and the ranker.
        model, ranker: Learn the embedding model / the fusion (both by default).
        batch_size: Pairs per step (MultipleNegativesRankingLoss: the other pairs are the negatives).
        learning_rate: AdamW's peak rate (linear warm-up over the first 10 % of steps, then decay).
        significance: Adopt only a holdout win with a one-sided paired randomisation p below this
            (0 < significance <= 1; 1 adopts any higher MAP@5).
    """

    holdout: float = 0.2
    epochs: int = 1
    seed: int = 13
    model: bool = True
    ranker: bool = True
    batch_size: int = 32
    max_steps: int = -1
    learning_rate: float = 2e-5
    significance: float = SIGNIFICANCE


@dataclass
class TuneReport:
    """Holdout scores (``{configuration: {measure: value}}``), each candidate's p-value against the
    ranking it had to beat (``p_values``, ``search.significance``), what was adopted, timings (seconds)."""

    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    p_values: dict[str, float] = field(default_factory=dict)
    adopted_model: str | None = None
    adopted_ranker: str | None = None
    trained_model: str | None = None
    train_queries: int = 0
    holdout_queries: int = 0
    pairs: int = 0
    embedded: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def check_options(t: TuneOptions) -> None:
    """Refuse bad numbers in one line (``OptionError``) before anything is read or loaded."""
    if not 0 < t.holdout < 1:
        raise OptionError(f"--holdout {t.holdout}: give a fraction between 0 and 1 (e.g. 0.2)")
    if t.epochs < 1:
        raise OptionError(f"--epochs {t.epochs}: give 1 or more")
    if not 0 < t.learning_rate < 1:
        raise OptionError(f"--learning-rate {t.learning_rate}: give a small positive rate (e.g. 2e-5)")
    if t.batch_size < 2:
        raise OptionError(f"--batch-size {t.batch_size}: give 2 or more (the other pairs are the negatives)")
    if not 0 < t.significance <= 1:
        raise OptionError(f"--significance {t.significance}: give a p-value threshold in (0, 1], e.g. 0.05")
    if not (t.model or t.ranker):
        raise OptionError("--no-model and --no-ranker together leave nothing to tune: drop one")


def split(qids: Sequence[str], holdout: float, seed: int) -> tuple[list[str], list[str]]:
    """``(train, holdout)`` query ids: a seeded shuffle of the sorted ids, the first
    ``round(holdout * n)`` (at least 1) held out. The same ids, fraction and seed give the same split.

    Raises:
        OptionError: Fewer than 2 queries, or a split that leaves one side empty.
    """
    ids = sorted(qids)
    k = max(1, round(holdout * len(ids)))
    if len(ids) < 2 or k >= len(ids):
        raise OptionError(
            f"{len(ids)} judged queries cannot be split with --holdout {holdout}: give more judgments "
            "or a smaller --holdout"
        )
    random.Random(seed).shuffle(ids)
    return sorted(ids[k:]), sorted(ids[:k])


def data_hash(queries: Mapping[str, str], qrels: Mapping[str, Mapping[str, int]]) -> str:
    """sha256 of the judged queries and their qrels (order-independent): what a tuned model learnt from."""
    h = hashlib.sha256()
    for q in sorted(queries):
        h.update(f"{q}\t{queries[q]}\n".encode())
        for d in sorted(qrels.get(q, {})):
            h.update(f"{q} {d} {qrels[q][d]}\n".encode())
    return h.hexdigest()


def fixed_config(opts: SearchOptions) -> dict[str, Any]:
    """The fixed fusion of ``opts`` in the form ``search.ranker`` records (text legs, then the date leg)."""
    return {"method": opts.fusion, **fusion_params(opts), "date_weight": opts.around_weight}


def query_runs(searcher, queries: Mapping[str, str], around: Mapping[str, str], opts: SearchOptions) -> Runs:
    """``{qid: {"keyword", "semantic"[, "date"]: run}}`` as the searcher fuses them for a batch run
    (``search.experiment.leg_runs``, the minimum similarity, the date leg of a dated query)."""
    raw = floored(leg_runs(searcher, dict(queries), opts.depth, clean=opts.clean), semantic_floor(opts))
    pids = {p for leg in raw.values() for run in leg.values() for p, _ in run}
    dates = {p: r["date"] for p, r in searcher.catalog.passages(pids).items()}
    dated = _date_runs(raw, dict(around), dates, opts.around_days)
    out: Runs = {}
    for q in queries:
        out[q] = {"keyword": raw["keyword"][q], "semantic": raw["semantic"][q]}
        if q in dated:
            out[q]["date"] = dated[q]
    return out


def measure(
    runs: Runs, qids: Sequence[str], qrels, doc_of: Mapping[int, str], rank: Callable[[dict], list]
) -> tuple[dict[str, float], list[float]]:
    """MAP@5, MRR and nDCG@10 over ``qids`` of the rankings ``rank(runs[q])``, grouped by ``doc_of``,
    and the per-query AP@5 in ``qids`` order (what the adopt test pairs)."""
    ranked = {q: to_docs(rank(runs[q]), dict(doc_of)) for q in qids}
    gold = {q: qrels[q] for q in qids}
    ap = per_query(ranked, gold, "MAP@5")
    return evaluate(ranked, gold, MEASURES), [ap[q] for q in qids]


def adopt(report: TuneReport, label: str, before: list[float], after: list[float], t: TuneOptions) -> bool:
    """Whether configuration ``label`` (per-query AP@5 ``after``) beats ``before`` significantly; its p
    goes in ``report.p_values`` and a higher but not significant MAP@5 gets a note."""
    win, p = significant_win(before, after, t.significance, seed=t.seed)
    report.p_values[label] = round(p, 6)
    if not win and sum(after) > sum(before):
        report.notes.append(
            f"{label}: holdout MAP@5 {sum(after) / len(after):.4f} > {sum(before) / len(before):.4f} but "
            f"p = {p:.3g} >= {t.significance} over {len(after)} queries: not adopted (may be noise)"
        )
    return win


def mine(
    runs: Runs,
    qids: Sequence[str],
    texts: Mapping[str, str],
    qrels,
    doc_of,
    passage_text,
    relevant_text,
    seed: int,
) -> list[tuple[str, str, str | None]]:
    """``(query, relevant passage, hard negative)`` triples for ``qids``.

    The relevant passage is the relevant document's best-ranked passage in either leg, or, when the
    legs missed it, its text from the catalog (``relevant_text(doc)``); the hard negative is one of the
    three best-fused candidates (keyword + semantic, no date leg) of another document, picked with
    ``seed`` (the very first is sometimes an unjudged duplicate of the relevant one).
    """
    from search.fusion import convex

    rng = random.Random(seed)
    out = []
    for q in qids:
        rel = {d for d, r in qrels[q].items() if r >= 1}
        fused = convex([runs[q]["keyword"], runs[q]["semantic"]], [0.4, 0.6], norm="zscore")
        negatives = [p for p, _ in fused if doc_of.get(p) not in rel and doc_of.get(p) is not None][:3]
        best = {}
        for p, _ in fused:
            best.setdefault(doc_of.get(p), p)
        for d in sorted(rel):
            pos = passage_text(best[d]) if d in best else relevant_text(d)
            if not pos:
                continue
            neg = passage_text(rng.choice(negatives)) if negatives else None
            out.append((texts[q], pos, neg))
    return out


def tune(
    index_dir: Path,
    queries_path: Path,
    qrels_path: Path,
    t: TuneOptions,
    opts: SearchOptions,
    store: ModuleType,
    command: str = "claims tune",
    progress: Callable[[str], None] | None = None,
) -> TuneReport:
    """Tune the index at ``index_dir`` on judged queries; see the module docstring.

    Args:
        store: The writer side, ``index.tuned`` (handed in: ``search/`` never imports a writer).
        opts: The search options the holdout is ranked with (``claims eval``'s: depth, clean, around...).

    Raises:
        OptionError: Bad options (before any file is read), or too few judgments to split.
        InputFormatError: A bad line in the queries or qrels file.
        ClaimsError: Qrels that name nothing in the index; no judged query in the queries file.
    """
    from index.manifest import loadable_model
    from search.query import clean_claim_text
    from search.ranker import FEATURES, Ranker, active, candidate_features, fixed_fusion, train
    from search.searcher import Searcher

    say = progress or (lambda _m: None)
    check_options(t)
    validate(opts, paging=False)
    queries = read_queries(queries_path)
    qrels = read_qrels(qrels_path)
    queries = {q: text for q, text in queries.items() if q in qrels}
    if not queries:
        raise ClaimsError(f"no query of {queries_path} is judged in {qrels_path}: check the two files")
    train_q, held_q = split(list(queries), t.holdout, t.seed)
    around = query_dates(queries, read_query_dates(queries_path), opts.around)
    report = TuneReport(train_queries=len(train_q), holdout_queries=len(held_q))
    fusion = fixed_config(opts)
    t0 = time.perf_counter()
    with Searcher(index_dir) as s:
        key = _judged_key(s, qrels)
        base_runs = query_runs(s, queries, around, opts)
        current = active(s)
        m = s.manifest
        rows = s.catalog.passages({p for r in base_runs.values() for run in r.values() for p, _ in run})
        doc_of = {p: str(r[key]) for p, r in rows.items()}
        texts = {p: r["text"] for p, r in rows.items()}
        rel_text = {}
        if t.model:
            for q in train_q:
                for d in qrels[q]:
                    if d not in rel_text:
                        rel_text[d] = _document_text(s, d, key)
    report.seconds["legs"] = round(time.perf_counter() - t0, 2)
    fixed = lambda runs: fixed_fusion(runs, fusion)  # noqa: E731
    now = current.rank if current else fixed
    report.scores["current"], best_ap = measure(base_runs, held_q, qrels, doc_of, now)
    best = report.scores["current"]["MAP@5"]
    say(f"{len(train_q)} train / {len(held_q)} holdout queries; current holdout MAP@5 {best:.4f}")

    model_path = None
    if t.model:
        clean = {q: clean_claim_text(x) if opts.clean else x for q, x in queries.items()}
        examples = mine(base_runs, train_q, clean, qrels, doc_of, texts.get, rel_text.get, t.seed)
        if not examples:
            raise ClaimsError("no train query has a relevant passage in the index: check --qrels and --index")
        report.pairs = len(examples)
        base = base_model(m)
        record = {"command": command, "data_sha256": data_hash(queries, qrels), "base_model": base[0],
                  "train_queries": len(train_q), "holdout": t.holdout}  # fmt: skip
        t1 = time.perf_counter()
        model_path = str(
            store.train_model(
                base[1], examples, index_dir, record, epochs=t.epochs, batch_size=t.batch_size, seed=t.seed,
                max_steps=t.max_steps, learning_rate=t.learning_rate, progress=say,
            )
        )  # fmt: skip
        report.seconds["train"] = round(time.perf_counter() - t1, 2)
        report.trained_model = Path(model_path).name
    t2 = time.perf_counter()
    with store.Candidate(index_dir, model_path or loadable_model(m), progress=say) as cand:
        report.embedded = cand.embedded
        report.seconds["reembed"] = round(cand.seconds, 2)
        report.seconds["reembed_texts"] = cand.vectors
        runs, adopt_model = base_runs, False
        if model_path:
            with Searcher(index_dir) as s:
                view = model_view(s, model_path, cand.store)
                tuned_runs = query_runs(view, queries, around, opts)
                rows = s.catalog.passages(
                    {p for r in tuned_runs.values() for run in r.values() for p, _ in run} - set(doc_of)
                )
            doc_of |= {p: str(r[key]) for p, r in rows.items()}
            report.scores["tuned model"], ap = measure(tuned_runs, held_q, qrels, doc_of, fixed)
            adopt_model = adopt(report, "tuned model", best_ap, ap, t)
            if adopt_model:
                runs, best_ap = tuned_runs, ap
        report.seconds["evaluate"] = round(time.perf_counter() - t2 - cand.seconds, 2)
        ranker_path = m.ranker if not adopt_model else ""
        if t.ranker:
            t3 = time.perf_counter()
            name = cand.model_name if adopt_model else m.model
            groups = []
            for q in train_q:
                for legs in _variants(runs[q]):
                    pids, x = candidate_features(legs, fusion)
                    rel = {d for d, r in qrels[q].items() if r >= 1}
                    groups.append((x, np.asarray([1.0 if doc_of.get(p) in rel else 0.0 for p in pids])))
            payload = {"features": list(FEATURES), "fusion": fusion, "model": name,
                       "booster": train(groups, seed=t.seed), "trained_on": len(train_q),
                       "data_sha256": data_hash(queries, qrels), "command": command}  # fmt: skip
            learned = Ranker(payload)
            label = f"ranker{' + tuned model' if adopt_model else ''}"
            report.scores[label], ap = measure(runs, held_q, qrels, doc_of, learned.rank)
            report.seconds["ranker"] = round(time.perf_counter() - t3, 2)
            if adopt(report, label, best_ap, ap, t):
                ranker_path = store.save_ranker(index_dir, payload)
                report.adopted_ranker = ranker_path
        if adopt_model:
            report.adopted_model = cand.model_name
        if adopt_model or report.adopted_ranker:
            cand.commit(adopt_model=adopt_model, ranker=ranker_path)
    if model_path and not adopt_model:
        store.discard_model(index_dir, model_path)
    if not (adopt_model or report.adopted_ranker):
        report.notes.append(
            f"nothing beat the current ranking on the holdout with p < {t.significance}: the index is unchanged"
        )
    report.seconds["total"] = round(time.perf_counter() - t0, 2)
    return report


def _variants(legs: dict) -> list[dict]:
    """A dated query teaches the ranker twice: with its date leg and without (searches without
    ``--around`` use the same ranker)."""
    return [legs, {k: v for k, v in legs.items() if k != "date"}] if "date" in legs else [legs]


def _judged_key(s, qrels) -> str:
    """``article_id`` when the qrels name articles of the index, else ``passage_id`` when they name
    passages (``claims eval --group-by``), else a one-line error."""
    from search.experiment import _check_qrels

    try:
        _check_qrels(s, qrels, "article_id")
        return "article_id"
    except ClaimsError:
        try:
            _check_qrels(s, qrels, "passage_id")
        except ClaimsError:  # eval's message names --group-by, which tune does not need (it tries both)
            raise ClaimsError(
                f"the qrels name no article or passage of the index {s.dir}: qrels lines are "
                "`QID 0 DOCID 1` with DOCID an article id (or a passage id) of this index; check --index"
            ) from None
        return "passage_id"


def _document_text(s, doc: str, key: str) -> str | None:
    from index.errors import NotFoundError

    try:
        if key == "passage_id":
            return s.catalog.passage(int(doc))["text"]
        return s.catalog.article_text(doc)
    except (NotFoundError, ValueError):
        return None
