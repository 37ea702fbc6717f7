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

__all__ = ["cluster_hits", "normalize_text"]

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
