"""The ``claims`` command line: parse options, call one library function, render.

Results go to stdout (a rich table for people, ``--json`` JSON Lines for machines); progress and
messages go to stderr. Exit codes, like ripgrep: 0 hits (or success), 1 no hits, 2 error. Every
error is one line naming the fix; no tracebacks (set ``CLAIMS_DEBUG=1`` to see them).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from search import options as so  # stdlib + index.errors only: keeps the CLI's start-up light

app = typer.Typer(
    name="claims",
    help="Search engine over military and geopolitical claims: ingest articles, search, find similar claims.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(soft_wrap=False)
err = Console(stderr=True, soft_wrap=True)

# -- options defined once, shared by every command -------------------------------------------
IndexOpt = Annotated[
    Path,
    typer.Option(
        "--index", envvar="CLAIMS_INDEX", help="Index folder (env CLAIMS_INDEX).", show_default=True
    ),
]
DEFAULT_INDEX = Path("claims-index")
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or status on stderr.")]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="JSON Lines on stdout (schema: README, search/hits.py).")
]
ModelOpt = Annotated[
    str | None, typer.Option("--model", help="Local sentence-transformers folder (default: bundled MiniLM).")
]


def _choices(name: str, values: tuple[str, ...]) -> type[StrEnum]:
    """A typer choice type from one of ``search.options``' choice lists (members named as the values)."""
    return StrEnum(name, {v: v for v in values})  # type: ignore[return-value]


Mode = _choices("Mode", so.MODES)
Fusion = _choices("Fusion", so.FUSIONS)
Norm = _choices("Norm", so.NORMS)
Operator = _choices("Operator", so.OPERATORS)
GroupBy = _choices("GroupBy", so.GROUP_BY)
RunFormat = _choices("RunFormat", so.RUN_FORMATS)
D = SimpleNamespace(**so.defaults())  # the defaults of search, export and eval
S = SimpleNamespace(**so.defaults(**so.SIMILAR))  # the defaults of similar (and Searcher.similar)


LimitOpt = Annotated[int, typer.Option("--limit", "-k", min=1, help="Number of results.")]
OffsetOpt = Annotated[int, typer.Option("--offset", min=0, help="Skip this many results (paging).")]
SinceOpt = Annotated[str | None, typer.Option("--since", help="Only passages dated on/after YYYY-MM-DD.")]
UntilOpt = Annotated[str | None, typer.Option("--until", help="Only passages dated on/before YYYY-MM-DD.")]
SourceOpt = Annotated[list[str] | None, typer.Option("--source", help="Only these sources (repeatable).")]
WhereOpt = Annotated[
    list[str] | None, typer.Option("--where", help="Metadata filter FIELD=VALUE (repeatable, all must hold).")
]
NoExtractOpt = Annotated[
    bool,
    typer.Option(
        "--no-extract", help="Skip claim intelligence (speaker, entities...): faster; filters need it."
    ),
]
SpeakerOpt = Annotated[
    str | None,
    typer.Option("--speaker", help="Only claims by this speaker (case-insensitive part of the name)."),
]
ClaimModeOpt = Annotated[
    str | None, typer.Option("--claim-mode", help="Only claims made as: quote, reported or assertion.")
]
EntityOpt = Annotated[
    list[str] | None,
    typer.Option("--entity", help="Only passages naming this entity (repeatable, all must hold)."),
]
PlaceOpt = Annotated[
    list[str] | None, typer.Option("--place", help="Only passages naming this place (repeatable).")
]
WeaponOpt = Annotated[
    list[str] | None,
    typer.Option("--weapon", help="Only passages naming this weapon system or unit (repeatable)."),
]
CheckworthyOpt = Annotated[
    float | None,
    typer.Option("--checkworthy", help="Only passages with check-worthiness at least this (0..1)."),
]
NumberOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--number",
        help="Only passages stating such a quantity, e.g. 'casualties>100', 'aircraft>=3', "
        "'distance_km<500' (repeatable, all must hold).",
    ),
]
LiteralOpt = Annotated[
    bool, typer.Option("--literal", help="No query syntax: every character is plain text.")
]
ExplainOpt = Annotated[
    bool, typer.Option("--explain", help="Show the parsed query and each leg's rank and score.")
]
DepthOpt = Annotated[
    int, typer.Option("--depth", min=1, help="Candidates fetched from each leg before fusion.")
]
FusionOpt = Annotated[Fusion, typer.Option("--fusion", help="Fusion method for hybrid mode.")]
RrfKOpt = Annotated[float, typer.Option("--rrf-k", min=0, help="RRF constant k (Cormack et al. 2009).")]
WeightsOpt = Annotated[
    str, typer.Option("--weights", help="Leg weights KEYWORD,SEMANTIC for fusion, e.g. 1,1 or 0.3,0.7.")
]
NormOpt = Annotated[Norm, typer.Option("--norm", help="Score normalisation for --fusion convex.")]
ClusterOpt = Annotated[
    bool, typer.Option("--cluster/--no-cluster", help="Collapse near-duplicate claims into one row.")
]
ClusterThresholdOpt = Annotated[
    float, typer.Option("--cluster-threshold", min=0, max=1, help="Cosine at or above which claims cluster.")
]
ExpandOpt = Annotated[bool, typer.Option("--expand", help="List every member of each claim cluster.")]
OperatorOpt = Annotated[
    Operator,
    typer.Option(
        "--operator", help="Keyword leg: auto (AND when enough passages have every term, else OR) or or."
    ),
]
CleanOpt = Annotated[
    bool,
    typer.Option(
        "--clean/--no-clean", help="Strip links, @handles, #tags and tweet signatures from claim text."
    ),
]
EmbedFieldOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--embed-field",
        help="Also embed this article field (title, or a metadata key such as subtitle); repeatable.",
    ),
]
AroundOpt = Annotated[
    str | None,
    typer.Option(
        "--around",
        help="Prefer passages dated near the day the claim was made: YYYY-MM-DD, 'auto' (the date a pasted "
        "tweet's signature carries) or 'off'. Batch files may give each query its date as a third column.",
    ),
]
AroundDaysOpt = Annotated[
    float, typer.Option("--around-days", min=0.001, help="Days away at which the date leg scores half.")
]
AroundWeightOpt = Annotated[
    float, typer.Option("--around-weight", min=0.0, help="Weight of the date leg in the fusion.")
]
GroupOpt = Annotated[
    GroupBy, typer.Option("--group-by", help="Rank passages, or articles by their best passage.")
]

