"""Query parameters -> ``search.options.SearchOptions``, validated by ``search.options.validate``.

The API and the pages take the CLI's option names (``k`` is ``--limit``; ``source`` and ``where``
repeat), so a URL and a command line say the same thing; every value goes through the one contract
(``search.options``), so the CLI and the API cannot drift. A parameter left out takes the command's
default (``claims search`` for searches, ``claims similar`` for similar claims).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import Request

from search import options as so

MAX_K = 1000  # rows per page (a bound on one request's work; exports stream instead)

# name -> type of the scalar options a URL may set (besides q, k, source, where)
SCALARS: dict[str, type] = {
    "mode": str,
    "offset": int,
    "literal": bool,
    "explain": bool,
    "depth": int,
    "fusion": str,
    "rrf_k": float,
    "norm": str,
    "min_similarity": float,
    "threshold": float,
    "cluster": bool,
    "cluster_threshold": float,
    "group_by": str,
    "operator": str,
    "clean": bool,
    "around": str,
    "around_days": float,
    "around_weight": float,
}
FILTERS = ("since", "until", "source", "where")


def build(values: dict[str, Any], similar: bool = False, limit_key: str = "k") -> so.SearchOptions:
    """``SearchOptions`` from parsed parameters (None, "" or absent: the default), validated.

    Args:
        values: Parameter values; ``k`` (or ``limit_key``) is the page size, ``weights`` is
            ``"KEYWORD,SEMANTIC"``, ``source``/``where`` are lists, ``group_by`` ``passage|article``.
        similar: ``claims similar``'s defaults (``search.options.SIMILAR``) instead of ``claims search``'s.

    Raises:
        OptionError, QuerySyntaxError: As ``claims search`` would (one line naming the fix).
    """
    from search.query import Filters

    values = {k: (None if v == "" else v) for k, v in values.items()}  # an empty form field: the default
    base = so.similar_options() if similar else so.SearchOptions()
    changes: dict[str, Any] = {}
    for name in SCALARS:
        if values.get(name) is not None:
            changes[name] = values[name]
    if values.get(limit_key) is not None:
        changes["limit"] = values[limit_key]
    if values.get("weights") is not None:
        changes["weights"] = so.parse_weights(values["weights"])
    if changes.get("group_by") == "passage":
        changes["group_by"] = None
    if changes.get("around") == "off":
        changes["around"] = None
    filters = Filters(
        since=values.get("since") or None,
        until=values.get("until") or None,
        sources=[s for s in values.get("source") or [] if s],
        where=Filters.parse_where([w for w in values.get("where") or [] if w]),
    )
    return so.validate(dataclasses.replace(base, filters=filters, **changes))


def reject_unknown(request: Request) -> None:
    """A router dependency: a query parameter the matched endpoint does not take is an error (400), not
    silently ignored (a misspelt ``min-similarity`` or a CLI-only filter such as ``speaker`` would
    otherwise return unfiltered hits).

    Raises:
        OptionError: Names the unknown parameters, the endpoint's own, and that claim filters go in ``q``.
    """
    route = request.scope.get("route")
    if route is None or not request.query_params:
        return
    known: set[str] = set()
    todo = [route.dependant]  # the endpoint's query parameters and its dependencies' (search_params)
    while todo:
        dependant = todo.pop()
        known.update(p.alias for p in dependant.query_params)
        todo.extend(dependant.dependencies)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise so.OptionError(
            f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}: {request.url.path} takes "
            f"{', '.join(sorted(known)) or 'none'}; claim filters go in the query, e.g. "
            "q=Kinzhal speaker:Pentagon weapon:Patriot checkworthy:>0.7"
        )
