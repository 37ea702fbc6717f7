"""Claim fields of the query language: ``speaker:Putin``, ``mode:quote``, ``entity:``, ``place:``,
``weapon:``, ``checkworthy:>0.7`` and number ranges (``casualties:>100``, ``aircraft:>=3``,
``distance_km:<500``), matched in the catalog's claim features, never scored.

They are field clauses (``search.clauses``): the parser sees them as fields of their own
(``parse_schema``), ``split_clauses`` turns each one into a ``ClaimClause`` leaf of the restriction, so
``NOT``, ``OR`` between clauses, brackets and the "all clauses beside the words are required" rule are
the same as for ``source:``; the restriction is applied inside every leg (``search.keyword_leg``).

Matching (the same as the equivalent flags: ``speaker:X`` is ``--speaker X`` and so on):

* ``speaker``: a case-insensitive part of the speaker's name (``Putin`` matches ``Vladimir Putin``);
  ``*``/``?``/``~`` match the whole name (``speaker:*ministry``);
* ``mode``: ``quote``, ``reported`` or ``assertion``;
* ``entity`` (any class), ``place``, ``weapon``: the canonical name, whole and case-insensitive, or a
  gazetteer alias of it (``weapon:Kh-47M2`` is ``weapon:Kinzhal``); wildcards match canonical names;
* ``checkworthy``: a bare value is a minimum (``checkworthy:0.7`` = ``--checkworthy 0.7``), or a range;
* numbers (``NUMBER_FIELDS``): a bare value is that number, or a range (``>``, ``>=``, ``<``, ``<=``,
  ``[a TO b]``, ``{a TO b}``); a passage matches when one of its quantities of that kind does: a vague
  quantity ("dozens of": 24..99) when some value of its range does, after converting the unit
  (``distance_km`` converts miles, nautical miles, metres and feet to km).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from whoosh import fields, query

from index.errors import QuerySyntaxError, option

MODES = ("quote", "reported", "assertion")  # index.intel.records.MODES
NAME_FIELDS = ("speaker", "mode", "entity", "place", "weapon")
ENTITY_CLASSES = {"entity": "any", "place": "place", "weapon": "weapon"}


@dataclass(frozen=True)
class NumberField:
    """A number field: quantities of ``kind`` (``index.intel.numbers.Quantity.kind``), and when
    ``units`` is given only those units, each times its factor (to the field's unit)."""

    kind: str
    units: dict[str | None, float] | None = None
    doc: str = ""

    def scale(self, unit: str | None) -> float | None:
        """The factor for a quantity in ``unit``; None: this field does not take that unit."""
        if self.units is None:
            return 1.0
        return self.units.get(unit)


_MILE, _NMI = 1.609344, 1.852
NUMBER_FIELDS: dict[str, NumberField] = {
    "aircraft": NumberField("aircraft", doc="planes, jets, bombers, helicopters"),
    "helicopters": NumberField("aircraft", {"helicopters": 1.0}, "helicopters only"),
    "drones": NumberField("drones", doc="drones, UAVs"),
    "missiles": NumberField("missiles", doc="missiles, rockets, shells, warheads"),
    "vehicles": NumberField("vehicles", doc="tanks, vehicles, APCs, howitzers"),
    "tanks": NumberField("vehicles", {"tanks": 1.0}, "tanks only"),
    "ships": NumberField("ships", doc="ships, warships, submarines, boats"),
    "troops": NumberField("troops", doc="troops, soldiers, personnel"),
    "people": NumberField("people", doc="people, civilians, refugees, prisoners"),
    "casualties": NumberField("casualties", doc="killed, dead, wounded, injured"),
    "distance_km": NumberField(
        "distance", {"km": 1.0, "mi": _MILE, "nmi": _NMI, "m": 0.001, "ft": 0.0003048}, "km"
    ),
    "speed_kmh": NumberField("speed", {"km/h": 1.0, "mph": _MILE, "kn": _NMI}, "km/h (not Mach)"),
    "mach": NumberField("speed", {"Mach": 1.0}, "Mach number"),
    "money_usd": NumberField("money", {"USD": 1.0}, "US dollars"),
    "money_eur": NumberField("money", {"EUR": 1.0}, "euros"),
    "money_rub": NumberField("money", {"RUB": 1.0}, "roubles"),
    "percent": NumberField("percent", doc="per cent"),
}
RANGE_FIELDS = ("checkworthy", *NUMBER_FIELDS)
CLAIM_FIELDS = (*NAME_FIELDS, *RANGE_FIELDS)


def number_field(kind: str, unit: str | None) -> tuple[str | None, float, bool]:
    """``(field name, factor, exact)`` of a quantity of ``kind`` in ``unit``: the field that takes that
    unit (``tanks`` before ``vehicles``), its conversion factor, and whether no conversion happened
    (``money`` in a currency without a field: ``money_gbp``)."""
    generic = None
    for name, nf in NUMBER_FIELDS.items():
        if nf.kind != kind:
            continue
        if nf.units is None:
            generic = generic or name
        elif unit in nf.units:
            return name, nf.units[unit], nf.units[unit] == 1.0
    if generic is not None:
        return generic, 1.0, True
    return (f"{kind}_{unit.lower()}" if unit else kind), 1.0, True


def claim_field_names(metadata_fields: Iterable[str] = ()) -> list[str]:
    """The claim fields a query may use: every one but those an index's metadata key of the same name
    shadows (``KEY:value`` keeps meaning the metadata key there; ``--where`` reaches it too)."""
    taken = {m.lower() for m in metadata_fields}
    return [n for n in CLAIM_FIELDS if n not in taken]


def parse_schema(schema: fields.Schema, metadata_fields: Iterable[str] = ()) -> fields.Schema:
    """``schema`` plus one ``ID`` field per claim field (for the parser only: Whoosh parses a clause
    on a field its schema has; the index's schema is not changed)."""
    import copy

    out = copy.copy(schema)  # Schema.copy() drops the dynamic ``m_*`` metadata fields
    out._fields, out._subfields = dict(schema._fields), dict(schema._subfields)
    out._dyn_fields = dict(schema._dyn_fields)
    for name in claim_field_names(metadata_fields):
        if name not in out:
            out.add(name, fields.ID())
    return out


@dataclass(frozen=True)
class ClaimClause:
    """One claim-field clause.

    ``op``: ``part`` (a part of the speaker's name), ``is`` (one of ``names``, case-insensitive),
    ``match`` (names matching ``pattern``, or within ``maxdist`` edits of it with ``fuzzy``) or ``range``
    (``lo``/``hi``, None: open; ``lo_excl``/``hi_excl``: exclusive ends).
    """

    field: str
    op: str
    names: tuple[str, ...] = ()
    pattern: str = ""
    fuzzy: bool = False
    maxdist: int = 0
    lo: float | None = None
    hi: float | None = None
    lo_excl: bool = False
    hi_excl: bool = False
    text: str = ""  # as written, for --explain

    def __str__(self) -> str:
        return f"{self.field}:{self.text}"

    def admits(self, lo: float, hi: float) -> bool:
        """Whether some value of ``[lo, hi]`` is inside this range."""
        if self.lo is not None and (hi < self.lo or (self.lo_excl and hi <= self.lo)):
            return False
        return not (self.hi is not None and (lo > self.hi or (self.hi_excl and lo >= self.hi)))

    def matches(self, name: str) -> bool:
        """Whether ``name`` (a speaker or a canonical entity name) matches a ``match`` clause."""
        name = name.lower()
        if self.fuzzy:
            from whoosh.support.levenshtein import distance

            return distance(name, self.pattern) <= self.maxdist
        return fnmatch.fnmatchcase(name, self.pattern)

    def pids(self, catalog) -> set[int]:
        """The visible passage ids this clause admits (``catalog``: an ``index.catalog_reader.CatalogReader``)."""
        if self.field == "checkworthy":
            return catalog.checkworthy_pids(self.lo, self.hi, self.lo_excl, self.hi_excl)
        if self.field in NUMBER_FIELDS:
            nf = NUMBER_FIELDS[self.field]
            out = set()
            for pid, unit, low, high in catalog.number_rows(nf.kind):
                f = nf.scale(unit)
                if f is not None and self.admits(low * f, high * f):
                    out.add(pid)
            return out
        if self.field == "speaker":
            if self.op == "part":
                return catalog.feature_pids(speaker=speaker_names(self.names[0]))
            return catalog.speaker_pids([n for n in catalog.speaker_names() if self.matches(n)])
        if self.field == "mode":
            modes = self.names if self.op == "is" else tuple(m for m in MODES if self.matches(m))
            return set().union(*(catalog.feature_pids(mode=m) for m in modes))
        cls = ENTITY_CLASSES[self.field]
        names = self.names if self.op == "is" else [n for n in catalog.entity_names(cls) if self.matches(n)]
        return catalog.entity_pids(cls, names)


def is_claim_leaf(node: query.Query) -> bool:
    return getattr(node, "fieldname", None) in CLAIM_FIELDS


def claim_clause(node: query.Query) -> ClaimClause:
    """A parsed clause on a claim field as a ``ClaimClause``.

    Raises:
        QuerySyntaxError: A number field or ``checkworthy`` with a value that is not a number, an unknown
            ``mode``, or a range on a name field.
    """
    field = node.fieldname
    if isinstance(node, query.Phrase):  # a quoted value: the whole value
        node = query.Term(field, " ".join(node.words))
    if isinstance(node, query.TermRange):
        text = f"{'{' if node.startexcl else '['}{node.start or ''} TO {node.end or ''}{'}' if node.endexcl else ']'}"
        if field not in RANGE_FIELDS:
            raise QuerySyntaxError(f"{field}:{text} is a range on a name field; ranges need {_kinds()}")
        lo, hi = (_number(field, v) if v else None for v in (node.start, node.end))
        return ClaimClause(
            field, "range", lo=lo, hi=hi, lo_excl=node.startexcl, hi_excl=node.endexcl, text=text
        )
    if isinstance(node, query.FuzzyTerm | query.PatternQuery):
        if field in RANGE_FIELDS:
            raise QuerySyntaxError(f"{field}:{node.text} is not a number; e.g. {number_examples(field)}")
        fuzzy = isinstance(node, query.FuzzyTerm)
        pattern = node.text.lower() + ("*" if type(node) is query.Prefix else "")
        return ClaimClause(
            field, "match", pattern=pattern, fuzzy=fuzzy, maxdist=getattr(node, "maxdist", 0), text=pattern
        )
    if not isinstance(node, query.Term):
        raise QuerySyntaxError(f"cannot use {node} as a {field}: clause; e.g. {field}:VALUE")
    value = str(node.text)
    if field == "checkworthy":  # a bare value is a minimum, as --checkworthy
        return ClaimClause(field, "range", lo=_number(field, value), text=value)
    if field in NUMBER_FIELDS:
        v = _number(field, value)
        return ClaimClause(field, "range", lo=v, hi=v, text=value)
    if field == "speaker":
        return ClaimClause(field, "part", names=(value,), text=value)
    if field == "mode":
        if value.lower() not in MODES:
            raise QuerySyntaxError(
                f"mode:{value} is not a mode; choose one of {', '.join(MODES)}, e.g. mode:quote (or search the "
                f"words as plain text with {option('literal')})"
            )
        return ClaimClause(field, "is", names=(value.lower(),), text=value)
    return ClaimClause(field, "is", names=entity_names(value), text=value)


def number_clause(spec: str) -> ClaimClause:
    """``--number 'casualties>100'`` (``FIELD OP VALUE``, OP one of ``> >= < <= =``) as a ``ClaimClause``.

    Raises:
        QuerySyntaxError: An unknown field or a bad comparison, naming the valid ones.
    """
    m = re.fullmatch(r"\s*([A-Za-z_]+)\s*(>=|<=|>|<|==?|:)\s*(\S+)\s*", spec)
    if not m:
        raise QuerySyntaxError(
            f"{option('number', repr(spec))}: expected FIELD OP NUMBER with OP one of > >= < <= = "
            "(e.g. 'casualties>100')"
        )
    name, op, value = m.group(1).lower(), m.group(2), m.group(3)
    if name not in NUMBER_FIELDS:
        raise QuerySyntaxError(
            f"{option('number', repr(spec))}: unknown number field {name!r}; choose one of {', '.join(NUMBER_FIELDS)}"
        )
    v = _number(name, value, flag=True)
    lo, hi = (v, None) if op[0] == ">" else (None, v) if op[0] == "<" else (v, v)
    excl = len(op) == 1 and op in "<>"
    return ClaimClause(
        name,
        "range",
        lo=lo,
        hi=hi,
        lo_excl=excl and op == ">",
        hi_excl=excl and op == "<",
        text=f"{op}{value}",
    )


def _kinds() -> str:
    return ", ".join(RANGE_FIELDS)


def number_examples(field: str) -> str:
    """Valid clauses on a number field (or ``checkworthy``), for messages: ``casualties:>=3, ...``."""
    if field == "checkworthy":
        return "checkworthy:0.7 (a minimum), checkworthy:>=0.5, checkworthy:[0.2 TO 0.8]"
    return f"{field}:>=3, {field}:<500, {field}:[1 TO 5]"


def _number(field: str, value: str, flag: bool = False) -> float:
    try:
        out = float(value.replace(",", "").replace("_", ""))
    except ValueError:
        out = float("nan")
    if out != out or out in (float("inf"), float("-inf")):
        if flag:
            raise QuerySyntaxError(
                f"{option('number', field)}: {value!r} is not a number; e.g. {option('number', repr(field + '>=3'))}"
            )
        raise QuerySyntaxError(
            f"{field}:{value} is not a number; compare with a number, e.g. {number_examples(field)} (or search "
            f"the words as plain text with {option('literal')})"
        )
    if field == "checkworthy" and not 0 <= out <= 1:
        raise QuerySyntaxError(
            f"checkworthy:{value} is out of range: a check-worthiness is a number from 0 to 1, e.g. "
            f"{number_examples(field)}"
        )
    return out


def entity_names(name: str) -> tuple[str, ...]:
    """``name`` and, when the military gazetteer or the places list knows it as an alias, its canonical
    name (``Kh-47M2`` -> ``("Kh-47M2", "Kinzhal")``, ``Kiev`` -> ``("Kiev", "Kyiv")``)."""
    from index.intel.gazetteer import find_mentions, places

    found = find_mentions(name) or find_mentions(name, places())
    if len(found) == 1 and found[0].start == 0 and found[0].end == len(name) and found[0].canonical != name:
        return (name, found[0].canonical)
    return (name,)


def speaker_names(name: str) -> tuple[str, ...]:
    """``name`` and, when it differs, its canonical form (``index.intel.names``): stored speakers are
    canonical, so ``Russia's Defense Ministry`` finds ``Russian Defense Ministry``."""
    from index.intel.names import canonical_name

    canonical = canonical_name(name)
    return (name, canonical) if canonical and canonical != name else (name,)


def require_features(searcher, prefix: str = "", then: str = "filter") -> None:
    """Refuse a claim filter or claim facet on an index without claim features for every passage, or
    with features extracted by an older extractor (``Manifest.extractor`` is not
    ``index.intel.EXTRACTOR_VERSION``: names such as speakers would not match).

    Raises:
        OptionError: ``{prefix}this index lacks claim features for some passages (...): add them with
            `claims reindex --index DIR`, then {then}``, or ``{prefix}this index's claim features were
            extracted by an older version (...): re-extract them with `claims reindex ...``` (exit 2 in
            the CLI).
    """
    from index.intel import EXTRACTOR_VERSION
    from search.options import OptionError

    counts = searcher.manifest.counts
    if not searcher.catalog.has_features() or counts.get("claim_features", 0) < counts.get("passages", 0):
        raise OptionError(
            f"{prefix}this index lacks claim features for some passages (ingested with --no-extract or by an "
            f"older version): add them with `claims reindex --index {searcher.dir}`, then {then}"
        )
    made_by = searcher.manifest.extractor
    if made_by != EXTRACTOR_VERSION:
        raise OptionError(
            f"{prefix}this index's claim features were extracted by an older version (extractor "
            f"{made_by or '1'}, this tool's is {EXTRACTOR_VERSION}: names and numbers may differ): "
            f"re-extract them with `claims reindex --index {searcher.dir}`, then {then}"
        )


def docs_resolver(searcher) -> Callable[[ClaimClause], set[int]]:
    """``clause -> the global Whoosh docnums of ``searcher`` it admits`` (for ``Restriction.docs``).

    Raises (when called):
        OptionError: The index lacks claim features for some passages (names ``claims reindex``).
    """
    import numpy as np

    def resolve(clause: ClaimClause) -> set[int]:
        require_features(searcher, f"{clause}: ")
        pids = np.fromiter(clause.pids(searcher.catalog), np.int64)
        _ = searcher.ix  # opens Whoosh and its passage-id column
        col = np.asarray(searcher._pid_col, dtype=np.int64)
        return set(np.flatnonzero(np.isin(col, pids)).tolist())

    return resolve