MinSimOpt = Annotated[
    float | None,
    typer.Option(
        "--min-similarity",
        help="Minimum cosine for a semantic candidate to count as a hit (default chosen on CheckThat! train).",
    ),
]
ThresholdOpt = Annotated[
    float | None, typer.Option("--threshold", help="Minimum cosine similarity of every row (-1..1).")
]
QueriesOpt = Annotated[
    Path | None,
    typer.Option(
        "--queries", help="Batch mode: qid<TAB>text[<TAB>YYYY-MM-DD] lines, one claim each (literal)."
    ),
]
SyntaxOpt = Annotated[
    bool, typer.Option("--query-syntax", help="Batch mode: parse each line with the query language.")
]
RunFormatOpt = Annotated[RunFormat, typer.Option("--format", help="Batch run format.")]
RunOutputOpt = Annotated[
    str | None, typer.Option("--output", "-o", help="Batch mode: write the run to this file ('-': stdout).")
]


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Translate the library's errors into one line on stderr and exit code 2, once, at the edge."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import sqlite3

        from index.errors import ClaimsError

        if not os.environ.get("CLAIMS_DEBUG"):
            _quiet_teardown_errors()
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except ClaimsError as e:
            _fail(str(e))
        except sqlite3.OperationalError as e:  # full disk, I/O error, read-only or missing file
            _fail(f"catalog: {e} (check free disk space and permissions)")
        except sqlite3.DatabaseError as e:  # "malformed" found mid-query, past the checks on open
            from index.catalog_reader import damaged_catalog
            from index.manifest import CATALOG

            _fail(str(damaged_catalog(_index(kwargs.get("index")) / CATALOG, e)))
        except KeyboardInterrupt:
            _fail("interrupted; the index is unchanged (run the command again to finish)", 130)
        except BrokenPipeError:
            sys.stderr.close()
            raise typer.Exit(0) from None
        except OSError as e:
            _fail(f"{e.strerror or e}: {e.filename or ''} (check free disk space and permissions)".strip())
        except Exception as e:  # noqa: BLE001 - never a traceback for users
            if os.environ.get("CLAIMS_DEBUG"):
                raise
            _fail(f"unexpected {e.__class__.__name__}: {e} (rerun with CLAIMS_DEBUG=1 and report it)")

    return wrapper


def _quiet_teardown_errors() -> None:
    """Drop what Python can only print while freeing objects: Whoosh reading a damaged segment leaves a
    bytearray whose buffer is still exported, and CPython prints "SystemError: deallocated bytearray object
    has exported buffers" (through ``sys.excepthook``) under the one-line error; nothing can act on it.
    ``CLAIMS_DEBUG=1`` shows them."""
    previous = sys.excepthook

    def excepthook(kind, value, tb):
        if kind is not SystemError:
            previous(kind, value, tb)

    sys.excepthook = excepthook
    sys.unraisablehook = lambda _unraisable: None


def _index(path: Path | None) -> Path:
    return path or DEFAULT_INDEX


def _options(**kw) -> Any:
    """Map a command's flags onto ``search.options.SearchOptions`` and validate them (no index, no model)."""
    from search.query import Filters

    filters = Filters(
        since=kw.pop("since", None),
        until=kw.pop("until", None),
        sources=list(kw.pop("source", None) or []),
        where=Filters.parse_where(list(kw.pop("where", None) or [])),
        speaker=kw.pop("speaker", None),
        claim_mode=kw.pop("claim_mode", None),
        entities=list(kw.pop("entity", None) or []),
        places=list(kw.pop("place", None) or []),
        weapons=list(kw.pop("weapon", None) or []),
        checkworthy=kw.pop("checkworthy", None),
        numbers=list(kw.pop("number", None) or []),
    )
    group = kw.pop("group_by", None)
    kw = {k: (v.value if isinstance(v, StrEnum) else v) for k, v in kw.items()}
    if "weights" in kw:
        kw["weights"] = so.parse_weights(kw["weights"])
    opts = so.SearchOptions(
        filters=filters, group_by=None if group in (None, "passage") else str(group.value), **kw
    )
    return so.validate(opts)


RaySearchOpt = Annotated[
    str | None,
    typer.Option(
        "--ray",
        metavar="ADDRESS",
        help="Sharded --index: search each shard in a Ray actor ('local', 'auto' or HOST:PORT). "
        "Needs pip install -e '.[ray]'.",
    ),
]


def _searcher(index: Path, model: str | None, ray: str | None):
    """The ``Searcher`` of a read command, as a context manager: with ``--ray``, a sharded index's
    shards are Ray actors (``search.shard_exec.open_ray``: Ray and the index are checked first)."""
    from search.searcher import Searcher

    if ray is None:
        return Searcher(index, model=model)
    from search.shard_exec import open_ray

    return open_ray(index, model, ray)


def _pick(values: dict[str, Any]) -> dict[str, Any]:
    """The search options among a command's parameters."""
    import dataclasses

    fields = {f.name for f in dataclasses.fields(so.SearchOptions)} | {"since", "until", "source", "where"}
    fields |= {"speaker", "claim_mode", "entity", "place", "weapon", "checkworthy", "number"}
    return {k: v for k, v in values.items() if k in fields}


# -- rendering ----------------------------------------------------------------------------------
def _snippet(hit, width: int = 240) -> Text:
    text = Text(hit.text if len(hit.text) <= width else hit.text[: width - 1] + "…")
    for a, b in hit.highlights:
        if a < width:
            text.stylize("bold yellow", a, min(b, width))
    return text


