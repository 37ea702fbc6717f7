"""``claims eval``: keyword vs semantic vs hybrid on a query set with qrels, and fusion sweeps.

Each leg is run once per query (to ``depth``); every fusion configuration is then a pure function
of those two runs, so a sweep over methods and parameters costs no extra searching.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from index.errors import ClaimsError, QuerySyntaxError
from search.evaluate import evaluate, read_qrels, read_queries, read_query_dates
from search.fusion import date_leg, fuse
from search.options import SearchOptions, fusion_params, semantic_floor, validate
from search.query import literal_query, query_dates
from search.searcher import Searcher

Run = list[tuple[int, float]]


def leg_runs(
    searcher: Searcher,
    queries: dict[str, str],
    depth: int,
    legs: Iterable[str] = ("keyword", "semantic"),
    clean: bool = True,
    operator: str = "auto",
) -> dict[str, dict[str, Run]]:
    """``{leg: {qid: [(passage_id, score), ...]}}`` for every query, computed as a batch run of
    ``claims search --queries`` computes them (literal text, one query vector each, no minimum
    similarity: ``run_eval`` applies it). A query with no searchable words once cleaned gets empty runs
    (nothing empty is embedded), as a batch run reports it and skips it."""
    from search.query import Filters, clean_claim_text

    if clean:
        queries = {q: clean_claim_text(t) for q, t in queries.items()}
    legs = list(legs)
    out: dict[str, dict[str, Run]] = {leg: {} for leg in legs}
    none = Filters()
    for qid, text in queries.items():
        try:
            q = literal_query(text)
        except QuerySyntaxError:
            for leg in legs:
                out[leg][qid] = []
            continue
        if "semantic" in legs:
            out["semantic"][qid] = searcher.semantic_run(searcher.embedder.encode_query(text), depth, none)
        if "keyword" in legs:
            out["keyword"][qid] = searcher.keyword_run(q, depth, none, operator)
    visible = searcher.catalog.visible_dates(
        {p for leg in out.values() for run in leg.values() for p, _ in run}
    )
    return {
        leg: {q: [(p, sc) for p, sc in run if p in visible] for q, run in got.items()}
        for leg, got in out.items()
    }


def floored(runs: dict[str, dict[str, Run]], floor: float | None) -> dict[str, dict[str, Run]]:
    """``runs`` with the semantic candidates below ``floor`` (a minimum cosine) dropped."""
    if floor is None or "semantic" not in runs:
        return runs
    sem = {q: [(p, s) for p, s in run if s >= floor] for q, run in runs["semantic"].items()}
    return runs | {"semantic": sem}


def to_docs(run: Run, doc_of: dict[int, str]) -> list[tuple[str, float]]:
    """Map a passage run to documents, keeping each document's best passage (``--group-by article``)."""
    seen: set[str] = set()
    out = []
    for pid, score in run:
        d = doc_of.get(pid)
        if d is not None and d not in seen:
            seen.add(d)
            out.append((d, score))
    return out


def configurations(opts: SearchOptions, sweep: bool) -> dict[str, dict[str, Any]]:
    """Named fusion configurations: the chosen one, and with ``sweep`` a grid around it."""
    base = {"method": opts.fusion, **fusion_params(opts)}
    configs = {"hybrid": base}
    if sweep:
        for k in (10, 30, 60, 100):
            for w in ((1, 1), (1, 2), (2, 1), (1, 3), (0.5, 1)):
                configs[f"rrf k={k} w={w[0]},{w[1]}"] = {"method": "rrf", "k": k, "weights": list(w)}
        for norm in ("minmax", "zscore"):
            for a in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
                configs[f"convex {norm} w={a:.1f},{1 - a:.1f}"] = {
                    "method": "convex",
                    "norm": norm,
                    "weights": [a, round(1 - a, 2)],
                }
    return configs


