"""``/api/*``: search, similar claims, passages, stats, streamed exports, facets, ingest.

Hits are ``search.hits.Hit.to_dict()`` objects, in the order and with the fields of
``claims search --json`` (``format=jsonl`` returns exactly those lines); the options are built by
``search.serve.params`` through ``search.options`` (the CLI's validation and defaults).
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from index.errors import ClaimsError
from search.options import OptionError, SearchOptions
from search.serve import params as P
from search.serve.streams import MEDIA

router = APIRouter(prefix="/api", dependencies=[Depends(P.reject_unknown)])
EXPORT_FORMATS = ("jsonl", "csv", "trec", "parquet")
INGEST_BYTES = 50 << 20  # the largest ingest body accepted
INGEST_TYPES = ("application/x-ndjson", "application/jsonl", "application/json")


def search_params(
    mode: str | None = Query(None, description="hybrid | keyword | semantic (default hybrid)"),
    k: int | None = Query(None, ge=1, le=P.MAX_K, description="results per page (default 10)"),
    offset: int | None = Query(None, ge=0, description="skip this many results"),
    since: str | None = Query(None, description="only passages dated on/after YYYY-MM-DD"),
    until: str | None = Query(None, description="only passages dated on/before YYYY-MM-DD"),
    source: list[str] | None = Query(None, description="only these sources (repeatable)"),
    where: list[str] | None = Query(None, description="metadata filter FIELD=VALUE (repeatable)"),
    around: str | None = Query(None, description="date leg: YYYY-MM-DD, auto or off"),
    literal: bool | None = Query(None, description="no query syntax"),
    explain: bool | None = Query(None, description="how the hits were ranked"),
    depth: int | None = Query(None, ge=1, le=100_000),
    fusion: str | None = Query(None),
    rrf_k: float | None = Query(None),
    weights: str | None = Query(None, description="KEYWORD,SEMANTIC"),
    norm: str | None = Query(None),
    min_similarity: float | None = Query(None),
    threshold: float | None = Query(None),
    cluster: bool | None = Query(None),
    cluster_threshold: float | None = Query(None),
    group_by: str | None = Query(None, description="passage | article"),
    operator: str | None = Query(None, description="auto | or"),
    clean: bool | None = Query(None),
    around_days: float | None = Query(None),
    around_weight: float | None = Query(None),
) -> dict[str, Any]:
    """The search options of a URL (the CLI's names; see ``search.serve.params``)."""
    return dict(locals())


def _service(request: Request):
    return request.app.state.service


def _require_text(q: str | None, name: str = "q") -> str:
    if q is None or not q.strip():
        raise OptionError(f"give a query: ?{name}=WORDS")
    return q


async def run_search(request: Request, q: str, opts: SearchOptions) -> dict[str, Any]:
    """One search on the current generation, time-limited: ``{"generation", "hits", "explain", "notes"}``."""
    service = _service(request)

    def work() -> dict[str, Any]:
        with service.generations.lease() as gen:
            with gen.use() as searcher:
                result = searcher.search(q, opts)
            return _payload(gen.number, result)  # the hits' dicts, with the Searcher free for others

    return await service.runner.run(work)


async def run_similar(request: Request, text: str | None, pid: int | None, opts: SearchOptions) -> dict:
    service = _service(request)

    def work() -> dict[str, Any]:
        with service.generations.lease() as gen:
            with gen.use() as searcher:
                result = searcher.similar(text, passage_id=pid, opts=opts)
            return _payload(gen.number, result)

    return await service.runner.run(work)


def _payload(generation: int, result) -> dict[str, Any]:
    return {
        "generation": generation,
        "hits": [h.to_dict() for h in result.hits],
        "explain": result.explain or None,
        "notes": list(result.notes),
    }


def _respond(payload: dict[str, Any], fmt: str | None, explain: bool, query: dict[str, Any]) -> Response:
    headers = {"X-Claims-Generation": str(payload["generation"])}
    if fmt == "jsonl":  # exactly `claims search --json`
        lines = [json.dumps(h, ensure_ascii=False) for h in payload["hits"]]
        if explain:
            lines.append(json.dumps({"explain": payload["explain"]}, ensure_ascii=False))
        body = "".join(line + "\n" for line in lines)
        return Response(body, media_type=MEDIA["jsonl"], headers=headers)
    if fmt == "csv":  # the page's rows as `claims export` columns (search.export.COLUMNS)
        from search.export import COLUMNS, flat

        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(COLUMNS)
        for h in payload["hits"]:
            w.writerow(["" if v is None else v for v in flat(h).values()])
        headers["Content-Disposition"] = 'attachment; filename="claims-results.csv"'
        return Response(buf.getvalue(), media_type=MEDIA["csv"], headers=headers)
    if fmt not in (None, "json"):
        raise OptionError(f"format {fmt!r}: choose json, jsonl or csv")
    return JSONResponse(query | payload, headers=headers)


@router.get("/search", summary="Search passages (the hits of `claims search --json`)")
async def search(
    request: Request,
    q: str | None = Query(None, description="the query (Whoosh syntax unless literal=true)"),
    format: str | None = Query(None, description="json (an object, default), jsonl (the CLI's lines) or csv"),
    p: dict = Depends(search_params),
) -> Response:
    opts = P.build(p)
    text = _require_text(q)
    payload = await run_search(request, text, opts)
    return _respond(payload, format, opts.explain, {"query": text, "mode": opts.mode})


@router.get("/similar", summary="Claims similar to a text (?text=) or a passage (?id=)")
async def similar(
    request: Request,
    text: str | None = Query(None, description="the claim text"),
    id: int | None = Query(None, description="a passage id: claims similar to that passage"),
    format: str | None = Query(None, description="json (default), jsonl or csv"),
    p: dict = Depends(search_params),
) -> Response:
    opts = P.build(p, similar=True)
    if text is not None and not text.strip():
        text = None
    payload = await run_similar(request, text, id, opts)
    return _respond(payload, format, opts.explain, {"text": text, "id": id, "mode": opts.mode})


@router.get("/export", summary="A ranking streamed as JSON Lines, CSV, TREC or Parquet")
async def export(
    request: Request,
    q: str | None = Query(None, description="the query, as for /api/search"),
    format: str = Query("jsonl", description="jsonl | csv | trec | parquet"),
    limit: int = Query(1000, ge=0, description="rows; 0 = every hit"),
    p: dict = Depends(search_params),
) -> Response:
    if format not in EXPORT_FORMATS:
        raise OptionError(f"format {format!r}: choose one of {', '.join(EXPORT_FORMATS)}")
    opts = P.build(p | {"k": None, "limit": limit}, limit_key="limit")
    text = _require_text(q)
    from search.serve.streams import stream_export

    return await stream_export(request, text, opts, format)


@router.get("/passages/{passage_id}", summary="A passage with its neighbours (`claims show --json`)")
async def passage(request: Request, passage_id: int, context: int = Query(1, ge=0, le=20)) -> JSONResponse:
    service = _service(request)

    def work() -> dict[str, Any]:
        with service.generations.lease() as gen, gen.use() as searcher:
            return passage_with_neighbours(searcher, passage_id, context) | {"generation": gen.number}

    return JSONResponse(await service.runner.run(work))


def passage_with_neighbours(searcher, passage_id: int, context: int) -> dict[str, Any]:
    """What ``claims show --json`` prints (``search.passage.show``), from a leased ``Searcher``."""
    from search.passage import passage_view

    return passage_view(searcher, passage_id, context)


@router.get("/stats", summary="Index statistics (`claims stats --json`)")
async def stats(request: Request) -> JSONResponse:
    from index.shards import is_sharded
    from search.admin import index_stats
    from search.shard_admin import sharded_stats

    service = _service(request)
    stats_of = sharded_stats if is_sharded(service.dir) else index_stats

    def work() -> dict[str, Any]:
        with service.generations.lease() as gen:
            return stats_of(service.dir) | {"served_generation": gen.number}

    return JSONResponse(await service.runner.run(work))


@router.get("/facets", summary="Facet counts over every match (`claims facets --json`)")
async def facets(
    request: Request,
    q: str | None = Query(None, description="the query whose matches are counted"),
    by: str = Query(
        "speaker,place,weapon,source,month",
        description="facets, comma-separated: speaker place weapon person org nationality mode source month",
    ),
    top: int = Query(20, ge=1, le=1000, description="values kept per facet"),
    p: dict = Depends(search_params),
) -> JSONResponse:
    """``{"matches", "facets": {NAME: [{"value", "count"}...]}, "more": {NAME: left out}, "generation"}``:
    the counts of ``claims facets --json`` (``search.facets.facets``; keyword mode unless ``mode`` is given)."""
    from search.facets import FACET_MODE, parse_by
    from search.facets import facets as facet_counts

    names = parse_by(by)
    opts = P.build(p | {"mode": p.get("mode") or FACET_MODE})
    text = _require_text(q)
    service = _service(request)

    def work() -> dict[str, Any]:
        with service.generations.lease() as gen:
            with gen.use() as searcher:
                result = facet_counts(searcher, text, opts, names, top=top)
            return result.to_dict() | {"generation": gen.number}

    return JSONResponse(await service.runner.run(work))


@router.post("/ingest", summary="Ingest a JSON Lines body (only with `claims serve --allow-ingest`)")
async def ingest(request: Request) -> JSONResponse:
    """JSON Lines records (the fields of ``claims ingest``) through the same ingest and writer lock."""
    from starlette.concurrency import run_in_threadpool

    service = _service(request)
    if service.ingest is None:
        return JSONResponse(
            {
                "error": "this server is read-only: start it with `claims serve --allow-ingest` to ingest",
                "kind": "Forbidden",
                "status": 403,
            },
            status_code=403,
        )
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in INGEST_TYPES:  # a cross-site form can only send form or text types
        return JSONResponse(
            {
                "error": f"send JSON Lines with Content-Type {INGEST_TYPES[0]} (got {kind or 'none'})",
                "kind": "UnsupportedMediaType",
                "status": 415,
            },
            status_code=415,
        )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > INGEST_BYTES:
            return JSONResponse(
                {
                    "error": f"the body is over {INGEST_BYTES >> 20} MB: split it, or use `claims ingest` on the "
                    "server",
                    "kind": "TooLarge",
                    "status": 413,
                },
                status_code=413,
            )
    if not body.strip():
        raise ClaimsError("the body is empty: send JSON Lines records (one article a line)")

    def work() -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="claims-serve-") as tmp:
            path = Path(tmp) / "upload.jsonl"  # a private temp file: no request names a path
            path.write_bytes(bytes(body))
            report = service.ingest(service.dir, [path], wait=True)  # the CLI's ingest and writer lock
        return report.to_dict()

    return JSONResponse(await run_in_threadpool(work))