def render_hits(result, as_json: bool, expand: bool = False, explain: bool = False) -> None:
    if as_json:
        for h in result.hits:
            d = h.to_dict()
            print(json.dumps(d, ensure_ascii=False))  # clusters always carry their members in JSON
        if explain:
            print(json.dumps({"explain": result.explain}, ensure_ascii=False))
        sys.stdout.flush()
        return
    if explain:
        err.print(
            f"[dim]explain:[/] {escape(json.dumps(result.explain, ensure_ascii=False))}", highlight=False
        )
    if not result.hits:
        err.print("no results", highlight=False)
        return
    clustered = any(h.cluster for h in result.hits)
    table = Table(show_lines=False, header_style="bold", expand=False)
    table.add_column("#", justify="right")
    table.add_column("score", justify="right")
    if explain:
        table.add_column("legs (rank/score)")
    table.add_column("date")
    table.add_column("source", max_width=18, overflow="ellipsis")
    if clustered:
        table.add_column("claims", justify="right")
    table.add_column("title / passage", ratio=1)
    table.add_column("id", justify="right", no_wrap=True)  # whole: a sharded index's ids are 12 digits
    for h in result.hits:
        body = Text(h.title or "", style="bold")
        body.append("\n")
        body.append_text(_snippet(h))
        if h.cluster and h.cluster.get("conflicts"):
            from search.clusters import describe_conflicts

            body.append("\nconflicting: " + describe_conflicts(h.cluster["conflicts"]), style="bold red")
        row = [str(h.rank), f"{h.score:.4g}"]
        if explain:
            row.append("\n".join(f"{leg}: #{h.ranks[leg]} {h.scores[leg]:.4g}" for leg in h.ranks))
        date = h.date or ""
        source = h.source
        if clustered:
            c = h.cluster or {}
            date = c.get("first_seen") or date
            source = ", ".join(c.get("sources", [])) or source
            row += [date, source, str(c.get("size", 1))]
        else:
            row += [date, source]
        row += [body, str(h.passage_id)]
        table.add_row(*row)
        if expand and h.cluster and h.cluster.get("size", 1) > 1:
            for m in h.cluster["members"]:
                table.add_row(
                    "",
                    "",
                    *([""] if explain else []),
                    m.get("date") or "",
                    m.get("source") or "",
                    "",
                    Text(f"  ↳ {m.get('title') or m.get('article_id')}", style="dim"),
                    str(m["passage_id"]),
                )
    out.print(table)


def _exit_for(hits) -> None:
    raise typer.Exit(0 if hits else 1)


# -- commands ------------------------------------------------------------------------------------
@app.command()
@guarded
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (recursive); .gz allowed.")],
    index: IndexOpt = DEFAULT_INDEX,
    source: Annotated[
        str | None, typer.Option("--source", help="Source name (default: folder name).")
    ] = None,
    id_field: Annotated[str, typer.Option("--id-field")] = "id",
    text_field: Annotated[str, typer.Option("--text-field")] = "text",
    title_field: Annotated[str, typer.Option("--title-field")] = "title",
    date_field: Annotated[str, typer.Option("--date-field")] = "date",
    source_field: Annotated[str, typer.Option("--source-field")] = "source",
    url_field: Annotated[str, typer.Option("--url-field")] = "url",
    embed_field: EmbedFieldOpt = None,
    model: ModelOpt = None,
    strict: Annotated[bool, typer.Option("--strict", help="Fail on the first bad file or record.")] = False,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Fail at once if another writer holds the index.")
    ] = False,
    quiet: QuietOpt = False,
    as_json: JsonOpt = False,
    no_extract: NoExtractOpt = False,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="ADDRESS",
            help="Run on Ray: 'local' (start a cluster here with --workers CPUs), 'auto' or HOST:PORT "
            "(a running cluster). Needs pip install -e '.[ray]'.",
        ),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="With --ray: embedding actors (default 2).")
    ] = None,
    shards: Annotated[
        int | None,
        typer.Option(
            "--shards",
            metavar="N",
            help="Make --index a sharded index of N shards (articles routed by a hash of their id).",
        ),
    ] = None,
) -> None:
    """Split articles into claim-sized passages and index them (incremental; one atomic batch)."""
    from index.shards import is_sharded, validate_count
    from index.sources import FieldMap

    if workers is not None and ray is None:
        _fail("--workers needs --ray (e.g. --ray local --workers 2)")
    if shards is not None:
        validate_count(shards)
    sharded = shards is not None or is_sharded(index)
    if ray is not None:  # checked before anything heavy loads: the options, then that Ray is there at all
        from index.ray_cluster import require_ray, validate_workers

        validate_workers(2 if workers is None else workers)
        require_ray()
    if sharded:
        from functools import partial

        from index.shard_ingest import ingest_sharded

        ray_opts = {} if ray is None else {"ray": ray, "workers": 2 if workers is None else workers}
        run_ingest = partial(ingest_sharded, shards=shards, **ray_opts)
    elif ray is not None:
        from functools import partial

        from index.ray_ingest import ingest_ray

        run_ingest = partial(ingest_ray, address=ray, workers=2 if workers is None else workers)
    else:
        from index.ingest import ingest as run_ingest

    fields = FieldMap(
        id=id_field, text=text_field, title=title_field, date=date_field, source=source_field, url=url_field
    )
    with _progress(quiet) as progress:
        report = run_ingest(
            index,
            paths,
            fields=fields,
            source=source,
            model=model,
            strict=strict,
            wait=not no_wait,
            progress=progress,
            embed_fields=embed_field or (),
            extract=not no_extract,
        )
    if as_json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
    elif not quiet:
        err.print(
            f"[green]ingested[/] {report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
            f"{report.failed} failed"
            + (
                f", {report.repeats} repeated ids collapsed (the last record of an id wins)"
                if report.repeats
                else ""
            )
            + f"; {report.passages} passages, {report.dropped} boilerplate dropped; "
            f"{report.embedded} embedded ({report.cached_vectors} cached); {report.seconds:.1f}s "
            f"-> {index} (generation {report.generation})",
            highlight=False,
        )


