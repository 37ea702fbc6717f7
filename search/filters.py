"""The filters of a search: ``--since --until --source --where``, the claim filters (``--speaker
--claim-mode --entity --place --weapon --checkworthy --number``) and the query's field clauses
(``search.clauses``, ``search.claim_clauses``), applied inside every leg (``search.keyword_leg.FilterPlan``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar

from whoosh import query
from whoosh.fields import Schema

from index.analysis import metadata_field_name, metadata_key, source_key
from index.errors import QuerySyntaxError, option
from search.claim_clauses import entity_names, number_clause, speaker_names
from search.clauses import Restriction, both


@dataclass
class Filters:
    """``--since --until --source --where``, the claim-feature filters (``--speaker --claim-mode
    --entity --place --weapon --checkworthy``, matched in the catalog's ``claim_features`` and
    ``passage_entities``) and the query's field clauses (``clauses``, see ``search.clauses``): applied
    inside every leg."""

    since: str | None = None
    until: str | None = None
    sources: list[str] = field(default_factory=list)
    where: list[tuple[str, str]] = field(default_factory=list)
    speaker: str | None = None  # case-insensitive substring of the speaker's name
    claim_mode: str | None = None  # quote, reported or assertion
    entities: list[str] = field(default_factory=list)  # canonical names, any class (all must be present)
    places: list[str] = field(default_factory=list)
    weapons: list[str] = field(default_factory=list)
    checkworthy: float | None = None  # minimum check-worthiness in [0, 1]
    numbers: list[str] = field(default_factory=list)  # --number 'casualties>100' (all must hold)
    # Not a dataclass field: option records (``dataclasses.asdict``, export manifests) hold the
    # options; the clauses are the query's, recorded with the query text.
    clauses: ClassVar[Restriction | None] = None

    def __post_init__(self) -> None:
        for spec in self.numbers:
            number_clause(spec)  # one line naming the fields, before anything is opened

    def __bool__(self) -> bool:
        return bool(
            self.since
            or self.until
            or self.sources
            or self.where
            or self.clauses
            or self.numbers
            or self.claim_conditions()
        )

    def claim_conditions(self) -> dict | None:
        """The claim-feature filters as ``CatalogReader.feature_pids`` keyword arguments; None: none."""
        named = (("any", self.entities), ("place", self.places), ("weapon", self.weapons))
        # each name, or its canonical name when the gazetteer knows it as an alias (Kh-47M2: Kinzhal)
        entities = {k: [entity_names(n) for n in v] for k, v in named if v}
        if not (self.speaker or self.claim_mode or entities or self.checkworthy is not None):
            return None
        return {
            "speaker": speaker_names(self.speaker) if self.speaker else None,
            "mode": self.claim_mode,
            "entities": entities,
            "checkworthy": self.checkworthy,
        }

    def restricted(self, clauses: Restriction | None) -> Filters:
        """A copy that also applies ``clauses`` (AND)."""
        import dataclasses

        out = dataclasses.replace(self)
        out.clauses = both(self.clauses, clauses)
        return out

    def all_clauses(self) -> Restriction | None:
        """The query's field clauses AND the ``--number`` conditions (claim clauses)."""
        numbers = [Restriction("claim", leaf=number_clause(spec)) for spec in self.numbers]
        out = self.clauses
        for r in numbers:
            out = both(out, r)
        return out

    def clause_docs(self, searcher, claims=None) -> set[int] | None:
        """The global docnums of ``searcher`` the field clauses (and ``--number``) admit; None: none.
        ``claims`` answers the claim-field clauses (``search.claim_clauses.docs_resolver``)."""
        r = self.all_clauses()
        return r.docs(searcher, claims) if r is not None else None

    def whoosh_filter(self, searcher, schema: Schema, metadata_fields: Iterable[str] = (), claims=None):
        """The filter for Whoosh's ``search(filter=...)``: a query, a set of docnums, or None."""
        fq = self.to_query(schema, metadata_fields)
        docs = self.clause_docs(searcher, claims)
        if docs is None:
            return fq
        return docs if fq is None else docs & set(fq.docs(searcher))

    def describe(self, schema: Schema, metadata_fields: Iterable[str] = ()) -> str | None:
        """The filter for ``--explain``: the options' Whoosh query and the field clauses."""
        fq = self.to_query(schema, metadata_fields)
        parts = [str(p) for p in (fq, self.all_clauses()) if p is not None]
        cond = self.claim_conditions()
        if cond:
            parts.append("claims(" + ", ".join(f"{k}={v!r}" for k, v in cond.items() if v) + ")")
        return " AND ".join(parts) or None

    @staticmethod
    def parse_where(items: list[str]) -> list[tuple[str, str]]:
        out = []
        for item in items:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise QuerySyntaxError(
                    f"{option('where', repr(item))}: expected FIELD=VALUE, e.g. {option('where', 'language=Russian')}"
                )
            out.append((key.strip(), value.strip()))
        return out

    def dates(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        """``--since`` / ``--until`` as an inclusive range (``--until`` to the end of its day)."""
        start = _date(self.since, "since") if self.since else None
        end = _date(self.until, "until", end=True) if self.until else None
        if start and end and start > end:  # nothing can match: say so before anything loads
            raise QuerySyntaxError(
                f"{option('since', self.since)} is after {option('until', self.until)}: swap them"
            )
        return start, end

    def source_keys(self) -> list[str]:
        return [source_key(s) for s in self.sources]

    def where_queries(self, metadata_fields: Iterable[str] = ()) -> list[query.Query]:
        out = []
        for key, value in self.where:
            name = key if key in ("article_id", "url") else metadata_field_name(key)
            if name not in ("article_id", "url") and metadata_key(key) not in set(metadata_fields):
                raise QuerySyntaxError(
                    f"{option('where', f'{key}={value}')}: no metadata field {key!r} in this index; "
                    "`claims stats` (or /api/stats) lists them"
                )
            out.append(query.Term(name, value.lower() if name not in ("article_id", "url") else value))
        return out

    def to_query(self, schema: Schema, metadata_fields: Iterable[str] = ()) -> query.Query | None:
        parts: list[query.Query] = []
        if self.since or self.until:
            parts.append(query.DateRange("date", *self.dates()))
        if self.sources:
            parts.append(query.Or([query.Term("source_id", k) for k in self.source_keys()]))
        parts.extend(self.where_queries(metadata_fields))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else query.And(parts)


def _date(value: str, name: str, end: bool = False) -> dt.datetime:
    """``value`` (``YYYY-MM-DD`` or another form ``normalize_date`` reads) as a datetime; ``name``: the
    option's key (``since``, ``until``, ``around``) for the message."""
    from index.dates import normalize_date

    iso = normalize_date(value)
    if iso is None:
        raise QuerySyntaxError(f"{option(name, repr(value))}: not a date; use YYYY-MM-DD (e.g. 2022-08-19)")
    d = dt.datetime.fromisoformat(iso)
    return d + dt.timedelta(days=1) - dt.timedelta(microseconds=1) if end else d
