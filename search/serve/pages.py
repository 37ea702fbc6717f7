"""The HTML pages: search, similar claims (with a timeline), a passage with its neighbours, the docs.

Server-rendered with Jinja2 (autoescaped: a passage holding ``<script>`` shows as text); no CDN, no
script needed (the "why" and cluster toggles are ``<details>``). Every results page links to the
same results as JSON, CSV and the API URL. The searches go through ``search.serve.api`` (same options,
same time limit, same generation handling).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from index.errors import ClaimsError
from search.serve import params as P
from search.serve.api import passage_with_neighbours, run_search, run_similar, search_params

router = APIRouter(include_in_schema=False, dependencies=[Depends(P.reject_unknown)])
SVG_W, LANE_H, PAD_L, PAD_R, PAD_T = 760, 26, 150, 20, 24
MAX_LANES = 8


def segments(text: str, spans: list[list[int]] | list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """``text`` cut at the highlight ``spans``: ``[(piece, highlighted), ...]`` (escaped by the template)."""
    out: list[tuple[str, bool]] = []
    at = 0
    for a, b in sorted((int(a), int(b)) for a, b in spans):
        if a < at:
            continue
        if a > at:
            out.append((text[at:a], False))
        out.append((text[a:b], True))
        at = b
    if at < len(text):
        out.append((text[at:], False))
    return out


def _query_string(request: Request, **changes: Any) -> str:
    items = [(k, v) for k, v in request.query_params.multi_items() if k not in changes and v != ""]
    for k, v in changes.items():
        if v is not None:
            items.append((k, str(v)))
    return urlencode(items)


def _form(request: Request) -> dict[str, Any]:
    qp = request.query_params
    return {
        "q": qp.get("q", ""),
        "text": qp.get("text", ""),
        "mode": qp.get("mode", ""),
        "k": qp.get("k", ""),
        "since": qp.get("since", ""),
        "until": qp.get("until", ""),
        "source": ", ".join(qp.getlist("source")),
        "where": ", ".join(qp.getlist("where")),
        "literal": qp.get("literal", "") in ("true", "1", "on"),
    }


def _split(values: list[str] | None) -> list[str]:
    """Form fields ``source``/``where`` may hold several values separated by commas."""
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def _page_params(p: dict[str, Any]) -> dict[str, Any]:
    return p | {"source": _split(p.get("source")), "where": _split(p.get("where"))}


@router.get("/", response_class=HTMLResponse)
async def home(
    request: Request, q: str | None = Query(None), p: dict = Depends(search_params)
) -> HTMLResponse:
    ctx: dict[str, Any] = {"form": _form(request), "kind": "search", "result": None, "error": None}
    status = 200
    if q and q.strip():
        try:
            opts = P.build(_page_params(p))
            ctx["result"] = await run_search(request, q, opts)
            ctx["offset"] = opts.offset
            ctx["k"] = opts.limit
        except ClaimsError as e:
            from search.serve.app import error_body

            ctx["error"] = error_body(e, request.app.state.service.dir)
            status = ctx["error"]["status"]
        qs = _query_string(request)
        ctx["links"] = {
            "json": f"/api/search?{qs}",
            "jsonl": f"/api/search?{_query_string(request, format='jsonl')}",
            "csv": f"/api/search?{_query_string(request, format='csv')}",
            "export": f"/api/export?{_query_string(request, format='csv', k=None, offset=None)}",
        }
        if ctx["result"] and len(ctx["result"]["hits"]) == ctx["k"]:
            ctx["next"] = f"/?{_query_string(request, offset=ctx['offset'] + ctx['k'])}"
        if ctx["result"] and ctx["offset"]:
            ctx["prev"] = f"/?{_query_string(request, offset=max(0, ctx['offset'] - ctx['k']))}"
    return _render(request, "search.html", ctx, status)


@router.get("/similar", response_class=HTMLResponse)
async def similar_page(
    request: Request,
    text: str | None = Query(None),
    id: int | None = Query(None),
    p: dict = Depends(search_params),
) -> HTMLResponse:
    ctx: dict[str, Any] = {"form": _form(request), "kind": "similar", "result": None, "error": None}
    status = 200
    text = text if text and text.strip() else None
    if text is not None or id is not None:
        try:
            opts = P.build(_page_params(p), similar=True)
            ctx["result"] = await run_similar(request, text, id, opts)
            if id is not None:
                ctx["claim"] = await _passage(request, id, 0)
            ctx["timeline"] = timeline(ctx["result"]["hits"])
        except ClaimsError as e:
            from search.serve.app import error_body

            ctx["error"] = error_body(e, request.app.state.service.dir)
            status = ctx["error"]["status"]
        ctx["links"] = {
            "json": f"/api/similar?{_query_string(request)}",
            "jsonl": f"/api/similar?{_query_string(request, format='jsonl')}",
            "csv": f"/api/similar?{_query_string(request, format='csv')}",
        }
        ctx["claim_id"] = id
    return _render(request, "search.html", ctx, status)


@router.get("/passages/{passage_id}", response_class=HTMLResponse)
async def passage_page(
    request: Request, passage_id: int, context: int = Query(2, ge=0, le=20)
) -> HTMLResponse:
    service = request.app.state.service
    try:
        row = await _passage(request, passage_id, context)
    except ClaimsError as e:
        from search.serve.app import error_body

        body = error_body(e, service.dir)
        return _render(request, "error.html", {"error": body}, body["status"])
    before = [n for n in row["neighbours"] if n["ordinal"] < row["ordinal"]]
    after = [n for n in row["neighbours"] if n["ordinal"] > row["ordinal"]]
    return _render(request, "passage.html", {"row": row, "before": before, "after": after}, 200)


async def _passage(request: Request, passage_id: int, context: int) -> dict[str, Any]:
    service = request.app.state.service

    def work() -> dict[str, Any]:
        with service.generations.lease() as gen, gen.use() as searcher:
            return passage_with_neighbours(searcher, passage_id, context)

    return await service.runner.run(work)


def _render(request: Request, name: str, ctx: dict[str, Any], status: int) -> HTMLResponse:
    ctx = {"segments": segments, **ctx}
    return request.app.state.templates.TemplateResponse(request, name, ctx, status_code=status)


# -- a claim's spread over time ---------------------------------------------------------------------
def timeline(hits: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Points for an inline SVG: every dated hit and cluster member, x by date, one lane per source
    (the ``MAX_LANES - 1`` commonest, then "other"); the earliest is marked first seen. None: no dates."""
    points: list[dict[str, Any]] = []
    for h in hits:
        members = (h.get("cluster") or {}).get("members") or [h]
        for m in members:
            day = _day(m.get("date"))
            if day is not None:
                points.append(
                    {
                        "day": day,
                        "source": m.get("source") or "(none)",
                        "pid": m["passage_id"],
                        "title": m.get("title") or m.get("article_id") or "",
                        "rank": h["rank"],
                    }
                )
    if not points:
        return None
    counts: dict[str, int] = {}
    for pt in points:
        counts[pt["source"]] = counts.get(pt["source"], 0) + 1
    lanes = sorted(counts, key=lambda s: (-counts[s], s))
    if len(lanes) > MAX_LANES:
        keep = set(lanes[: MAX_LANES - 1])
        for pt in points:
            if pt["source"] not in keep:
                pt["source"] = "other"
        lanes = lanes[: MAX_LANES - 1] + ["other"]
    lo, hi = min(p["day"] for p in points), max(p["day"] for p in points)
    span = max((hi - lo).days, 1)
    width = SVG_W - PAD_L - PAD_R
    first = min(points, key=lambda p: (p["day"], p["pid"]))
    for pt in points:
        pt["x"] = round(PAD_L + width * (pt["day"] - lo).days / span, 1)
        pt["y"] = PAD_T + LANE_H * lanes.index(pt["source"]) + LANE_H / 2
        pt["date"] = pt["day"].isoformat()
        pt["first"] = pt is first
    return {
        "width": SVG_W,
        "height": PAD_T + LANE_H * len(lanes) + 30,
        "lanes": [{"name": s, "y": PAD_T + LANE_H * i + LANE_H / 2} for i, s in enumerate(lanes)],
        "points": points,
        "first": first,
        "start": lo.isoformat(),
        "end": hi.isoformat(),
        "axis_y": PAD_T + LANE_H * len(lanes) + 4,
        "left": PAD_L,
        "right": SVG_W - PAD_R,
    }


def _day(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((value or "")[:10])
    except ValueError:
        return None


def endpoints(openapi: dict[str, Any]) -> list[dict[str, Any]]:
    """The API's routes for the docs page: method, path, summary, parameters (from the OpenAPI schema)."""
    out = []
    for path, methods in openapi.get("paths", {}).items():
        for method, op in methods.items():
            out.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "params": [
                        {
                            "name": prm.get("name"),
                            "where": prm.get("in"),
                            "required": prm.get("required", False),
                            "description": prm.get("description") or "",
                        }
                        for prm in op.get("parameters", [])
                    ],
                }
            )
    return out