class _progress:
    """Progress on stderr fed by the ingest's ``progress(event, **info)`` callback: a rich display on a
    terminal; elsewhere (piped, a log file) one plain line every ``interval`` seconds with the rate and,
    from the bytes of the files done, an ETA."""

    interval = 30.0

    def __init__(self, quiet: bool):
        self.quiet = quiet

    def __enter__(self):
        if self.quiet:
            return lambda event, **info: None
        self.live = err.is_terminal
        self.counts = {"articles": 0, "passages": 0}
        self.files: dict = {}
        self.embedding: tuple | None = None  # of a window too big to hold (a huge article)
        import time

        self.clock = time.monotonic
        self.t0 = self.last = self.clock()
        if self.live:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.p = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed:,}"),
                TimeElapsedColumn(),
                console=err,
                transient=True,
            )
            self.p.start()
            self.tasks = {name: self.p.add_task(name, total=None) for name in self.counts}
        return self.progress

    def progress(self, event: str, **info) -> None:
        if event in self.counts:
            self.counts[event] += info.get("n", 1)
            if self.live:
                self.p.advance(self.tasks[event], info.get("n", 1))
        elif event == "file":
            self.files = info
        elif event == "embedding":  # (done, total, first done, its time): the rate since the first report
            first = self.embedding if self.embedding and self.embedding[1] == info["total"] else None
            start = (first[2], first[3]) if first else (info["done"], self.clock())
            self.embedding = (info["done"], info["total"], *start)
        elif event in ("problem", "wait"):
            msg = str(info.get("problem") or info.get("message"))
            kind = (
                "warning" if event == "wait" or not getattr(info.get("problem"), "fatal", True) else "skipped"
            )
            err.print(f"[yellow]{kind}:[/] {escape(msg)}", highlight=False)
        elif event == "commit" and not self.live:
            err.print(f"committed generation {info['generation']}", highlight=False)
        now = self.clock()
        if not self.live and now - self.last >= self.interval:
            self.last = now
            err.print(self.line(now), highlight=False)

    def line(self, now: float) -> str:
        """``ingest: 1,200 articles, 9,800 passages (41.2 passages/s); files 3/10, 31% of bytes, ETA 12m5s``."""
        elapsed = max(now - self.t0, 1e-9)
        a, p = self.counts["articles"], self.counts["passages"]
        out = f"ingest: {a:,} articles, {p:,} passages ({p / elapsed:.1f} passages/s, {a / elapsed:.1f} articles/s)"
        f = self.files
        if f.get("bytes_total"):
            share = f["bytes_done"] / f["bytes_total"]
            out += f"; files {f['done']}/{f['total']}, {share:.0%} of bytes"
            if share > 0:
                eta = int(elapsed * (1 - share) / share)
                out += f", ETA {eta // 60}m{eta % 60}s"
        if self.embedding and self.embedding[0] < self.embedding[1]:
            done, total, done0, t0 = self.embedding
            out += f"; embedding a large article: {done:,}/{total:,} texts"
            if done > done0:
                eta = int((now - t0) * (total - done) / (done - done0))
                out += f", ETA {eta // 60}m{eta % 60}s"
        return out + f"; {int(elapsed)}s elapsed"

    def __exit__(self, *exc):
        if not self.quiet and self.live:
            self.p.stop()


@app.command()
@guarded
def search(
    query: Annotated[str | None, typer.Argument(help="Query (Whoosh syntax in keyword/hybrid mode).")] = None,
    index: IndexOpt = DEFAULT_INDEX,
    mode: Annotated[Mode, typer.Option("--mode", "-m", help="Which legs answer.")] = D.mode,
    limit: LimitOpt = D.limit,
    offset: OffsetOpt = D.offset,
    since: SinceOpt = None,
    until: UntilOpt = None,
    source: SourceOpt = None,
    where: WhereOpt = None,
    speaker: SpeakerOpt = None,
    claim_mode: ClaimModeOpt = None,
    entity: EntityOpt = None,
    place: PlaceOpt = None,
    weapon: WeaponOpt = None,
    checkworthy: CheckworthyOpt = None,
    number: NumberOpt = None,
    literal: LiteralOpt = False,
    operator: OperatorOpt = D.operator,
    clean: CleanOpt = D.clean,
    around: AroundOpt = D.around,
    around_days: AroundDaysOpt = D.around_days,
    around_weight: AroundWeightOpt = D.around_weight,
    as_json: JsonOpt = False,
    explain: ExplainOpt = False,
    quiet: QuietOpt = False,
    depth: DepthOpt = D.depth,
    fusion: FusionOpt = D.fusion,
    rrf_k: RrfKOpt = D.rrf_k,
    weights: WeightsOpt = so.format_weights(D.weights),
    norm: NormOpt = D.norm,
    min_similarity: MinSimOpt = D.min_similarity,
    threshold: ThresholdOpt = None,
    cluster: ClusterOpt = D.cluster,
    cluster_threshold: ClusterThresholdOpt = D.cluster_threshold,
    expand: ExpandOpt = False,
    group_by: GroupOpt = "passage",
    model: ModelOpt = None,
    queries: QueriesOpt = None,
    query_syntax: SyntaxOpt = False,
    fmt: RunFormatOpt = "jsonl",
    output: RunOutputOpt = None,
    ray: RaySearchOpt = None,
) -> None:
    """Search passages: keyword (Whoosh BM25F), semantic (FAISS) or hybrid (fused)."""
    opts = _options(**_pick(locals()))
    _check_batch(queries, query, output, "QUERY")
    if query is None and queries is None:
        _fail("give a QUERY, or --queries FILE.tsv for a batch run")
    with _searcher(index, model, ray) as s:
        if queries is not None:
            _batch(s, queries, opts, fmt, "search", query_syntax, output, quiet)
        result = s.search(query, opts)
    render_hits(result, as_json, expand=expand, explain=explain)
    _exit_for(result.hits)


def _check_batch(queries: Path | None, text: str | None, output: str | None, what: str) -> None:
    if queries is None and output is not None:
        _fail("-o/--output writes a batch run: add --queries FILE (or use `claims export` for one query)")
    if queries is not None and text is not None:
        _fail(f"give a {what} or --queries FILE, not both")
    if output is not None and output != "-":
        from search.output import Output

        Output(output)  # a folder, or a missing one, is refused before anything loads


def _batch(searcher, path: Path, opts, fmt, kind: str, syntax: bool, output: str | None, quiet: bool) -> None:
    """A batch run (``search.batch.run_batch``): a failing query is reported with its qid and skipped."""
    from search.batch import open_run, run_batch

    def skipped(qid: str, message: str) -> None:
        err.print(f"[yellow]skipped query {escape(qid)}:[/] {escape(message)}", highlight=False)

    with open_run(output) as fh:
        report = run_batch(searcher, path, opts, fh, fmt=str(fmt), kind=kind, syntax=syntax, on_error=skipped)
    if not quiet:
        failed = f", {len(report.failed)} skipped" if report.failed else ""
        err.print(f"{report.queries} queries{failed}, {report.rows} results", highlight=False)
    raise typer.Exit(0 if report.rows else 1)