def run_eval(
    index_dir: Path,
    queries_path: Path,
    qrels_path: Path,
    modes: list[str],
    opts: SearchOptions,
    sweep: bool = False,
    model: str | None = None,
) -> dict[str, dict[str, float]]:
    """Metrics per mode (and per fusion configuration with ``sweep``).

    The rankings are those of a batch run (``claims search --queries FILE`` with the same options and
    ``--group-by``; ``tests/integration/test_batch.py``), cut at ``opts.depth`` per leg. With ``sweep``
    also the minimum similarity of semantic hits (``MIN_SIMILARITY_SWEEP``, rows ``... min-sim X``).

    Raises:
        InputFormatError: A bad line in the queries or qrels file (``file:line``).
        ClaimsError: Qrels that name no document of the index (wrong ``--group-by`` or index?).
    """
    validate(opts, paging=False)
    queries = read_queries(queries_path)
    qrels = read_qrels(qrels_path)
    queries = {q: t for q, t in queries.items() if q in qrels}
    # The day each claim was made, from the raw text (cleaning strips a tweet's signature).
    around = query_dates(queries, read_query_dates(queries_path), opts.around)
    key = "article_id" if opts.group_by == "article" else "passage_id"
    with Searcher(index_dir, model=model) as s:
        _check_qrels(s, qrels, key)
        legs = {"keyword", "semantic"} if "hybrid" in modes else set(modes)
        raw = leg_runs(s, queries, opts.depth, sorted(legs), clean=opts.clean, operator=opts.operator)
        tuned = _tuned(s, queries, opts, legs, model)  # the base model's runs and the learned ranker
        pids = {pid for leg in raw.values() for run in leg.values() for pid, _ in run}
        pids |= {pid for leg in tuned["base"].values() for run in leg.values() for pid, _ in run}
        rows = s.catalog.passages(pids)
    runs = floored(raw, semantic_floor(opts))
    doc_of = {pid: str(r[key]) for pid, r in rows.items()}
    passage_dates = {pid: r["date"] for pid, r in rows.items()}
    table: dict[str, dict[str, float]] = {}
    for mode in modes:
        if mode in ("keyword", "semantic"):
            table[mode] = evaluate({q: to_docs(runs[mode][q], doc_of) for q in queries}, qrels)
    if "hybrid" in modes and sweep:  # the minimum similarity of semantic hits, with the chosen fusion
        base = configurations(opts, False)["hybrid"]
        for floor in MIN_SIMILARITY_SWEEP:
            cut = floored(raw, floor)
            dated = _date_runs(cut, around, passage_dates, opts.around_days)
            table[f"hybrid{' + date' if dated else ''} min-sim {floor}"] = evaluate(
                {q: to_docs(_fuse(base, cut, q, dated, opts.around_weight), doc_of) for q in queries}, qrels
            )
    if "hybrid" in modes:
        date_runs = _date_runs(runs, around, passage_dates, opts.around_days)
        for name, cfg in configurations(opts, sweep).items():
            variants = [(name, False)]
            if date_runs:  # with the date leg (queries that have a date), and without it
                variants = [(f"{name} + date", True), (name, False)]
            for label, with_date in variants:
                table[label] = evaluate(
                    {
                        q: to_docs(
                            _fuse(cfg, runs, q, date_runs if with_date else {}, opts.around_weight), doc_of
                        )
                        for q in queries
                    },
                    qrels,
                )
        if sweep and around:  # the date leg's own parameters, around the chosen fusion
            base = configurations(opts, False)["hybrid"]
            for days in AROUND_DAYS_SWEEP:
                dated = _date_runs(runs, around, passage_dates, days)
                for w in AROUND_WEIGHT_SWEEP:
                    table[f"hybrid + date {days:g}d w={w:g}"] = evaluate(
                        {q: to_docs(_fuse(base, runs, q, dated, w), doc_of) for q in queries}, qrels
                    )
    table |= _tuned_rows(tuned, runs, around, passage_dates, doc_of, queries, qrels, modes, opts)
    return table


def _tuned(
    s: Searcher, queries: dict[str, str], opts: SearchOptions, legs: set[str], model
) -> dict[str, Any]:
    """What ``claims tune`` adopted, to show beside the active ranking: the learned ranker (or None)
    and, when the index's model is a tuned one, the legs run with its base model (vectors rebuilt
    in memory from the embedding cache)."""
    from index.manifest import tune_record
    from search.model_view import base_model, base_vectors, model_view
    from search.ranker import active

    out: dict[str, Any] = {
        "ranker": active(s) if model is None else None,
        "base": {},
        "model": s.manifest.model,
    }
    if model is None and "semantic" in legs and tune_record(s.manifest.model_path):
        name, path = base_model(s.manifest)
        view = model_view(s, path, base_vectors(s, name))
        out["base"] = leg_runs(
            view, queries, opts.depth, sorted(legs), clean=opts.clean, operator=opts.operator
        )
        out["base_name"] = name
    return out


