"""The ASGI app: routes (``api``, ``pages``), the token check, errors as JSON, offline docs.

Errors: every ``/api`` error is JSON ``{"error": MESSAGE, "kind": CLASS, "status": CODE}`` (plus ``"hint"``
for a query to send literally or an index to check/repair)
and never carries a traceback. A query the parser refuses (or options out of range) -> 400, with the
CLI's one-line message naming the API's query parameters instead of the CLI's flags (``weights=0,0``
where the CLI says ``--weights 0,0``: ``index.errors.option``) and, for a query, a hint to send
``literal=true``; an unknown passage -> 404; a missing or
damaged index -> 503 naming ``claims repair``; a query past the time limit -> 503; a bad parameter
type -> 422. Pages show the same message in the page, with the same status.

Security: binding a non-loopback host needs a token (``check_bind``); with a token every request but
``/login`` and ``/static`` must carry it (``Authorization: Bearer T``, or the cookie the login form
sets, SameSite=Strict); without one, only requests whose ``Host`` is a loopback name are answered
(DNS rebinding). ``POST /api/ingest`` takes JSON Lines content types only, so a page on another site
cannot post to it with a plain form. Requests never name a file: exports are streamed into the response.
"""

from __future__ import annotations

import hmac
import ipaddress
import sqlite3
import threading
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException

from index.errors import (
    API,
    ClaimsError,
    IndexCorruptError,
    IndexLockedError,
    IndexNotFoundError,
    IndexVersionError,
    ModelMismatchError,
    NotFoundError,
    QuerySyntaxError,
)
from search.serve.state import QUERY_SECONDS, WORKERS, Generations, QueryTimeout, Runner

HERE = Path(__file__).resolve().parent
COOKIE = "claims_token"
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
OPEN_PATHS = ("/login", "/static/")


class BindError(ClaimsError):
    """A non-loopback host without a token."""


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve other machines without a token.

    Raises:
        BindError: ``host`` is not a loopback address and ``token`` is empty (the message names the fix).
    """
    if not is_loopback(host) and not token:
        raise BindError(
            f"--host {host} lets other machines reach the index: pass --token SECRET (or set CLAIMS_TOKEN), "
            "or bind 127.0.0.1"
        )


class Service:
    """What the routes share: the index's generations, the worker pool, the options of the server."""

    def __init__(self, index_dir: Path, model: str | None, token: str | None, ingest, runner):
        self.dir = Path(index_dir)
        self.generations = Generations(self.dir, model)
        self.token = token or None
        self.ingest = ingest  # index.ingest.ingest, or None: read-only
        self.runner = runner
        self.warmed = threading.Event()

    def warm(self) -> None:
        """Load the current generation's dense store and query encoder before the first request needs
        them (on a busy machine a cold model load can outlast the per-query time limit: that first query
        got a 503). Runs in a thread at startup; sets ``warmed`` when done. A failure (no index yet, no
        vectors, a damaged index) is left for the requests to report as usual."""
        try:
            with self.generations.lease() as gen, gen.use() as searcher:
                if searcher.manifest.vectors_file:
                    searcher.dense  # noqa: B018 (loads the store)
                searcher.embedder.encode_query("warm up")
        except (ClaimsError, OSError, sqlite3.DatabaseError):
            pass
        finally:
            self.warmed.set()


def status_of(e: BaseException) -> int:
    if isinstance(e, QueryTimeout | IndexNotFoundError | IndexCorruptError | IndexVersionError):
        return 503
    if isinstance(e, sqlite3.DatabaseError | OSError | ModelMismatchError):
        return 503
    if isinstance(e, IndexLockedError):
        return 409
    if isinstance(e, NotFoundError):
        return 404
    if isinstance(e, ClaimsError):
        return 400
    return 500