@app.command()
@guarded
def similar(
    claim: Annotated[str | None, typer.Argument(help="The claim text.")] = None,
    passage_id: Annotated[int | None, typer.Option("--id", help="Use this passage as the claim.")] = None,
    index: IndexOpt = DEFAULT_INDEX,
    mode: Annotated[Mode, typer.Option("--mode", "-m", help="Which legs answer.")] = S.mode,
    threshold: ThresholdOpt = S.threshold,
    min_similarity: MinSimOpt = S.min_similarity,
    limit: LimitOpt = S.limit,
    offset: OffsetOpt = S.offset,
    since: SinceOpt = None,
    until: UntilOpt = None,
    source: SourceOpt = None,
    where: WhereOpt = None,
    speaker: SpeakerOpt = None,
    claim_mode: ClaimModeOpt = None,
    entity: EntityOpt = None,
    place: PlaceOpt = None,
    weapon: WeaponOpt = None,
    checkworthy: CheckworthyOpt = None,
    number: NumberOpt = None,
    operator: OperatorOpt = S.operator,
    clean: CleanOpt = S.clean,
    around: AroundOpt = S.around,
    around_days: AroundDaysOpt = S.around_days,
    around_weight: AroundWeightOpt = S.around_weight,
    as_json: JsonOpt = False,
    explain: ExplainOpt = False,
    quiet: QuietOpt = False,
    depth: DepthOpt = S.depth,
    fusion: FusionOpt = S.fusion,
    rrf_k: RrfKOpt = S.rrf_k,
    weights: WeightsOpt = so.format_weights(S.weights),
    norm: NormOpt = S.norm,
    cluster: ClusterOpt = S.cluster,
    cluster_threshold: ClusterThresholdOpt = S.cluster_threshold,
    expand: ExpandOpt = False,
    model: ModelOpt = None,
    queries: QueriesOpt = None,
    fmt: RunFormatOpt = "jsonl",
    output: RunOutputOpt = None,
    ray: RaySearchOpt = None,
) -> None:
    """Find claims similar to a text or a passage; near-duplicates collapse into clusters (first seen first)."""
    opts = _options(**_pick(locals()))
    _check_batch(queries, claim, output, "CLAIM")
    if queries is not None and passage_id is not None:
        _fail("give --id PASSAGE_ID or --queries FILE, not both")
    with _searcher(index, model, ray) as s:
        if queries is not None:
            _batch(s, queries, opts, fmt, "similar", False, output, quiet)
        result = s.similar(claim, passage_id=passage_id, opts=opts)
    for note in [] if quiet else result.notes:
        err.print(f"[yellow]note:[/] {escape(note)}", highlight=False)
    render_hits(result, as_json, expand=expand, explain=explain)
    _exit_for(result.hits)


@app.command()
@guarded
def export(
    query: Annotated[str, typer.Argument(help="Query, as for `claims search`.")],
    output: Annotated[
        str, typer.Option("--output", "-o", help="File to write (.jsonl .csv .parquet .trec; '-': stdout).")
    ],
    index: IndexOpt = DEFAULT_INDEX,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", help="jsonl, csv, parquet or trec (default: from the extension; jsonl for -)."
        ),
    ] = None,
    mode: Annotated[Mode, typer.Option("--mode", "-m")] = D.mode,
    limit: Annotated[
        int, typer.Option("--limit", "-k", min=0, help="At most this many rows; 0 = every hit.")
    ] = 1000,
    since: SinceOpt = None,
    until: UntilOpt = None,
    source: SourceOpt = None,
    where: WhereOpt = None,
    speaker: SpeakerOpt = None,
    claim_mode: ClaimModeOpt = None,
    entity: EntityOpt = None,
    place: PlaceOpt = None,
    weapon: WeaponOpt = None,
    checkworthy: CheckworthyOpt = None,
    number: NumberOpt = None,
    literal: LiteralOpt = False,
    operator: OperatorOpt = D.operator,
    around: AroundOpt = D.around,
    around_days: AroundDaysOpt = D.around_days,
    around_weight: AroundWeightOpt = D.around_weight,
    depth: DepthOpt = D.depth,
    fusion: FusionOpt = D.fusion,
    rrf_k: RrfKOpt = D.rrf_k,
    weights: WeightsOpt = so.format_weights(D.weights),
    norm: NormOpt = D.norm,
    min_similarity: MinSimOpt = D.min_similarity,
    threshold: ThresholdOpt = None,
    model: ModelOpt = None,
    quiet: QuietOpt = False,
    ray: RaySearchOpt = None,
) -> None:
    """Export ranked passages with provenance (JSON Lines, CSV, Parquet, TREC run) plus a manifest."""
    from search.export import export as run_export
    from search.output import Output

    opts = _options(**_pick(locals()))
    Output(output)  # a folder is refused before anything loads
    if ray is None:
        n = run_export(index, query, output, opts, fmt=fmt, model=model)
    else:
        with _searcher(index, model, ray) as s:
            n = run_export(index, query, output, opts, fmt=fmt, model=model, searcher=s)
    if not quiet:
        err.print(f"exported {n} rows -> {'stdout' if output == '-' else output}", highlight=False)
    raise typer.Exit(0 if n else 1)


@app.command()
@guarded
def show(
    passage_id: Annotated[int, typer.Argument(help="Passage id (from search results).")],
    index: IndexOpt = DEFAULT_INDEX,
    context: Annotated[int, typer.Option("--context", min=0, help="Neighbouring passages on each side.")] = 1,
    as_json: JsonOpt = False,
) -> None:
    """Show a passage with its neighbours in the article, title, date, source, url and offsets."""
    from search.passage import show as run_show

    row = run_show(index, passage_id, context)
    if as_json:
        print(json.dumps(row, ensure_ascii=False))
        return
    out.print(f"[bold]{escape(row['title'] or row['article_id'])}[/]", highlight=False)
    meta = f"{row['date'] or 'undated'} · {row['source']} · article {row['article_id']} · chars {row['start']}-{row['end']}"
    out.print(f"[dim]{escape(meta)}[/]", highlight=False)
    if row["url"]:
        out.print(f"[dim]{escape(row['url'])}[/]", highlight=False)
    for n in row["neighbours"]:
        if n["ordinal"] < row["ordinal"]:
            out.print(f"[dim]{escape(n['text'])}[/]", highlight=False)
    out.print(f"[bold yellow]▶[/] {escape(row['text'])}", highlight=False)
    for n in row["neighbours"]:
        if n["ordinal"] > row["ordinal"]:
            out.print(f"[dim]{escape(n['text'])}[/]", highlight=False)
    for label, value in _claim_lines(row):
        out.print(f"[bold]{label}[/] {escape(value)}", highlight=False)


