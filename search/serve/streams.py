"""Streamed exports for ``/api/export``: the rows of ``claims export`` (``search.export``), written into the
response ``search.export.CHUNK`` catalog rows at a time, never to a file; Parquet row group by row group.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse

from search.options import OptionError, SearchOptions

MEDIA = {
    "jsonl": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "trec": "text/plain; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
}


async def stream_export(request: Request, q: str, opts: SearchOptions, fmt: str) -> StreamingResponse:
    """Rank (time-limited), then stream rows ``search.export.CHUNK`` at a time (never every row at once)."""
    from search.export import CHUNK, COLUMNS, _rows, flat

    service = request.app.state.service
    generations = service.generations
    if opts.cluster or opts.group_by == "article":
        raise OptionError("an export is a passage ranking: drop cluster and group_by")

    def rank():
        gen = generations.acquire()
        try:
            with gen.use() as searcher:
                ranked = Ranking(searcher.iter_ranked(q, opts))  # ids, scores, leg ranks: no text
        except BaseException:
            generations.release(gen)
            raise
        return gen, ranked

    gen, ranked = await service.runner.run(rank, on_abandon=lambda got: generations.release(got[0]))

    def rows() -> Iterator[dict[str, Any]]:
        # CHUNK rows at a time, each chunk's catalog rows read on a Searcher of the pool held for it alone
        for start in range(0, len(ranked), CHUNK):
            chunk = ranked.slice(start, start + CHUNK)
            with gen.use() as searcher:
                batch = list(_rows(searcher, chunk, offset=opts.offset + start, with_text=fmt != "trec"))
            yield from batch

    def body() -> Iterator[bytes]:
        try:
            if fmt == "jsonl":
                for row in rows():
                    yield (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
            elif fmt == "csv":
                buf = io.StringIO()
                w = csv.writer(buf)
                w.writerow(COLUMNS)
                for n, row in enumerate(rows(), 1):
                    w.writerow(["" if v is None else v for v in flat(row).values()])
                    if n % CHUNK == 0:
                        yield buf.getvalue().encode("utf-8")
                        buf.seek(0)
                        buf.truncate()
                yield buf.getvalue().encode("utf-8")
            elif fmt == "trec":
                from search.options import trec_line

                tag = f"claims-{opts.mode}"
                for row in rows():
                    yield trec_line("q1", row["passage_id"], row["rank"], row["score"], tag).encode("utf-8")
            else:
                yield from _parquet(rows(), CHUNK)
        finally:
            generations.release(gen)

    ext = {"jsonl": "jsonl", "csv": "csv", "trec": "trec", "parquet": "parquet"}[fmt]
    return StreamingResponse(
        body(),
        media_type=MEDIA[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="claims-export.{ext}"',
            "X-Claims-Generation": str(gen.number),
        },
    )


class Ranking:
    """An export's ranking held in flat arrays while its rows stream out (52 bytes a row: passage id, score,
    and each leg's rank and score), instead of a tuple and a dict a row (~10x that): a slow client of a
    large export holds little. ``slice(start, stop)`` gives back ``search.export.Ranked`` tuples."""

    def __init__(self, ranked: Iterator[tuple[int, float, dict[str, tuple[int, float]]]]):
        from array import array

        from search.export import LEGS

        self.legs = LEGS
        self.ids, self.scores = array("q"), array("d")
        self.ranks = {leg: array("i") for leg in LEGS}  # 0: not in that leg's run
        self.leg_scores = {leg: array("d") for leg in LEGS}
        for pid, score, legs in ranked:
            self.ids.append(pid)
            self.scores.append(score)
            for leg in LEGS:
                rank, leg_score = legs.get(leg, (0, 0.0))
                self.ranks[leg].append(rank)
                self.leg_scores[leg].append(leg_score)

    def __len__(self) -> int:
        return len(self.ids)

    def slice(self, start: int, stop: int) -> list[tuple[int, float, dict[str, tuple[int, float]]]]:
        out = []
        for i in range(start, min(stop, len(self.ids))):
            legs = {
                leg: (self.ranks[leg][i], self.leg_scores[leg][i]) for leg in self.legs if self.ranks[leg][i]
            }
            out.append((self.ids[i], self.scores[i], legs))
        return out


class _Sink:
    """A write-only file for pyarrow whose bytes are taken out after each row group."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.pos = 0
        self.closed = False

    def write(self, data) -> int:
        b = bytes(data)
        self.parts.append(b)
        self.pos += len(b)
        return len(b)

    def tell(self) -> int:
        return self.pos

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def take(self) -> bytes:
        out, self.parts = b"".join(self.parts), []
        return out


def _parquet(rows: Iterator[dict[str, Any]], chunk: int) -> Iterator[bytes]:
    import itertools

    import pyarrow as pa
    import pyarrow.parquet as pq

    from search.export import flat, parquet_schema

    schema = parquet_schema()
    sink = _Sink()
    writer = pq.ParquetWriter(pa.PythonFile(sink, mode="w"), schema)
    it = iter(rows)
    while batch := [flat(r) for r in itertools.islice(it, chunk)]:
        writer.write_table(pa.Table.from_pylist(batch, schema=schema))
        yield sink.take()
    writer.close()
    yield sink.take()
