"""``claims export``: write a ranked list of passages with provenance, plus a manifest, to a file.

Formats (``FORMATS``; chosen by ``fmt`` or by the output's extension, ``EXTENSIONS``):

* ``jsonl``: the first line is ``{"manifest": {...}}``; then one object a row, best first, with the
  per-leg scores and ranks nested as in ``claims search --json`` (``"scores": {"keyword": 12.3}``,
  ``"ranks": {"keyword": 1}``; a leg that did not find the passage is absent) and ``metadata`` an object.
* ``csv`` and ``parquet``: flat columns ``COLUMNS``; a leg that did not find the passage leaves its
  ``*_score``/``*_rank`` empty (null); ``metadata`` is a JSON string. The claim features are typed
  columns: ``speaker`` (the speaker's name, else its text), ``cue`` (text), ``mode``, ``hedged`` (bool),
  ``event_date``/``event_date_end`` (ISO), ``checkworthy`` (float), and ``entities``/``numbers`` as JSON
  strings of the hit objects; null when the passage has no features. JSON Lines rows carry the
  features as ``claims search --json`` does (spans with their offsets).
* ``trec``: a TREC run, ``qid Q0 passage_id rank score tag`` (``search.options.trec_line``, the one
  run writer of batch runs and ``claims eval``).

With ``--around`` the rows also carry the date leg (``"date"`` in ``scores``/``ranks``; ``date_score``,
``date_rank`` columns). Every export also writes ``<output>.manifest.json`` (see ``export``), except to
stdout (``-o -``) or a special file (JSON Lines still carry it as their first line). Rows are streamed: the ranking
is a list of ``(passage_id, score)`` pairs (``Searcher.iter_ranked``), and catalog rows are read and
written ``CHUNK`` at a time, so an export of every match never holds every passage's text at once.
The output is written to a temp file and lands at the end (``search.output``): a failed export leaves
the old file (or none), never half a file; stdout and special files are written in place.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import json
import shutil
from collections.abc import Iterable, Iterator
from itertools import chain, islice
from pathlib import Path
from typing import Any

from index.errors import ClaimsError, option
from index.manifest import tool_version
from search.hits import FEATURE_FIELDS, Hit
from search.options import SearchOptions, described, to_json, trec_line
from search.output import Output
from search.searcher import Searcher

FORMATS = ("jsonl", "csv", "parquet", "trec")
EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".trec": "trec",
    ".run": "trec",
    ".txt": "trec",
}
LEGS = ("keyword", "semantic", "date")
COLUMNS = (
    "rank",
    "score",
    "keyword_score",
    "keyword_rank",
    "semantic_score",
    "semantic_rank",
    "date_score",
    "date_rank",
    "passage_id",
    "text",
    "start",
    "end",
    "article_id",
    "title",
    "date",
    "source",
    "url",
    "metadata",
    # claim features (search.hits): spans flattened to their text, lists as JSON strings
    "speaker",
    "cue",
    "mode",
    "hedged",
    "event_date",
    "event_date_end",
    "checkworthy",
    "entities",
    "numbers",
)
CHUNK = 1000  # passages read from the catalog and written per step (one Parquet row group)
MANIFEST_SUFFIX = ".manifest.json"

Ranked = tuple[int, float, dict[str, tuple[int, float]]]  # (passage_id, score, {leg: (rank, score)})
Row = dict[str, Any]  # the JSON Lines row; ``flat`` makes the CSV/Parquet one


def resolve_format(output: Path, fmt: str | None = None) -> str:
    """The export format: ``fmt`` if given, else the one the output's extension names.

    Raises:
        ClaimsError: An unknown ``fmt`` or extension (the message lists ``FORMATS``).
    """
    choices = ", ".join(FORMATS)
    if fmt is not None:
        name = fmt.strip().lower()
        if name not in FORMATS:
            raise ClaimsError(f"{option('format', repr(fmt))}: choose one of {choices}")
        return name
    name = EXTENSIONS.get(Path(output).suffix.lower())
    if name is None:
        raise ClaimsError(
            f"cannot tell the format of {output} from its extension: "
            f"pass --format (one of {choices}) or name it {', '.join(EXTENSIONS)}"
        )
    return name


def manifest_file(output: Path) -> Path:
    """Where the manifest of an export to ``output`` goes: ``<output>.manifest.json``."""
    output = Path(output)
    return output.with_name(output.name + MANIFEST_SUFFIX)


def default_format(output: str | Path, fmt: str | None) -> str | None:
    """``fmt``, or ``jsonl`` for stdout (``-``) and special files without an extension to read."""
    if fmt is None and Output(output).special and Path(str(output)).suffix.lower() not in EXTENSIONS:
        return "jsonl"
    return fmt


def export(
    index_dir: Path | None,
    query: str,
    output: Path,
    opts: SearchOptions,
    fmt: str | None = None,
    model: str | None = None,
    qid: str = "q1",
    tag: str | None = None,
    searcher: Searcher | None = None,
) -> int:
    """Export the ranking of ``query`` to ``output``, with a manifest beside it.

    The rows are the ranking ``Searcher.search(query, opts)`` returns, in the same order with the
    same scores: rank, fused score, each leg's score and rank, and the passage's provenance (text,
    offsets, article id, title, date, source, url, metadata). The same export of the same index
    writes the same rows in the same order.

    ``opts.limit == 0`` exports every hit: in keyword mode every Whoosh match; in semantic and
    hybrid mode each leg is fetched to ``depth = max(opts.depth, number of passages)`` (every Whoosh
    match, and every vector in the store) and semantic candidates below the minimum similarity
    (``opts.min_similarity``, ``opts.threshold``) are no hits, so the export holds the hits, not the index.

    The manifest (``<output>.manifest.json``; for JSON Lines also the file's first line,
    ``{"manifest": {...}}``) records the format, query, mode, every option (filters, depth, fusion
    method and parameters, and with ``--around`` the date leg's day, half-weight days and weight,
    limit), each leg's effective depth (null: every match), the index's
    model, the sha256 of the index's ``manifest.json`` bytes and its generation, the tool version,
    the UTC time and the row count. Only ``created`` differs between two runs of the same export.

    Args:
        index_dir: The index folder (None: ``$CLAIMS_INDEX`` or ``claims-index``).
        query: The query, as for ``claims search``.
        output: The file to write (its folder is created if missing; replaced atomically), ``-`` for
            stdout, or a special file (written in place); see ``search.output``.
        opts: Search options; ``limit`` 0 means every match. ``cluster`` and ``group_by`` must be unset.
        fmt: One of ``FORMATS``; None picks it from the extension of ``output``.
        model: A local model folder for the query embedding (default: the index's model).
        qid: The query id of a TREC run.
        tag: The run tag of a TREC run (default ``claims-<mode>``).
        searcher: An open ``Searcher`` of ``index_dir`` to rank with (e.g. one whose shards are Ray
            actors, ``search.shard_exec.open_ray``); the caller closes it. None: opened here.

    Returns:
        The number of rows written.

    Raises:
        ClaimsError: Unknown format, bad options or query, or an index problem (the message names the fix).
        OSError: The output cannot be written.
    """
    target = Output(output)
    name = resolve_format(Path(str(output)), default_format(output, fmt))
    tag = tag or f"claims-{opts.mode}"
    if name == "trec" and any(str(f).split() != [str(f)] for f in (qid, tag)):
        raise ClaimsError(f"TREC qid {qid!r} and tag {tag!r} must be non-empty words without spaces")
    if searcher is not None:
        s, checksum = searcher, hashlib.sha256(searcher.manifest_bytes()).hexdigest()
    else:
        s, checksum = _open(index_dir, model)
    with s if searcher is None else contextlib.nullcontext(s):
        ranked = s.iter_ranked(query, opts)
        first = next(ranked, None)  # runs the legs: query and option errors come before any write
        ranked = chain([first], ranked) if first is not None else iter(())
        with _TempFile(target) as tmp:
            rows = _rows(s, ranked, offset=opts.offset, with_text=name != "trec")
            n = _WRITERS[name](tmp.path, rows, qid=qid, tag=tag)
            info = {
                "format": name,
                "query": query,
                "mode": opts.mode,
                "options": _options(opts, s.legs_used(opts, query)),
                "leg_depths": s.leg_depths(opts),
                "model": s.manifest.model,
                "index": {
                    "path": str(s.dir),
                    "manifest_sha256": checksum,
                    "generation": s.manifest.generation,
                },
                "tool_version": tool_version(),
                "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "rows": n,
            }
            if name == "trec":
                info |= {"qid": qid, "tag": tag}
            if name == "jsonl":
                tmp.prepend(json.dumps({"manifest": info}, ensure_ascii=False) + "\n")
            beside = target.beside(MANIFEST_SUFFIX)
            if beside is not None:
                with _TempFile(Output(beside)) as side:
                    side.path.write_text(
                        json.dumps(info, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
                    )
                    side.commit()
            tmp.commit()  # the data file lands last
    return n


def _open(index_dir: Path | None, model: str | None) -> tuple[Searcher, str]:
    """A Searcher and the sha256 of the very manifest bytes it was opened at (retried if a commit lands)."""
    for _ in range(5):
        s = Searcher(index_dir, model=model)
        try:
            data = s.manifest_bytes()  # a sharded index: its shards' manifests
            if json.loads(data).get("generation") == s.manifest.generation:
                return s, hashlib.sha256(data).hexdigest()
        except (OSError, ValueError):
            pass
        s.close()
    raise ClaimsError("the index kept changing while the export opened it: run the export again")


def _options(opts: SearchOptions, legs: list[str]) -> dict[str, Any]:
    """Every search option, JSON-ready, with the fusion actually used: its parameters for ``legs`` in
    order (``fusion_params``: one weight per leg, the date leg's last) and the date leg's own."""
    d = to_json(opts)
    fusion = described(opts, legs)
    d["fusion_params"] = fusion.get("params", {})
    d["legs"] = fusion["legs"]
    d["date_leg"] = fusion.get("date_leg")
    return d


# -- ranking -> rows ------------------------------------------------------------------------------
def _rows(s: Searcher, ranked: Iterable[Ranked], offset: int = 0, with_text: bool = True) -> Iterator[Row]:
    """Rows in rank order; catalog rows are read ``CHUNK`` passages at a time (none for ``with_text=False``)."""
    rank = offset
    it = iter(ranked)
    while chunk := list(islice(it, CHUNK)):
        rows = s.catalog.passages(pid for pid, _, _ in chunk) if with_text else {}
        features = s.catalog.features(pid for pid, _, _ in chunk) if with_text else {}
        for pid, score, legs in chunk:
            rank += 1
            row = rows.get(pid, {})
            yield {
                "rank": rank,
                "score": score,
                "scores": {leg: legs[leg][1] for leg in LEGS if leg in legs},
                "ranks": {leg: legs[leg][0] for leg in LEGS if leg in legs},
                "passage_id": pid,
                "text": row.get("text"),
                "start": row.get("start"),
                "end": row.get("end"),
                "article_id": row.get("article_id"),
                "title": row.get("title"),
                "date": row.get("date"),
                "source": row.get("source"),
                "url": row.get("url"),
                "metadata": row.get("metadata", {}),
                **_features(features.get(pid)),
            }


def _features(stored: dict[str, Any] | None) -> dict[str, Any]:
    hit = Hit(0)
    hit.set_features(stored)
    return {k: getattr(hit, k) for k in FEATURE_FIELDS}


def flat(row: Row) -> dict[str, Any]:
    """A row with flat per-leg columns and ``metadata`` as a JSON string (``COLUMNS``, in order)."""
    out: dict[str, Any] = {"rank": row["rank"], "score": row["score"]}
    for leg in LEGS:
        out[f"{leg}_score"] = row["scores"].get(leg)
        out[f"{leg}_rank"] = row["ranks"].get(leg)
    out |= {k: row[k] for k in COLUMNS if k not in out and k in row and k not in FEATURE_FIELDS}
    out["metadata"] = json.dumps(row["metadata"], ensure_ascii=False)
    sp, cue, ev = row.get("speaker"), row.get("cue"), row.get("event_date")
    has = row.get("mode") is not None
    out |= {
        "speaker": (sp.get("name") or sp["text"]) if sp else None,
        "cue": cue["text"] if cue else None,
        "mode": row.get("mode"),
        "hedged": row.get("hedged"),
        "event_date": ev["date_start"] if ev else None,
        "event_date_end": ev["date_end"] if ev else None,
        "checkworthy": row.get("checkworthy"),
        "entities": json.dumps(row.get("entities") or [], ensure_ascii=False) if has else None,
        "numbers": json.dumps(row.get("numbers") or [], ensure_ascii=False) if has else None,
    }
    return {k: out.get(k) for k in COLUMNS}


# -- writers: (path, rows, qid, tag) -> rows written ------------------------------------------------
def _write_jsonl(path: Path, rows: Iterable[Row], **_) -> int:
    n = 0
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def _write_csv(path: Path, rows: Iterable[Row], **_) -> int:
    n = 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for row in rows:
            w.writerow(["" if v is None else v for v in flat(row).values()])
            n += 1
    return n


def parquet_schema():
    """The Arrow schema of Parquet exports (``COLUMNS``; leg columns and ``date`` are nullable)."""
    import pyarrow as pa

    types = {f"{leg}_score": pa.float64() for leg in LEGS} | {"score": pa.float64()}
    types |= {"checkworthy": pa.float64(), "hedged": pa.bool_()}
    ints = {"rank", "passage_id", "start", "end"} | {f"{leg}_rank" for leg in LEGS}
    return pa.schema(
        [(c, types.get(c, pa.int64() if c in ints else pa.string())) for c in COLUMNS],
        metadata={b"claims.export": b"see <file>.manifest.json"},
    )


def _write_parquet(path: Path, rows: Iterable[Row], **_) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = parquet_schema()
    n = 0
    with pq.ParquetWriter(str(path), schema) as writer:
        it = iter(rows)
        while chunk := [flat(r) for r in islice(it, CHUNK)]:
            writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
            n += len(chunk)
    return n


def _write_trec(path: Path, rows: Iterable[Row], qid: str = "q1", tag: str = "claims", **_) -> int:
    n = 0
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for row in rows:
            fh.write(trec_line(qid, row["passage_id"], row["rank"], row["score"], tag))
            n += 1
    return n


_WRITERS = {"jsonl": _write_jsonl, "csv": _write_csv, "parquet": _write_parquet, "trec": _write_trec}
assert set(_WRITERS) == set(FORMATS)


class _TempFile:
    """A temp file for an ``Output`` (``search.output``), landed by ``commit``; removed if the block fails."""

    def __init__(self, target: Output):
        self.target = target

    def __enter__(self) -> _TempFile:
        self.path = self.target.temp()
        return self

    def prepend(self, text: str) -> None:
        """Put ``text`` before what was written (a second temp file: the row count comes last)."""
        body, self.path = self.path, self.target.temp()
        try:
            with open(self.path, "wb") as out, open(body, "rb") as src:
                out.write(text.encode("utf-8"))
                shutil.copyfileobj(src, out, 1 << 20)
        finally:
            body.unlink(missing_ok=True)

    def commit(self) -> None:
        self.target.commit(self.path)

    def __exit__(self, *exc) -> None:
        self.path.unlink(missing_ok=True)
