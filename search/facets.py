"""Facets: counts of speakers, places, weapons, sources, months... over ALL the passages a query
matches (not just a page), for ``claims facets`` and the HTTP API.

The matches are the full ranking of :meth:`search.searcher.Searcher.iter_ranked` with ``limit=0``
(every hit of the legs ``opts.mode`` runs, inside every filter); the counts are catalog group-bys
over those passage ids (``CatalogReader.facet_counts``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

from index.errors import option
from search.options import OptionError, SearchOptions

FACETS = ("speaker", "place", "weapon", "person", "org", "nationality", "mode", "source", "month")
DEFAULT_BY = ("speaker", "place", "weapon", "source", "month")
CLAIM_FACETS = ("speaker", "place", "weapon", "person", "org", "nationality", "mode")  # need claim features
FACET_MODE = "keyword"  # a match is a passage with the words; semantic neighbours have no natural end


@dataclass
class FacetResult:
    """``matches``: passages the query matched; ``counts``: per facet, ``(value, passages)`` most
    first (ties by value), at most ``top`` of them; ``more``: per facet, values left out."""

    matches: int
    counts: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    more: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "matches": self.matches,
            "facets": {k: [{"value": v, "count": n} for v, n in rows] for k, rows in self.counts.items()},
            "more": self.more,
        }


def parse_by(by: str | Sequence[str]) -> list[str]:
    """``"speaker,place"`` or a list -> facet names, checked against ``FACETS``.

    Raises:
        OptionError: an unknown facet (the message lists the valid ones).
    """
    names = [
        b.strip() for part in ([by] if isinstance(by, str) else by) for b in part.split(",") if b.strip()
    ]
    bad = [b for b in names if b not in FACETS]
    if bad or not names:
        raise OptionError(f"{option('by', ','.join(bad) or '(empty)')}: choose among {', '.join(FACETS)}")
    return list(dict.fromkeys(names))


def facets(
    searcher, text: str, opts: SearchOptions | None = None, by=DEFAULT_BY, top: int | None = 20
) -> FacetResult:
    """Facet counts over every passage ``text`` matches.

    Args:
        searcher: An open ``search.searcher.Searcher``.
        text: The query, as for ``claims search``.
        opts: Search options (mode, filters...); None: ``SearchOptions(mode=FACET_MODE)``. ``limit``,
            ``offset``, ``cluster`` and ``group_by`` are ignored (every match counts once).
        by: Facet names (``FACETS``) or one comma-separated string.
        top: Values kept per facet (None: all).
    Raises:
        OptionError: an unknown facet or a bad option; a claim facet (``CLAIM_FACETS``) on an index
            without claim features for every passage (names ``claims reindex``, like claim filters);
            the search's own errors (empty query...).
    """
    names = parse_by(by)
    claim = [n for n in names if n in CLAIM_FACETS]
    if claim:  # an index ingested with --no-extract would count nothing: refuse, as claim filters do
        from search.claim_clauses import require_features

        require_features(searcher, f"{option('by', ','.join(claim))}: ", "count facets")
    opts = opts if opts is not None else SearchOptions(mode=FACET_MODE)
    opts = dataclasses.replace(opts, limit=0, offset=0, cluster=False, group_by=None)
    pids = [pid for pid, _, _ in searcher.iter_ranked(text, opts)]
    out = FacetResult(matches=len(pids))
    for name in names:
        got = sorted(searcher.catalog.facet_counts(pids, name).items(), key=lambda kv: (-kv[1], kv[0]))
        kept = got if top is None else got[:top]
        out.counts[name] = kept
        out.more[name] = len(got) - len(kept)
    return out