def _tuned_rows(tuned, runs, around, passage_dates, doc_of, queries, qrels, modes, opts) -> dict:
    """Rows ``base model: ...`` (the untuned model, fixed fusion) and ``... ranker`` (the learned ranker)."""
    table: dict[str, dict[str, float]] = {}
    cfg = configurations(opts, False)["hybrid"]

    def rows(prefix: str, legs: dict, rank=None) -> None:
        dated = _date_runs(legs, around, passage_dates, opts.around_days) if "hybrid" in modes else {}
        for mode in ("semantic",) if "semantic" in modes and rank is None else ():
            table[f"{prefix}semantic"] = evaluate({q: to_docs(legs[mode][q], doc_of) for q in queries}, qrels)
        if "hybrid" not in modes:
            return
        for with_date in (True, False) if dated else (False,):
            name = f"{prefix}hybrid{' + date' if with_date else ''}{' ranker' if rank else ''}"
            table[name] = evaluate(
                {
                    q: to_docs(
                        rank(
                            {
                                **{k: v[q] for k, v in legs.items()},
                                **({"date": dated[q]} if with_date and q in dated else {}),
                            }
                        )
                        if rank
                        else _fuse(cfg, legs, q, dated if with_date else {}, opts.around_weight),
                        doc_of,
                    )
                    for q in queries
                },
                qrels,
            )

    if tuned["base"]:
        rows(f"base model ({tuned['base_name']}): ", floored(tuned["base"], semantic_floor(opts)))
    if tuned["ranker"] is not None:
        rows(f"{tuned['model']}: ", runs, tuned["ranker"].rank)
    return table


def _check_qrels(s: Searcher, qrels: dict[str, dict[str, int]], key: str) -> None:
    """Refuse qrels that name no document of the index: every score would be 0 without a word why."""
    docs = {d for q in qrels.values() for d in q}
    if key == "passage_id":
        ids = s.catalog.passage_ids()
        found = any(d.isdigit() and int(d) in ids for d in docs)
    else:
        found = any(_has_article(s, d) for d in sorted(docs))
    if not found:
        other = "passage" if key == "article_id" else "article"
        raise ClaimsError(
            f"the qrels name no {key.split('_')[0]} of the index {s.dir}: check --index, or "
            f"--group-by {other} if the qrels list {other} ids"
        )


def _has_article(s: Searcher, article_id: str) -> bool:
    from index.errors import NotFoundError

    try:
        s.catalog.article_text(article_id)
    except NotFoundError:
        return False
    return True


MIN_SIMILARITY_SWEEP = (None, 0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
AROUND_DAYS_SWEEP = (5, 7, 10, 14, 21, 30, 90)
AROUND_WEIGHT_SWEEP = (0.2, 0.25, 0.3, 0.4, 0.5)


def _date_runs(
    runs: dict[str, dict[str, Run]], around: dict[str, str], dates: dict[int, str | None], days: float
) -> dict[str, Run]:
    """Per dated query, the date leg over its keyword and semantic candidates."""
    return {
        q: date_leg(
            {p for leg in ("keyword", "semantic") for p, _ in runs[leg][q]},
            dates,
            dt.date.fromisoformat(d),
            days,
        )
        for q, d in around.items()
    }


def _fuse(
    cfg: dict[str, Any],
    runs: dict[str, dict[str, Run]],
    q: str,
    date_runs: dict[str, Run],
    date_weight: float,
) -> Run:
    """Fuse query ``q``'s keyword and semantic runs with ``cfg``, plus its date leg when it has one."""
    cfg = dict(cfg)
    method = cfg.pop("method")
    legs = [runs["keyword"][q], runs["semantic"][q]]
    if q in date_runs:
        legs.append(date_runs[q])
        cfg["weights"] = [*cfg["weights"], date_weight]
    return fuse(legs, method=method, **cfg)