def error_body(e: BaseException, index_dir: Path, names: dict[str, str] | None = None) -> dict:
    """The JSON of an error (see the module docstring); one line, never a traceback. A search option in
    the message is named as the API's query parameter (``weights=``, not the CLI's ``--weights``;
    ``index.errors.render``; ``names``: an endpoint's own parameter names, ``{"limit": "limit"}``)."""
    status = status_of(e)
    if isinstance(e, sqlite3.DatabaseError):
        from index.catalog_reader import damaged_catalog
        from index.manifest import CATALOG

        message = str(damaged_catalog(index_dir / CATALOG, e))
    elif isinstance(e, ClaimsError):
        message = e.render(API, names)
    elif isinstance(e, OSError):
        message = f"{e.strerror or e} reading the index (run `claims check --index {index_dir}`)"
    else:
        message = f"unexpected {e.__class__.__name__}: {e} (report it)"
    body = {"error": message.splitlines()[0] if message else e.__class__.__name__, "kind": type(e).__name__}
    body["status"] = status
    if isinstance(e, QuerySyntaxError) and "literal=true" in message:
        body["hint"] = "search the words as plain text: add literal=true (the CLI's --literal)"
    elif status == 503 and not isinstance(e, QueryTimeout):
        body["hint"] = f"run `claims check --index {index_dir}`, then `claims repair --index {index_dir}`"
    return body


