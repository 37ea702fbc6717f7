"""Near-duplicate claim clusters: collapse re-reported passages into one hit with provenance.

The same claim is often carried by many outlets, word for word (wire copy) or nearly so. Given a
ranked list of hits, :func:`cluster_hits` groups them greedily in rank order: a hit joins the
earliest cluster whose representative (its best-ranked member) has the same normalised text
(:func:`normalize_text`) or, when embeddings are supplied for both, a cosine similarity at or above
a threshold. Each cluster is returned as its representative hit, with ``hit.cluster`` describing
the members (size, sources, first sighting).

The result is deterministic: it depends only on the order of the input hits, their fields and the
vectors, never on dict or set iteration order.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from search.hits import Hit

__all__ = ["cluster_hits", "describe_conflicts", "flag_conflicts", "name_key", "normalize_text"]

_QUOTES_AND_DASHES = str.maketrans(
    {
        # single quotes, primes and accents used as apostrophes
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u02bc": "'", "\u00b4": "'", "`": "'",
        # double quotes and guillemets
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u00ab": '"', "\u00bb": '"', "\u2039": '"', "\u203a": '"',
        # hyphens, dashes and minus signs
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
        "\u2015": "-", "\u2212": "-", "\ufe58": "-", "\ufe63": "-", "\uff0d": "-",
    }
)  # fmt: skip
# "U.S." -> "us", "1,000" -> "1000", "Russia's" -> "russias": joiners inside a token vanish.
_JOINERS = re.compile(r"\b[.,']\b")
# Every other punctuation or symbol character (and "_") separates words. ASCII text, the common
# case, goes through a translation table; the regex is only needed for non-ASCII characters.
_ASCII_SEPARATORS = str.maketrans({c: " " for c in string.punctuation})
_NON_WORD = re.compile(r"[^\w\s]|_")


def normalize_text(text: str) -> str:
    """Normalise a passage for exact-duplicate detection.

    Applies Unicode NFKC, case folding, maps typographic quotes and dashes to ASCII, drops
    periods, commas and apostrophes between two word characters (``U.S.`` and ``US`` both become
    ``us``), turns every other punctuation or symbol character into a space and collapses
    whitespace.

    Args:
        text: Any passage text.

    Returns:
        The normalised text; two passages that differ only in case, quote style, dash style,
        punctuation or spacing normalise to the same string.
    """
    ascii_only = text.isascii()
    t = text if ascii_only else unicodedata.normalize("NFKC", text)
    t = t.casefold()
    if not ascii_only:
        t = t.translate(_QUOTES_AND_DASHES)
    t = _JOINERS.sub("", t.replace("`", "'"))
    t = t.translate(_ASCII_SEPARATORS)
    if not t.isascii():
        t = _NON_WORD.sub(" ", t)
    return " ".join(t.split())


def _stack_vectors(
    hits: Sequence[Hit], vectors: Mapping[int, np.ndarray] | None
) -> tuple[np.ndarray, np.ndarray] | None:
    """The hits' embeddings as rows of a float32 matrix, L2-normalised, and a has-vector mask.

    Rows of hits without a vector (or with a zero or non-finite one) are zero and masked out.
    Rows that are already unit length are kept bit for bit. Returns None if no hit has a vector.
    """
    if not vectors:
        return None
    rows: dict[int, np.ndarray] = {}
    for i, hit in enumerate(hits):
        v = vectors.get(hit.passage_id)
        if v is not None:
            rows[i] = np.asarray(v, dtype=np.float32).reshape(-1)
    dims = sorted({v.shape[0] for v in rows.values()})
    if not dims:
        return None
    if len(dims) > 1:
        raise ValueError(f"vectors have different dimensions: {dims}")
    matrix = np.zeros((len(hits), dims[0]), dtype=np.float32)
    matrix[np.fromiter(rows, dtype=np.intp, count=len(rows))] = np.stack(list(rows.values()))
    with np.errstate(invalid="ignore", over="ignore"):
        norms = np.linalg.norm(matrix, axis=1)
    has = np.isfinite(norms) & (norms > 0)
    matrix[~has] = 0.0
    rescale = has & (np.abs(norms - 1.0) > 1e-6)
    matrix[rescale] /= norms[rescale, None]
    return matrix, has


def _member(hit: Hit) -> dict[str, Any]:
    """The provenance record of one cluster member."""
    return {
        "passage_id": hit.passage_id,
        "article_id": hit.article_id,
        "date": hit.date or None,
        "source": hit.source,
        "title": hit.title,
        "score": hit.score,
    }


def _member_order(member: dict[str, Any]) -> tuple[bool, str, int]:
    """Sort key: dated members first, oldest first, then by passage id."""
    date = member["date"]
    return (date is None, date or "", member["passage_id"])


def cluster_hits(
    hits: Sequence[Hit],
    vectors: Mapping[int, np.ndarray] | None = None,
    threshold: float = 0.95,
) -> list[Hit]:
    """Collapse near-duplicate hits into clusters, greedily in rank order.

    Each hit, taken best first, joins the earliest existing cluster whose representative (the
    cluster's first, i.e. best-ranked, member) either has the same :func:`normalize_text` (empty
    normalised text never matches) or, when both have a vector in ``vectors``, a cosine
    similarity ``>= threshold``. A hit that matches no cluster starts a new one. Each new hit is
    compared against all current representatives with one matrix-vector product.

    Args:
        hits: Ranked hits, best first. They are not modified.
        vectors: Optional embeddings keyed by ``passage_id`` (L2-normalised float32 expected;
            other vectors are normalised here, zero vectors are ignored). Hits without a vector
            cluster by text identity only.
        threshold: Cosine similarity at or above which two passages are near duplicates.

    Returns:
        One hit per cluster, in the order the clusters were started: a copy of the
        representative with its score kept, ``rank`` renumbered 1..n and ``cluster`` set to
        ``{"size", "sources", "first_seen", "first_seen_passage_id", "members"}``, where
        ``sources`` are the sorted unique non-empty member sources, ``first_seen`` the earliest
        non-null member date (or None) and ``first_seen_passage_id`` that member's passage id (or
        None), and ``members`` the member dicts (``passage_id``, ``article_id``, ``date``,
        ``source``, ``title``, ``score``) sorted by (date is None, date, passage_id).

    Raises:
        ValueError: If the supplied vectors do not all have the same dimension.
    """
    members: list[list[Hit]] = []  # per cluster, in join order; [0] is the representative
    by_text: dict[str, int] = {}  # representative's normalised text -> earliest cluster index
    stacked = _stack_vectors(hits, vectors)
    matrix, has_vector = stacked if stacked is not None else (np.empty((0, 0), np.float32), None)
    rep_matrix = np.empty_like(matrix)  # rows: unit vectors of the representatives that have one
    rep_cluster: list[int] = []  # their cluster indices, increasing
    n_reps = 0

    for i, hit in enumerate(hits):
        key = normalize_text(hit.text)
        target = by_text.get(key) if key else None

        with_vector = has_vector is not None and bool(has_vector[i])
        if with_vector and n_reps:
            # Cosines with every current representative at once (all rows are unit vectors).
            close = np.flatnonzero(rep_matrix[:n_reps] @ matrix[i] >= threshold)
            if close.size:
                cluster = rep_cluster[int(close[0])]  # rows are in cluster order: the earliest match
                target = cluster if target is None else min(target, cluster)

        if target is not None:
            members[target].append(hit)
            continue

        index = len(members)
        members.append([hit])
        if key:
            by_text[key] = index  # absent: otherwise the hit would have joined that cluster
        if with_vector:
            rep_matrix[n_reps] = matrix[i]
            rep_cluster.append(index)
            n_reps += 1

    out: list[Hit] = []
    for rank, group in enumerate(members, start=1):
        records = sorted((_member(h) for h in group), key=_member_order)
        first = records[0] if records[0]["date"] is not None else None
        info = {
            "size": len(group),
            "sources": sorted({h.source for h in group if h.source}),
            "first_seen": first["date"] if first else None,
            "first_seen_passage_id": first["passage_id"] if first else None,
            "members": records,
        }
        out.append(replace(group[0], rank=rank, cluster=info))
    return out


# -- conflicting details ------------------------------------------------------------------------------
_PLACE_LABELS = ("GPE", "LOC", "FAC", "base")  # index.intel.records.PLACE_LABELS
_TOLERANCE = 0.02  # relative: "1,000 km" and "621 miles" state the same distance


def _ranges_meet(a: list[tuple[float, float]], b: list[tuple[float, float]], tol: float) -> bool:
    """Whether some range of ``a`` meets some range of ``b`` (with a relative tolerance ``tol``)."""
    for lo1, hi1 in a:
        for lo2, hi2 in b:
            slack = tol * max(abs(lo1), abs(hi1), abs(lo2), abs(hi2))
            if lo1 <= hi2 + slack and lo2 <= hi1 + slack:
                return True
    return False


def _member_details(features: Mapping[str, Any]) -> dict[str, tuple[list, list]]:
    """``{field: (comparable values, shown values)}`` of one passage's stored claim features: numbers by
    number field (``search.claim_clauses.number_field``), the event date, the speaker, the places."""
    from search.claim_clauses import number_field

    out: dict[str, tuple[list, list]] = {}
    for n in features.get("numbers") or []:
        name, factor, exact = number_field(n.get("kind") or "count", n.get("unit"))
        if name is None or name == "count":
            continue  # a bare count says nothing comparable
        low = n.get("low", n.get("value"))
        high = n.get("high", n.get("value"))
        ranges, shown = out.setdefault(name, ([], []))
        ranges.append((float(low) * factor, float(high) * factor, exact))
        value = n.get("value") if low == high else f"{low}..{high}"
        shown.append(round(float(value) * factor, 1) if not exact and low == high else value)
    ev = features.get("event_date")
    if ev and ev.get("date_start"):
        end = ev.get("date_end") or ev["date_start"]
        out["event_date"] = (
            [(ev["date_start"], end)],
            [ev["date_start"] if end == ev["date_start"] else f"{ev['date_start']}..{end}"],
        )
    sp = features.get("speaker")
    name = (sp.get("name") or (None if sp.get("pronoun") else sp.get("text"))) if sp else None
    if name:
        out["speaker"] = ([name_key(name)], [name])
    places: dict[str, str] = {}  # key -> the first spelling seen ("U.S." and "US" are one place)
    for p in sorted(
        e["canonical"] for e in features.get("entities") or [] if e.get("label") in _PLACE_LABELS
    ):
        places.setdefault(name_key(p), p)
    if places:
        out["place"] = (list(places), list(places.values()))
    return out


_LEADING = re.compile(r"^(?:(?:the|country's|nation's|its)\s+)+")


def name_key(name: str) -> str:
    """The comparable form of a speaker or place name: its canonical name (``index.intel.names``:
    "Russia's Ministry of Defence" is "Russian Defense Ministry"), NFKC, case folded, curly apostrophes
    straight, dots dropped, no leading "the"/"country's", no trailing possessive, single spaces
    (``"the U.S. European Command"`` and ``"US European Command"`` -> ``"us european command"``)."""
    from index.intel.names import canonical_name

    t = (
        unicodedata.normalize("NFKC", canonical_name(name) or name)
        .casefold()
        .translate(_QUOTES_AND_DASHES)
        .replace(".", "")
    )
    t = _LEADING.sub("", " ".join(t.split()))
    return re.sub(r"'s?$", "", t).strip()


def _disagree(field: str, a: list, b: list) -> bool:
    if field == "event_date":  # ISO day ranges: disjoint ranges disagree
        return not any(s1 <= e2 and s2 <= e1 for s1, e1 in a for s2, e2 in b)
    if field == "speaker":  # "Putin" and "Vladimir Putin" agree
        return not (a[0] in b[0] or b[0] in a[0])
    if field == "place":  # no place in common, or one place each besides those they share
        shared = set(a) & set(b)
        return not shared or (len(set(a) - shared) == 1 and len(set(b) - shared) == 1)
    exact = all(x[2] for x in a + b)
    return not _ranges_meet([x[:2] for x in a], [x[:2] for x in b], 0.0 if exact else _TOLERANCE)


def conflicts(members: Sequence[tuple[int, Mapping[str, Any] | None]]) -> list[dict[str, Any]]:
    """The details on which members of one cluster disagree.

    Args:
        members: ``(passage_id, stored claim features or None)`` per member.

    Returns:
        One ``{"field", "values", "ids", "members"}`` per field on which two members disagree: a number
        field (``aircraft``, ``casualties``, ``distance_km``... ``search.claim_clauses.NUMBER_FIELDS``;
        for example 3 against 5 aircraft; quantities of a kind meet when their ranges overlap, converted
        units within 2 %), ``event_date`` (disjoint day ranges), ``speaker`` (neither name inside the other)
        or ``place`` (no place in common, or, besides the places both share such as a country, exactly one
        other place each that differs: "Russia, Kaliningrad" vs "Russia, Engels"); names are compared by
        :func:`name_key` ("U.S." is "US"). ``values``: the distinct values stated, ``ids``: the members
        that state one, ``members``: ``[{"passage_id", "values"}]``. Members without the field are left out.
    """
    details = [(pid, _member_details(f or {})) for pid, f in members]
    order: list[str] = []
    for _, d in details:
        order += [k for k in d if k not in order]
    out = []
    for field in order:
        having = [(pid, d[field]) for pid, d in details if field in d]
        if not any(
            _disagree(field, a[0], b[0]) for i, (_, a) in enumerate(having) for _, b in having[i + 1 :]
        ):
            continue
        values: list = []
        for _, (_, shown) in having:
            values += [v for v in shown if v not in values]
        out.append(
            {
                "field": field,
                "values": values,
                "ids": [pid for pid, _ in having],
                "members": [{"passage_id": pid, "values": shown} for pid, (_, shown) in having],
            }
        )
    return out


def flag_conflicts(hits: Sequence[Hit], features: Mapping[int, Mapping[str, Any]]) -> None:
    """Set ``hit.cluster["conflicts"]`` (``conflicts`` of its members, ``[]`` when they agree) on every
    clustered hit, in place. ``features``: stored claim features by passage id (every member's)."""
    for h in hits:
        if h.cluster is not None:
            members = [(m["passage_id"], features.get(m["passage_id"])) for m in h.cluster["members"]]
            h.cluster["conflicts"] = conflicts(members) if len(members) > 1 else []


def describe_conflicts(found: Sequence[Mapping[str, Any]]) -> str:
    """One line for text output: ``aircraft 3 vs 5; event_date 2022-08-18 vs 2022-08-11``."""
    return "; ".join(f"{c['field']} " + " vs ".join(str(v) for v in c["values"]) for c in found)