def _claim_lines(row: dict[str, Any]) -> list[tuple[str, str]]:
    """The claim features of a ``show`` row as (label, text) lines; none when it has no features."""
    if row.get("mode") is None:
        return []
    sp, cue, ev = row.get("speaker"), row.get("cue"), row.get("event_date")
    who = "the outlet (assertion)" if sp is None else (sp.get("name") or sp["text"])
    lines = [
        (
            "claim:",
            f"{row['mode']}{' (hedged)' if row.get('hedged') else ''} by {who}"
            + (f", cue {cue['text']!r}" if cue else ""),
        ),
    ]
    if ev:
        when = (
            ev["date_start"]
            if ev["date_start"] == ev["date_end"]
            else f"{ev['date_start']}..{ev['date_end']}"
        )
        lines.append(("event date:", f"{when} ({ev['text']!r})"))
    if row.get("entities"):
        names = dict.fromkeys(f"{e['canonical']} ({e['label']})" for e in row["entities"])
        lines.append(("entities:", ", ".join(names)))
    if row.get("numbers"):
        nums = [
            f"{n['value']:g}{' ' + n['unit'] if n.get('unit') else ''} ({n['text']!r})"
            for n in row["numbers"]
        ]
        lines.append(("numbers:", ", ".join(nums)))
    if row.get("checkworthy") is not None:
        lines.append(("check-worthiness:", f"{row['checkworthy']:.2f}"))
    return lines


@app.command()
@guarded
def facets(
    query: Annotated[str, typer.Argument(help="Query, as for `claims search`.")],
    by: Annotated[
        str,
        typer.Option(
            "--by",
            help="Facets, comma-separated: speaker place weapon person org nationality mode source month.",
        ),
    ] = "speaker,place,weapon,source,month",
    index: IndexOpt = DEFAULT_INDEX,
    mode: Annotated[Mode, typer.Option("--mode", "-m", help="Which legs define the matches.")] = "keyword",
    top: Annotated[int, typer.Option("--top", min=1, help="Values shown per facet.")] = 20,
    since: SinceOpt = None,
    until: UntilOpt = None,
    source: SourceOpt = None,
    where: WhereOpt = None,
    speaker: SpeakerOpt = None,
    claim_mode: ClaimModeOpt = None,
    entity: EntityOpt = None,
    place: PlaceOpt = None,
    weapon: WeaponOpt = None,
    checkworthy: CheckworthyOpt = None,
    number: NumberOpt = None,
    literal: LiteralOpt = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
    model: ModelOpt = None,
    ray: RaySearchOpt = None,
) -> None:
    """Counts of speakers, places, weapons, sources and months over ALL the passages a query matches."""
    from search.facets import facets as run_facets
    from search.facets import parse_by

    names = parse_by(by)
    opts = _options(**_pick(locals()), limit=0)
    with _searcher(index, model, ray) as s:
        result = run_facets(s, query, opts, names, top=top)
    if as_json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        from rich.table import Table

        out.print(f"{result.matches} matching passages", highlight=False)
        for name, rows in result.counts.items():
            table = Table(title=name, title_justify="left", show_header=False, box=None)
            table.add_column("value")
            table.add_column("passages", justify="right")
            for value, n in rows:
                table.add_row(escape(str(value)), str(n))
            if result.more.get(name):
                table.add_row(f"[dim](+{result.more[name]} more)[/]", "")
            out.print(table)
    raise typer.Exit(0 if result.matches else 1)


@app.command()
@guarded
def stats(index: IndexOpt = DEFAULT_INDEX, as_json: JsonOpt = False) -> None:
    """Articles, passages, dropped boilerplate, sources, dates, model, format and bytes on disk."""
    from index.shards import is_sharded
    from search.admin import index_stats
    from search.shard_admin import sharded_stats

    st = sharded_stats(index) if is_sharded(index) else index_stats(index)
    if as_json:
        print(json.dumps(st, ensure_ascii=False))
        return
    table = Table(show_header=False, box=None)
    for key in (
        "articles",
        "passages",
        "dropped",
        "date_range",
        "model",
        "dimension",
        "format_version",
        "tool_version",
        "generation",
        "vectors_kind",
    ):
        value = st[key]
        table.add_row(key, ", ".join(str(v) for v in value) if isinstance(value, list) else str(value))
    table.add_row("dropped by reason", ", ".join(f"{k}: {v}" for k, v in st["dropped_by_reason"].items()))
    top = list(st["sources"].items())[:10]
    more = len(st["sources"]) - len(top)
    table.add_row(
        "sources", ", ".join(f"{k or '(none)'}: {v}" for k, v in top) + (f" (+{more} more)" if more else "")
    )
    table.add_row("fields", ", ".join(st["fields"]))
    table.add_row("metadata fields", ", ".join(st["metadata_fields"]) or "(none)")
    table.add_row("bytes", ", ".join(f"{k}: {v:,}" for k, v in st["bytes"].items()))
    for sh in st.get("shards", []):
        table.add_row(
            f"shard {sh['number']}", f"{sh['path']}: {sh['articles']} articles, {sh['passages']} passages"
        )
    out.print(table)


