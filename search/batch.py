"""Batch runs: one process, many queries (``claims search --queries`` / ``claims similar --queries``).

A queries file holds ``qid<TAB>text[<TAB>YYYY-MM-DD]`` lines (``search.evaluate.read_queries``); the
optional date column is that query's ``--around`` day. Each line is a claim, so it is searched as
literal text unless ``syntax=True`` (``--query-syntax``). A query that still fails (no searchable words,
a bad query with ``syntax``) is reported with its qid through ``on_error`` and skipped; the run goes
on. The rankings are the ones ``claims eval`` scores (same legs, fusion and cleaning for the same options).
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from index.errors import ClaimsError
from search.options import RunWriter, SearchOptions, validate


@dataclass
class BatchReport:
    """What a batch run did: queries read, rows written, and ``(qid, message)`` for each skipped query."""

    queries: int = 0
    rows: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


@contextlib.contextmanager
def open_run(output: str | Path | None) -> Iterator[TextIO]:
    """A text stream for a run: stdout for None or ``-``, else a temp file that lands on ``output``
    when the block succeeds (``search.output.Output``: atomic for files, in place for special files).

    Raises:
        OutputError: ``output`` is a folder.
    """
    if output is None or str(output) == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    from search.output import Output

    target = Output(output)
    tmp = target.temp()
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            yield fh
        target.commit(tmp)
    finally:
        tmp.unlink(missing_ok=True)


def run_batch(
    searcher,
    path: str | Path,
    opts: SearchOptions,
    out: TextIO,
    fmt: str = "jsonl",
    kind: str = "search",
    syntax: bool = False,
    on_error: Callable[[str, str], None] | None = None,
) -> BatchReport:
    """Run every query of ``path`` with ``opts`` and write a run (``RUN_FORMATS``) to ``out``.

    Args:
        searcher: An open ``search.searcher.Searcher``.
        path: The queries file.
        opts: The options of every query (``around``: each query's date column wins).
        out: Where the run is written (TREC ``qid Q0 docid rank score claims-<mode>``, or JSON Lines
            ``{"qid": ..., <the search --json object>}``); docid is the article id with ``group_by="article"``.
        kind: ``"search"`` or ``"similar"``.
        syntax: Parse each line with the query language instead of as literal text.
        on_error: Called with ``(qid, message)`` for a query that fails; it is skipped.

    Returns:
        A ``BatchReport``.

    Raises:
        FileLineError: A bad line in ``path`` (``file:line``), before anything is searched.
        OptionError: Bad options, before the model loads.
    """
    from search.evaluate import read_queries, read_query_dates
    from search.query import query_dates

    if kind not in ("search", "similar"):
        raise ValueError(f"kind must be 'search' or 'similar', got {kind!r}")
    validate(opts)
    queries = read_queries(path)
    dates = query_dates(queries, read_query_dates(path), opts.around)
    writer = RunWriter(out, fmt, tag=f"claims-{opts.mode}")
    key = "article_id" if opts.group_by == "article" else "passage_id"
    report = BatchReport(queries=len(queries))
    for qid, text in queries.items():
        o = dataclasses.replace(opts, around=dates.get(qid), literal=not syntax or kind == "similar")
        try:
            run = searcher.similar(text, opts=o) if kind == "similar" else searcher.search(text, o)
        except ClaimsError as e:
            report.failed.append((qid, str(e)))
            if on_error is not None:
                on_error(qid, str(e))
            continue
        report.rows += writer.write(qid, (h.to_dict() for h in run.hits), key=key)
    return report
