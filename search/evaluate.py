"""Read queries, qrels and TREC runs; score runs as the CLEF CheckThat! claim-retrieval task does.

Formats (whitespace-separated unless noted, UTF-8, blank lines skipped)::

    queries   qid<TAB>text                   (split on the first tab only)
    qrels     qid 0 docid relevance          (TREC qrels)
    run       qid Q0 docid rank score tag    (TREC run)

Scores come from trec_eval through ir_measures' pytrec_eval provider, with two changes that make
them follow *our* ranking and the CheckThat! averaging:

* trec_eval re-sorts each query by score and breaks ties by doc id, which can differ from our
  order; so each ranked list is passed with scores ``n - i`` that strictly decrease in our order.
* ir_measures averages over the queries present in the run; the CheckThat! scorer averages over
  all gold queries. Here a qrels query with no results scores 0 and every qrels query counts.

``MAP@k`` is trec_eval's ``map_cut_k``, the CheckThat! definition: per query, the sum over the
relevant documents found in the top k of the precision at their rank, divided by the query's total
number of relevant documents R (not min(R, k)); so MAP@1 of a query is at most 1/R. A document is
relevant when its relevance is >= 1.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TextIO

import ir_measures

from index.errors import ClaimsError, InputFormatError

Ranking = Mapping[str, Sequence[tuple[str, float]]]
Qrels = Mapping[str, Mapping[str, int]]

METRICS = ("MAP@1", "MAP@5", "MRR", "nDCG@10", "R@100")
_ALIASES = {"MAP": "AP", "MRR": "RR"}  # our names -> ir_measures names (AP@5, RR, ...)


class EvaluationError(ClaimsError, ValueError):
    """Nothing to evaluate, or an unknown metric (one line naming the fix)."""


class FileLineError(InputFormatError, ValueError):
    """A bad line in a queries, qrels or run file: ``str(e)`` is ``file:line: what was expected``."""


def _lines(path: str | Path) -> Iterator[tuple[str, int, str]]:
    """Yield ``(path, line number, line)`` for the non-blank lines of a UTF-8 file (BOM tolerated)."""
    with open(path, encoding="utf-8-sig") as fh:
        for n, line in enumerate(fh, start=1):
            line = line.rstrip("\r\n")
            if line.strip():
                yield str(path), n, line


_DATE_COLUMN = re.compile(r"\t(\d{4}-\d{2}-\d{2})\s*$")


def read_queries(path: str | Path) -> dict[str, str]:
    """Read ``qid<TAB>text[<TAB>YYYY-MM-DD]`` lines: split on the first tab; a last tab-separated
    column that is an ISO date is the query's date (``read_query_dates``), not part of its text.

    Raises:
        FileLineError: A line without a tab, or a repeated qid (the message names ``file:line``).
    """
    return {qid: text for qid, (text, _) in _query_lines(path).items()}


def read_query_dates(path: str | Path) -> dict[str, str]:
    """``{qid: YYYY-MM-DD}`` for the query lines of ``path`` that end with a date column."""
    return {qid: date for qid, (_, date) in _query_lines(path).items() if date}


def _query_lines(path: str | Path) -> dict[str, tuple[str, str | None]]:
    queries: dict[str, tuple[str, str | None]] = {}
    for name, n, line in _lines(path):
        qid, tab, text = line.partition("\t")
        if not tab:
            raise FileLineError(f"{name}:{n}", "expected 'qid<TAB>text', found no tab")
        qid = qid.strip()
        if qid in queries:
            raise FileLineError(f"{name}:{n}", f"query id {qid!r} appears twice")
        m = _DATE_COLUMN.search(text)
        date = m.group(1) if m else None
        queries[qid] = ((text[: m.start()] if m else text).strip(), date)
    return queries


def read_qrels(path: str | Path) -> dict[str, dict[str, int]]:
    """Read TREC qrels ``qid 0 docid relevance`` into ``{qid: {docid: relevance}}``.

    Raises:
        ValueError: A line without 4 fields or with a non-integer relevance (names ``file:line``).
    """
    qrels: dict[str, dict[str, int]] = {}
    for name, n, line in _lines(path):
        fields = line.split()
        if len(fields) != 4 or not fields[3].lstrip("-").isdigit():
            raise FileLineError(f"{name}:{n}", f"expected 'qid 0 docid relevance', got {line!r}")
        qrels.setdefault(fields[0], {})[fields[2]] = int(fields[3])
    return qrels


def read_run(path: str | Path) -> dict[str, list[tuple[str, float]]]:
    """Read a TREC run ``qid Q0 docid rank score tag`` into ``{qid: [(docid, score), ...]}``.

    Each query's list is in rank order (a stable sort on the rank column, so equal ranks keep
    file order), which is the order ``write_trec_run`` writes and ``evaluate`` scores.

    Raises:
        ValueError: A line without 6 fields or with a bad rank or score (names ``file:line``).
    """
    rows: dict[str, list[tuple[int, str, float]]] = {}
    for name, n, line in _lines(path):
        fields = line.split()
        try:
            if len(fields) != 6:
                raise ValueError
            rank, score = int(fields[3]), float(fields[4])
        except ValueError:
            raise FileLineError(
                f"{name}:{n}", f"expected 'qid Q0 docid rank score tag', got {line!r}"
            ) from None
        rows.setdefault(fields[0], []).append((rank, fields[2], score))
    return {q: [(d, s) for _, d, s in sorted(r, key=lambda x: x[0])] for q, r in rows.items()}


def write_trec_run(run: Ranking, fh: TextIO, tag: str) -> None:
    """Write ``qid Q0 docid rank score tag`` lines; ranks are 1-based in the given order.

    Lines come from ``search.options.trec_line`` (the one run writer; scores written with ``repr`` so
    that they read back exactly).

    Raises:
        OptionError: A qid, doc id or tag that is empty or holds whitespace (the format splits on it).
    """
    from search.options import RunWriter

    writer = RunWriter(fh, "trec", tag)
    for qid, ranked in run.items():
        writer.write(
            qid, ({"docid": d, "rank": r, "score": s} for r, (d, s) in enumerate(ranked, 1)), key="docid"
        )


def _measure(name: str) -> ir_measures.Measure:
    """Map one of our metric names (``MAP@5``, ``MRR``...) to an ir_measures measure."""
    head, at, cutoff = name.partition("@")
    try:
        return ir_measures.parse_measure(_ALIASES.get(head, head) + at + cutoff)
    except (NameError, ValueError):
        raise EvaluationError(f"unknown metric {name!r}; e.g. {', '.join(METRICS)}") from None


def _per_query(run: Ranking, qrels: Qrels, metrics: Iterable[str]) -> dict[str, dict[str, float]]:
    """``{metric: {qid: value}}`` over every qrels query; a query without results scores 0."""
    measures = {name: _measure(name) for name in metrics}
    gold = {q: {str(d): int(r) for d, r in docs.items()} for q, docs in qrels.items()}
    ours = {}
    for q in gold:
        docs = dict.fromkeys(str(d) for d, _ in run.get(q, ()))  # unique ids, in our order
        if docs:
            ours[q] = {d: float(len(docs) - i) for i, d in enumerate(docs)}  # strictly decreasing
    values = {name: dict.fromkeys(gold, 0.0) for name in measures}
    for m in ir_measures.pytrec_eval.iter_calc(set(measures.values()), gold, ours):
        for name, measure in measures.items():
            if measure == m.measure:
                values[name][m.query_id] = float(m.value)
    return values


def evaluate(run: Ranking, qrels: Qrels, metrics: Sequence[str] = METRICS) -> dict[str, float]:
    """Mean of each metric over all qrels queries (see the module docstring).

    Args:
        run: ``{qid: [(docid, score), ...]}``, best first; only the order is used.
        qrels: ``{qid: {docid: relevance}}``.
        metrics: Names from ``METRICS`` or other ir_measures names (``MAP`` means ``AP``,
            ``MRR`` means ``RR``).

    Returns:
        ``{metric: mean value}`` in the order of ``metrics``.

    Raises:
        ValueError: On empty qrels or an unknown metric.
    """
    if not qrels:
        raise EvaluationError("qrels hold no queries: nothing to evaluate; check the --qrels file")
    return {name: math.fsum(v.values()) / len(qrels) for name, v in _per_query(run, qrels, metrics).items()}


def per_query(run: Ranking, qrels: Qrels, metric: str = "MAP@5") -> dict[str, float]:
    """``{qid: value}`` of one metric for every qrels query (0 for a query without results)."""
    return _per_query(run, qrels, [metric])[metric]


def format_table(rows: Mapping[str, Mapping[str, float]]) -> str:
    """A Markdown table, one row per run and one column per metric (4 decimals, blank if absent).

    Args:
        rows: ``{run name: {metric: value}}``; columns follow the metrics' first appearance.
    """
    columns = list(dict.fromkeys(m for values in rows.values() for m in values))
    lines = ["| run | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    for name, values in rows.items():
        cells = [f"{values[c]:.4f}" if c in values else "" for c in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