@app.command()
@guarded
def delete(
    article_ids: Annotated[list[str], typer.Argument(help="Article ids to remove.")],
    index: IndexOpt = DEFAULT_INDEX,
    no_wait: Annotated[bool, typer.Option("--no-wait")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Remove articles and their passages from every store (one atomic batch)."""
    from index.ingest import delete as run_delete
    from index.shard_ingest import delete_sharded
    from index.shards import is_sharded

    run = delete_sharded if is_sharded(index) else run_delete
    n, missing = run(index, article_ids, wait=not no_wait)
    for m in missing:
        err.print(f"[yellow]not found:[/] {escape(m)}", highlight=False)
    if not quiet:
        err.print(f"deleted {n} article{'s' if n != 1 else ''}", highlight=False)
    raise typer.Exit(0 if n else 1)


@app.command()
@guarded
def reindex(
    index: IndexOpt = DEFAULT_INDEX,
    model: ModelOpt = None,
    embed_field: EmbedFieldOpt = None,
    quiet: QuietOpt = False,
    no_extract: NoExtractOpt = False,
) -> None:
    """Rebuild the Whoosh and FAISS stores from the catalog alone (optionally with another --model), and
    extract every passage's claim features again."""
    from index.ingest import reindex as run_reindex
    from index.shard_ingest import reindex_sharded
    from index.shards import is_sharded

    if is_sharded(index):
        run_reindex = reindex_sharded
    with _progress(quiet) as progress:
        r = run_reindex(
            index, model=model, progress=progress, embed_fields=embed_field or (), extract=not no_extract
        )
    if not quiet:
        err.print(f"reindexed {r['passages']} passages ({r['embedded']} embedded) in {r['seconds']:.1f}s")


@app.command()
@guarded
def check(index: IndexOpt = DEFAULT_INDEX, as_json: JsonOpt = False) -> None:
    """Verify that catalog, Whoosh and FAISS hold the same passages, the manifest's checksums match and the
    embedding cache has a sound vector for every passage."""
    from index.shards import is_sharded
    from search.admin import check_index
    from search.shard_admin import sharded_check

    report = sharded_check(index) if is_sharded(index) else check_index(index)
    if as_json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        for line in report["problems"]:
            err.print(f"[red]problem:[/] {escape(line)}", highlight=False)
        for line in report["notes"]:
            err.print(f"[yellow]note:[/] {escape(line)}", highlight=False)
        if report["ok"]:
            shards = f" ({report['shards']} shards)" if "shards" in report else ""
            err.print(
                f"[green]ok[/]: {report['passages']} passages in catalog, Whoosh and FAISS{shards}",
                highlight=False,
            )
    raise typer.Exit(0 if report["ok"] else 2)


@app.command()
@guarded
def repair(index: IndexOpt = DEFAULT_INDEX, quiet: QuietOpt = False) -> None:
    """Rebuild the derived stores (Whoosh, FAISS, manifest) from the catalog."""
    from index.repair import repair as run_repair
    from index.shard_ingest import repair_sharded
    from index.shards import is_sharded

    r = repair_sharded(index) if is_sharded(index) else run_repair(index)
    if not quiet:
        err.print(f"repaired: {r['passages']} passages re-indexed from the catalog ({r['seconds']:.1f}s)")


@app.command()
@guarded
def serve(
    index: IndexOpt = DEFAULT_INDEX,
    host: Annotated[
        str, typer.Option("--host", help="Address to bind; not loopback needs --token.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")] = 8750,
    token: Annotated[
        str | None,
        typer.Option(
            "--token", envvar="CLAIMS_TOKEN", help="Require this token on every request (env CLAIMS_TOKEN)."
        ),
    ] = None,
    allow_ingest: Annotated[
        bool, typer.Option("--allow-ingest", help="Enable POST /api/ingest (off: read-only).")
    ] = False,
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=0.1, help="Seconds a query may take (503 past it).")
    ] = 10.0,
    model: ModelOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Serve the index over HTTP: search pages and a JSON API (read-only by default)."""
    from index.shards import is_sharded
    from search.serve import check_bind
    from search.serve.state import generation_of

    check_bind(host, token)
    generation_of(index)  # a missing or damaged index (or shard) fails here, in one line
    import uvicorn

    from search.serve import create_app

    ingest = None
    if allow_ingest:
        if is_sharded(index):
            from index.shard_ingest import ingest_sharded as ingest
        else:
            from index.ingest import ingest

    web = create_app(index, model=model, token=token, ingest=ingest, time_limit=time_limit)
    if not quiet:
        err.print(
            f"serving {index} on http://{host}:{port}/ (API docs: /docs; Ctrl-C stops)", highlight=False
        )
    uvicorn.run(web, host=host, port=port, log_level="warning" if quiet else "info", access_log=not quiet)


shard_app = typer.Typer(help="Sharded indexes: `claims shard add DIR --index SHARDED`.", no_args_is_help=True)
app.add_typer(shard_app, name="shard")


@shard_app.command("add")
@guarded
def shard_add(
    shard_dir: Annotated[Path, typer.Argument(help="An ordinary index folder to add as a shard.")],
    index: IndexOpt = DEFAULT_INDEX,
    quiet: QuietOpt = False,
) -> None:
    """Add an existing index as a shard of --index (made a sharded index when new); it keeps its
    articles and passage ids, and takes no new articles by hash."""
    from index.shards import add_shard

    sh = add_shard(index, shard_dir)
    if not quiet:
        err.print(f"added {shard_dir} as shard {sh.number} of {index}", highlight=False)


@app.command(name="eval")
@guarded
def evaluate(
    queries: Annotated[Path, typer.Option("--queries", help="qid<TAB>text file.")],
    qrels: Annotated[Path, typer.Option("--qrels", help="TREC qrels (qid 0 docid rel).")],
    index: IndexOpt = DEFAULT_INDEX,
    mode: Annotated[
        list[Mode] | None, typer.Option("--mode", "-m", help="Modes to compare (default: all three).")
    ] = None,
    group_by: GroupOpt = "article",
    depth: DepthOpt = D.depth,
    fusion: FusionOpt = D.fusion,
    rrf_k: RrfKOpt = D.rrf_k,
    weights: WeightsOpt = so.format_weights(D.weights),
    norm: NormOpt = D.norm,
    min_similarity: MinSimOpt = D.min_similarity,
    sweep: Annotated[bool, typer.Option("--sweep", help="Also sweep fusion methods and parameters.")] = False,
    operator: OperatorOpt = D.operator,
    clean: CleanOpt = True,
    around: AroundOpt = D.around,
    around_days: AroundDaysOpt = D.around_days,
    around_weight: AroundWeightOpt = D.around_weight,
    as_json: JsonOpt = False,
    model: ModelOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """MAP@1/@5, MRR, nDCG@10, Recall@100 of keyword vs semantic vs hybrid on a query set with qrels."""
    from search.evaluate import format_table
    from search.experiment import run_eval

    modes = [str(m.value) for m in (mode or list(Mode))]
    params = _pick(locals())
    params.pop("mode", None)
    opts = _options(limit=100, **params)
    table = run_eval(index, queries, qrels, modes, opts, sweep=sweep, model=model)
    if as_json:
        print(json.dumps(table, ensure_ascii=False))
    else:
        print(format_table(table))


@app.command()
@guarded
def tune(
    queries: Annotated[
        Path | None, typer.Option("--queries", help="Judged queries: qid<TAB>text[<TAB>YYYY-MM-DD].")
    ] = None,
    qrels: Annotated[
        Path | None, typer.Option("--qrels", help="Judgments: TREC qrels (qid 0 docid rel).")
    ] = None,
    index: IndexOpt = DEFAULT_INDEX,
    holdout: Annotated[
        float, typer.Option("--holdout", help="Fraction of the judged queries held out to decide adoption.")
    ] = 0.2,
    epochs: Annotated[int, typer.Option("--epochs", help="Fine-tuning epochs over the train pairs.")] = 1,
    seed: Annotated[
        int, typer.Option("--seed", help="Seeds the split, negatives, fine-tuning, ranker.")
    ] = 13,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Pairs per fine-tuning step.")] = 32,
    max_steps: Annotated[
        int, typer.Option("--max-steps", help="Stop fine-tuning after N steps (-1: none).")
    ] = -1,
    learning_rate: Annotated[
        float, typer.Option("--learning-rate", help="Fine-tuning peak learning rate (AdamW).")
    ] = 2e-5,
    significance: Annotated[
        float,
        typer.Option(
            "--significance",
            help="Adopt only a holdout win whose paired randomisation p-value (AP@5 per query) is below this.",
        ),
    ] = 0.05,
    no_model: Annotated[bool, typer.Option("--no-model", help="Learn the fusion only.")] = False,
    no_ranker: Annotated[bool, typer.Option("--no-ranker", help="Fine-tune the model only.")] = False,
    revert: Annotated[
        bool,
        typer.Option("--revert", help="Back to the untuned model and the fixed fusion (nothing embedded)."),
    ] = False,
    depth: DepthOpt = D.depth,
    around: Annotated[
        str | None, typer.Option("--around", help="Date leg for the judged queries: auto, YYYY-MM-DD or off.")
    ] = "auto",
    clean: CleanOpt = True,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Learn from judgments: fine-tune the embedding model and a learned ranker on train queries, adopt
    them only when they beat the current ranking on held-out queries (MAP@5, significant at --significance)."""
    from index.manifest import read_manifest
    from index.shards import is_sharded

    say = (lambda m: None) if quiet else (lambda m: err.print(escape(m), highlight=False))
    if is_sharded(index):
        _fail(f"{index} is a sharded index: claims tune works on one unsharded index, not on shards")
    if revert:
        if queries or qrels:
            _fail("--revert takes no --queries/--qrels: run it alone")
        from index.tuned import revert as run_revert

        read_manifest(index)
        r = run_revert(index, progress=say)
        say(
            f"reverted to {r['model']} and the fixed fusion ({r['embedded']} texts embedded, {r['seconds']}s)"
        )
        return
    if queries is None or qrels is None:
        _fail("give --queries FILE and --qrels FILE (or --revert)")
    from search.tune import TuneOptions, check_options

    t = TuneOptions(
        holdout, epochs, seed, not no_model, not no_ranker, batch_size, max_steps, learning_rate, significance
    )
    check_options(t)
    opts = _options(limit=100, depth=depth, around=around, clean=clean, group_by=None)
    for path in (queries, qrels):
        if not path.is_file():
            _fail(
                f"{path}: no such file; give the path of the {'queries' if path == queries else 'qrels'} file"
            )
    read_manifest(index)  # a missing index fails here, before any model loads
    import index.tuned as store
    from search.tune import tune as run_tune

    command = " ".join(["claims", *sys.argv[1:]])
    r = run_tune(index, queries, qrels, t, opts, store, command=command, progress=say)
    if as_json:
        import dataclasses

        print(json.dumps(dataclasses.asdict(r), ensure_ascii=False))
        return
    from search.evaluate import format_table

    print(f"holdout ({r.holdout_queries} queries; trained on {r.train_queries}):")
    print(format_table({k: {**v, "p": r.p_values[k]} if k in r.p_values else v for k, v in r.scores.items()}))
    if r.p_values:
        print(f"p: one-sided paired randomisation test of per-query AP@5 against the ranking before; "
              f"adopted only when p < {t.significance}")  # fmt: skip
    print(f"model: {'adopted ' + r.adopted_model if r.adopted_model else 'unchanged'}; "
          f"ranker: {'adopted ' + r.adopted_ranker if r.adopted_ranker else 'unchanged'}")  # fmt: skip
    sec = r.seconds
    steps = ", ".join(
        f"{k} {sec[k]:.1f}s" for k in ("legs", "train", "reembed", "evaluate", "ranker", "total") if k in sec
    )
    print(
        f"time: {steps}; {r.embedded} texts embedded for {sec.get('reembed_texts', 0)} vectors (the rest cached)"
    )
    for note in r.notes:
        print(note)


def main() -> None:
    """The ``claims`` console script: ``app`` with click's usage errors (a bad option value, an unknown
    option, a missing argument) as one line naming the command's ``--help``, exit 2, instead of a
    boxed panel."""
    try:
        from typer._click import exceptions as cx  # typer 0.2x carries its own click
    except ImportError:  # pragma: no cover (an older typer on plain click)
        from click import exceptions as cx

    try:
        code = app(standalone_mode=False, prog_name="claims")
    except cx.NoArgsIsHelpError as e:  # `claims` or a group alone: its help, as before
        err.print(escape(e.ctx.get_help() if e.ctx else str(e)), highlight=False)
        sys.exit(2)
    except cx.UsageError as e:
        where = e.ctx.command_path if e.ctx else "claims"
        err.print(escape(f"error: {e.format_message()} (see `{where} --help`)"), highlight=False)
        sys.exit(2)
    except typer.Abort:
        err.print("aborted")
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