def create_app(
    index_dir: Path,
    *,
    model: str | None = None,
    token: str | None = None,
    ingest: Callable[..., Any] | None = None,
    time_limit: float = QUERY_SECONDS,
    workers: int = WORKERS,
) -> FastAPI:
    """The ``claims serve`` app over ``index_dir`` (read-only unless ``ingest`` is given).

    Args:
        index_dir: The index folder (need not exist yet: requests get 503 until it does).
        model: A local model folder for query embeddings (default: the index's model).
        token: When set, every request must carry it (see the module docstring).
        ingest: ``index.ingest.ingest`` to enable ``POST /api/ingest`` (``claims serve --allow-ingest``
            passes it; ``search/`` never imports a writer itself). None: read-only.
        time_limit: Seconds a query may take (503 past it).
        workers: Searches running at once.
    """
    from search.serve import api, pages

    @asynccontextmanager
    async def lifespan(_app):
        threading.Thread(target=service.warm, name="claims-warm", daemon=True).start()
        yield
        service.generations.close()
        service.runner.close()

    app = FastAPI(
        lifespan=lifespan,
        title="claims",
        summary="Search engine over military and geopolitical claims: the API of `claims serve`.",
        version=_version(),
        docs_url=None,  # FastAPI's Swagger UI loads from a CDN; /docs is a packaged page
        redoc_url=None,
    )
    service = Service(index_dir, model, token, ingest, Runner(workers, time_limit))
    app.state.service = service
    templates = Jinja2Templates(directory=str(HERE / "templates"))  # autoescape on for .html
    app.state.templates = templates
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)

    def refuse(request: Request) -> Response | None:
        """The answer to a request this server must not serve (host, token), or None."""
        if not service.token and not is_loopback(_host_name(request.headers.get("host", ""))):
            # Without a token the server is for this machine only; a page on another site that points a
            # name it controls at 127.0.0.1 (DNS rebinding) sends its own Host and is refused.
            return JSONResponse(
                {
                    "error": "this server answers requests for 127.0.0.1 or localhost only: open it by that name, "
                    "or restart it with --token to serve other hosts",
                    "kind": "BadHost",
                    "status": 400,
                },
                status_code=400,
            )
        if service.token and not request.url.path.startswith(OPEN_PATHS):
            given = request.cookies.get(COOKIE, "")
            auth = request.headers.get("authorization", "")
            if auth.lower().startswith("bearer "):
                given = auth[7:].strip()
            if not hmac.compare_digest(given.encode(), service.token.encode()):
                if request.url.path.startswith(("/api/", "/openapi.json")):
                    return JSONResponse(
                        {
                            "error": "this server needs its token: send `Authorization: Bearer TOKEN`",
                            "kind": "Unauthorized",
                            "status": 401,
                        },
                        status_code=401,
                        headers={"WWW-Authenticate": "Bearer"},
                    )
                return RedirectResponse("/login", status_code=303)
        return None

    class Guard:
        """``refuse``, then the response with ``nosniff`` and ``no-referrer`` headers (a plain ASGI
        middleware: Starlette's ``BaseHTTPMiddleware`` costs a task and a stream per request)."""

        def __init__(self, app) -> None:
            self.app = app

        async def __call__(self, scope, receive, send) -> None:
            if scope["type"] != "http":
                await self.app(scope, receive, send)
                return
            refused = refuse(Request(scope))
            if refused is not None:
                await refused(scope, receive, send)
                return

            async def send_with_headers(message) -> None:
                if message["type"] == "http.response.start":
                    headers = MutableHeaders(scope=message)
                    headers.setdefault("X-Content-Type-Options", "nosniff")
                    headers.setdefault("Referrer-Policy", "no-referrer")
                await send(message)

            await self.app(scope, receive, send_with_headers)

    app.add_middleware(Guard)

    @app.get("/login", include_in_schema=False)
    async def login_form(request: Request) -> Response:
        return templates.TemplateResponse(request, "login.html", {"failed": False})

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        body = await request.body()
        given = (parse_qs(body[:4096].decode("utf-8", "replace")).get("token") or [""])[0]
        if service.token and hmac.compare_digest(given.encode(), service.token.encode()):
            resp = RedirectResponse("/", status_code=303)
            resp.set_cookie(COOKIE, given, httponly=True, samesite="strict")
            return resp
        return templates.TemplateResponse(request, "login.html", {"failed": True}, status_code=401)

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "docs.html", {"endpoints": pages.endpoints(app.openapi())})

    @app.exception_handler(ClaimsError)
    async def claims_error(request: Request, e: ClaimsError) -> Response:
        return _error(request, e, service)

    @app.exception_handler(sqlite3.DatabaseError)
    async def db_error(request: Request, e: Exception) -> Response:
        return _error(request, e, service)

    @app.exception_handler(OSError)
    async def os_error(request: Request, e: Exception) -> Response:
        return _error(request, e, service)

    @app.exception_handler(RequestValidationError)
    async def bad_params(request: Request, e: RequestValidationError) -> Response:
        problems = [
            f"{'.'.join(str(p) for p in err.get('loc', ())[1:]) or 'request'}: {err.get('msg', '')}"
            for err in e.errors()
        ]
        body = {"error": "; ".join(problems), "kind": "ValidationError", "status": 422}
        if request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", ""):
            return JSONResponse(body, status_code=422)
        return templates.TemplateResponse(request, "error.html", {"error": body}, status_code=422)  # a page

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, e: HTTPException) -> JSONResponse:
        detail = e.detail if isinstance(e.detail, str) else str(e.detail)
        return JSONResponse(
            {"error": detail, "kind": "HTTPError", "status": e.status_code},
            status_code=e.status_code,
            headers=getattr(e, "headers", None),
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, e: Exception) -> JSONResponse:
        return JSONResponse(error_body(e, service.dir), status_code=500)

    return app


# Endpoints whose parameters differ from the API's usual names (``index.errors.API_NAMES``).
ENDPOINT_NAMES = {"/api/export": {"limit": "limit"}}


def _error(request: Request, e: BaseException, service: Service) -> Response:
    body = error_body(e, service.dir, ENDPOINT_NAMES.get(request.url.path))
    if request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", ""):
        return JSONResponse(body, status_code=body["status"])
    return request.app.state.templates.TemplateResponse(
        request, "error.html", {"error": body}, status_code=body["status"]
    )


def _host_name(host: str) -> str:
    """The name in a ``Host`` header, without its port (``[::1]:8750`` -> ``::1``)."""
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _version() -> str:
    from index.manifest import tool_version

    return tool_version()
