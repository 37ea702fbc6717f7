"""The one search contract: the options record, its defaults, the choice lists and their validation.

Every caller builds its searches from here: ``claims search``/``similar``/``export``/``eval``, batch runs
(``search.batch``) and Python callers (``Searcher.search``/``similar``). ``cli.py`` only maps flags onto
``SearchOptions`` and renders, so a default or a choice list is written once, in this module.

Defaults (chosen on CheckThat! **train**, never on dev or test; README "Hybrid ranking")::

    setting                      value      chosen by (``claims eval --sweep`` on train)
    fusion, norm                 convex, zscore   best of the sweep on 2A train (0.8907 MAP@5), and on 2B train
    weights keyword,semantic     0.4,0.6    same sweep (convex z-score 0.2..0.7)
    similar weights              0.3,0.7    ``claims similar`` leans on the semantic leg (a pasted claim, not keywords)
    around days, weight          10, 0.3    date sweep 5-90 days x 0.2-0.5 on 2A + 2B train (0.9424 + 0.6276)
    min_similarity               0.25       2A train flat up to 0.35; 0.3 fell on dev (MIN_SIMILARITY)

Errors: ``validate`` raises ``OptionError`` (a ``ClaimsError``: one line naming the valid range, exit 2)
before anything heavy is loaded.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from index.errors import ClaimsError, option
from search.fusion import AROUND_DAYS, AROUND_WEIGHT, FUSION_METHODS, NORMALIZATIONS

if TYPE_CHECKING:  # search.query imports Whoosh: the CLI reads this module's choices at start-up
    from search.query import Filters

# -- choice lists (the CLI derives its enums from these) ------------------------------------------
MODES = ("hybrid", "keyword", "semantic")
FUSIONS = FUSION_METHODS  # ("rrf", "convex")
NORMS = NORMALIZATIONS  # ("minmax", "zscore")
OPERATORS = ("auto", "or")
GROUP_BY = ("passage", "article")
RUN_FORMATS = ("jsonl", "trec")
LEGS = ("keyword", "semantic", "date")

# -- defaults -------------------------------------------------------------------------------------
DEFAULT_DEPTH = 100
DEFAULT_FUSION = "convex"
DEFAULT_NORM = "zscore"
DEFAULT_RRF_K = 60.0
DEFAULT_WEIGHTS = (0.4, 0.6)  # (keyword, semantic)
SIMILAR_WEIGHTS = (0.3, 0.7)
CLUSTER_THRESHOLD = 0.95
# A semantic candidate counts as a hit only at or above this cosine (MiniLM, normalised vectors).
# Chosen on CheckThat! 2A **train** (`claims eval --around auto --sweep`, rows "min-sim X"; README
# "Minimum similarity"): hybrid + date MAP@5 by minimum cosine
#     train  none 0.9424 | 0.1-0.3 0.9424 | 0.35 0.9426 | 0.4 0.9381 | 0.45 0.9308 | 0.5 0.9153
#     dev    none 0.9428 | 0.1-0.25 0.9428 | 0.3 0.9380 | 0.35 0.9332 | 0.4 0.9304
# Train is flat up to 0.35; 0.3 (first pick) cost 0.005 on dev, so the default is 0.25, the largest
# value at which neither split falls (dev informed this margin; 2B was not measured for it).
MIN_SIMILARITY = 0.25
GROUP_OVERFETCH = 5  # clustering / grouping by article fetch this many passages per row shown


CLAIM_MODES = ("quote", "reported", "assertion")  # --claim-mode: index.intel.records.MODES


class OptionError(ClaimsError):
    """A search option out of its range or not among its choices (the message names the valid ones)."""


@dataclass
class SearchOptions:
    """Options shared by every search command and caller.

    Attributes:
        mode: One of ``MODES``.
        limit: Rows on the page (0: every hit; export and ``iter_ranked`` only).
        offset: Rows skipped (paging): page N is a slice of one ranking (see ``leg_depth``).
        filters: ``--since --until --source --where``, applied inside every leg.
        literal: No query syntax: every character is plain text (batch runs default to it).
        depth: Candidates fetched from each leg before fusion.
        fusion, rrf_k, weights, norm: Fusion method and parameters (``fusion_params``).
        threshold: ``--threshold``: minimum cosine for *every* row (keyword-only rows are checked too).
        min_similarity: Minimum cosine for a semantic candidate to count as a hit (None: no minimum).
        cluster, cluster_threshold: Collapse near-duplicate claims (``search.clusters``).
        group_by: None (passages) or ``"article"``: rank articles by their best passage.
        explain: Fill ``SearchResult.explain``.
        operator: Keyword leg: ``"auto"`` (AND when it fills the depth, else OR) or ``"or"``.
        clean: Strip links, handles and tweet signatures from claim text (``clean_claim_text``).
        around: The date leg: None/``"off"``, ``"auto"`` (the claim's own date) or ``YYYY-MM-DD``.
        around_days, around_weight: The date leg's half-weight distance (days) and fusion weight.
    """

    mode: str = "hybrid"
    limit: int = 10
    offset: int = 0
    filters: Filters = field(default_factory=lambda: _filters())
    literal: bool = False
    depth: int = DEFAULT_DEPTH
    fusion: str = DEFAULT_FUSION
    rrf_k: float = DEFAULT_RRF_K
    weights: tuple[float, float] = DEFAULT_WEIGHTS
    norm: str = DEFAULT_NORM
    threshold: float | None = None
    min_similarity: float | None = MIN_SIMILARITY
    cluster: bool = False
    cluster_threshold: float = CLUSTER_THRESHOLD
    group_by: str | None = None
    explain: bool = False
    operator: str = "auto"
    clean: bool = False
    around: str | None = None
    around_days: float = AROUND_DAYS
    around_weight: float = AROUND_WEIGHT


def _filters() -> Filters:
    from search.query import Filters

    return Filters()


# How ``claims similar`` and ``Searcher.similar`` differ from the search defaults: hybrid leaning on the
# semantic leg, claim cleaning, clusters, and the date leg at the claim's own date.
SIMILAR = {"weights": SIMILAR_WEIGHTS, "cluster": True, "clean": True, "around": "auto"}


def similar_options(**changes: Any) -> SearchOptions:
    """The defaults of ``claims similar`` and ``Searcher.similar`` (``SIMILAR``), with ``changes``."""
    return SearchOptions(**(SIMILAR | changes))


def defaults(**changes: Any) -> dict[str, Any]:
    """The scalar defaults of ``SearchOptions`` (all but ``filters``) with ``changes``, built without
    importing Whoosh (``SearchOptions()`` builds a ``Filters``): the CLI's option defaults."""
    return {f.name: f.default for f in dataclasses.fields(SearchOptions) if f.name != "filters"} | changes


def parse_weights(text: str) -> tuple[float, float]:
    """``"KEYWORD,SEMANTIC"`` -> two floats, validated as ``validate`` does.

    Raises:
        OptionError: Not two numbers, or out of range.
    """
    try:
        a, b = (float(x) for x in text.split(","))
    except ValueError:
        raise OptionError(
            f"{option('weights', repr(text))}: expected two numbers KEYWORD,SEMANTIC such as 0.4,0.6"
        ) from None
    _check_weights((a, b))
    return a, b


def format_weights(weights: tuple[float, float]) -> str:
    return ",".join(f"{w:g}" for w in weights)


def _check_weights(weights) -> None:
    w = tuple(weights)
    if len(w) != 2 or not all(isinstance(x, int | float) and math.isfinite(x) and x >= 0 for x in w):
        raise OptionError(
            f"{option('weights', format_weights(w) if len(w) == 2 else w)}: each weight must be a finite "
            "number >= 0 (e.g. 0.4,0.6)"
        )
    if sum(w) == 0:
        raise OptionError(f"{option('weights', '0,0')}: at least one weight must be > 0 (e.g. 0.4,0.6)")


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    """``name``: the option's key (``mode``, ``group_by``), rendered per caller (``index.errors.option``)."""
    if value not in choices:
        raise OptionError(f"{option(name, repr(value))}: choose one of {', '.join(choices)}")


def _range(name: str, value: float | None, lo: float | None, hi: float | None, lo_open=False) -> None:
    if value is None:
        return
    ok = isinstance(value, int | float) and math.isfinite(value)
    ok = ok and (lo is None or (value > lo if lo_open else value >= lo)) and (hi is None or value <= hi)
    if not ok:
        lo_s = "" if lo is None else (f"> {lo:g}" if lo_open else f">= {lo:g}")
        hi_s = "" if hi is None else f"<= {hi:g}"
        raise OptionError(f"{option(name, value)}: use a number {' and '.join(s for s in (lo_s, hi_s) if s)}")


def validate(opts: SearchOptions, *, paging: bool = True) -> SearchOptions:
    """Check every option (cheap: no index, no model); returns ``opts``.

    ``paging``: refuse a page that the depth cannot cover (``offset + limit > leg_depth``), so pages
    never overlap: page N is always a slice of the same ranking (issue 11, item 6).

    Raises:
        OptionError: The first bad option, in one line naming its valid range or choices.
        QuerySyntaxError: A bad ``--since``/``--until``/``--around`` date or ``--where`` item.
    """
    _choice("mode", opts.mode, MODES)
    _choice("fusion", opts.fusion, FUSIONS)
    _choice("norm", opts.norm, NORMS)
    _choice("operator", opts.operator, OPERATORS)
    if opts.group_by is not None:
        _choice("group_by", opts.group_by, GROUP_BY)
    _check_weights(opts.weights)
    _range("limit", opts.limit, 0, None)
    _range("offset", opts.offset, 0, None)
    _range("depth", opts.depth, 1, None)
    _range("rrf_k", opts.rrf_k, 0, None)
    _range("threshold", opts.threshold, -1, 1)
    _range("min_similarity", opts.min_similarity, -1, 1)
    _range("cluster_threshold", opts.cluster_threshold, 0, 1)
    _range("around_days", opts.around_days, 0, None, lo_open=True)
    _range("around_weight", opts.around_weight, 0, None)
    if opts.threshold is not None and opts.mode == "keyword":
        raise OptionError(
            f"{option('threshold')} is a minimum cosine and needs the semantic leg: use "
            f"{option('mode', 'hybrid')} or semantic"
        )
    opts.filters.dates()  # QuerySyntaxError on a bad --since/--until
    if opts.filters.claim_mode is not None:
        _choice("claim_mode", opts.filters.claim_mode, CLAIM_MODES)
    _range("checkworthy", opts.filters.checkworthy, 0, 1)
    if opts.around not in (None, "off", "auto"):
        from search.query import resolve_around

        resolve_around(opts.around)  # QuerySyntaxError on a bad date
    if paging and opts.limit and opts.offset:
        depth = leg_depth(opts)
        if opts.offset + opts.limit > depth:
            raise OptionError(
                f"{option('offset', opts.offset)} + {option('limit', opts.limit)} go past "
                f"{option('depth', depth)}: pages are slices of one ranking of {depth} candidates per leg; "
                f"raise {option('depth')} to at least {opts.offset + opts.limit}"
            )
    return opts


def leg_depth(opts: SearchOptions) -> int:
    """How many candidates each leg fetches for a page of ``opts`` (``limit > 0``).

    ``max(depth, limit)``, times ``GROUP_OVERFETCH`` for clusters or article grouping. It never depends
    on ``offset``: every page of the same query is cut from the same ranking (``validate`` refuses a page
    past it).
    """
    per_row = GROUP_OVERFETCH if opts.cluster or opts.group_by == "article" else 1
    return max(opts.depth, opts.limit * per_row)


def semantic_floor(opts: SearchOptions) -> float | None:
    """The cosine a semantic candidate needs: the larger of ``min_similarity`` and ``threshold``."""
    floors = [x for x in (opts.min_similarity, opts.threshold) if x is not None]
    return max(floors) if floors else None


def fusion_params(
    opts: SearchOptions, legs: list[str] | tuple[str, ...] = ("keyword", "semantic")
) -> dict[str, Any]:
    """``search.fusion.fuse`` keyword arguments for the legs ``legs``, in that order.

    ``weights`` for keyword and semantic (1.0 each when one text leg is fused with the date leg only),
    ``around_weight`` for the date leg; ``k`` for RRF, ``norm`` for convex.
    """
    by_leg = {"keyword": opts.weights[0], "semantic": opts.weights[1], "date": opts.around_weight}
    if "date" in legs and len(legs) == 2:  # one text leg + the date leg
        by_leg["keyword"] = by_leg["semantic"] = 1.0
    weights = [by_leg[leg] for leg in legs]
    if opts.fusion == "rrf":
        return {"k": opts.rrf_k, "weights": weights}
    return {"weights": weights, "norm": opts.norm}


def described(opts: SearchOptions, legs: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """The fusion actually used, JSON-ready: method and parameters, and the date leg's own parameters."""
    out: dict[str, Any] = {"method": opts.fusion if len(legs) >= 2 else "single leg", "legs": list(legs)}
    if len(legs) >= 2:
        out["params"] = fusion_params(opts, legs)
    if "date" in legs:
        out["date_leg"] = {"around": opts.around, "days": opts.around_days, "weight": opts.around_weight}
    return out


def to_json(opts: SearchOptions) -> dict[str, Any]:
    """Every option, JSON-ready (export manifests)."""
    d = dataclasses.asdict(opts)
    d["weights"] = list(opts.weights)
    d["filters"]["where"] = [list(kv) for kv in opts.filters.where]
    return d


# -- the one run writer: batch runs, export (TREC), eval ---------------------------------------------
def score_text(score: float) -> str:
    """The one number format of runs: ``repr`` of the float, which reads back exactly."""
    return repr(float(score))


def trec_line(qid: str, doc: Any, rank: int, score: float, tag: str) -> str:
    """``qid Q0 docid rank score tag`` and a newline.

    Raises:
        OptionError: A qid, doc id or tag that is empty or holds whitespace (the format splits on it).
    """
    fields = (str(qid), str(doc), str(tag))
    if any(f.split() != [f] for f in fields):
        raise OptionError(f"TREC qid, doc id and tag must be non-empty words without spaces: {fields}")
    return f"{qid} Q0 {doc} {rank} {score_text(score)} {tag}\n"


class RunWriter:
    """Writes one ranked list per query as a TREC run or JSON Lines (``RUN_FORMATS``) to ``fh``.

    TREC: ``qid Q0 docid rank score tag`` (``trec_line``); JSON Lines: ``{"qid": ..., **row}`` a line.
    """

    def __init__(self, fh: TextIO, fmt: str = "trec", tag: str = "claims"):
        _choice("format", fmt, RUN_FORMATS)
        self.fh, self.fmt, self.tag = fh, fmt, tag
        self.rows = 0

    def write(self, qid: str, rows: Iterable[dict[str, Any]], key: str = "passage_id") -> int:
        """Write ``rows`` (dicts with ``rank``, ``score`` and ``key``) for ``qid``; returns how many."""
        n = 0
        for row in rows:
            if self.fmt == "trec":
                self.fh.write(trec_line(qid, row[key], row["rank"], row["score"], self.tag))
            else:
                self.fh.write(json.dumps({"qid": qid, **row}, ensure_ascii=False) + "\n")
            n += 1
        self.rows += n
        return n


__all__ = [
    "MODES",
    "FUSIONS",
    "NORMS",
    "OPERATORS",
    "GROUP_BY",
    "RUN_FORMATS",
    "OptionError",
    "SearchOptions",
    "similar_options",
    "parse_weights",
    "validate",
    "leg_depth",
    "fusion_params",
]
