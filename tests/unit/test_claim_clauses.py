"""Claim fields in the query language (``speaker:``, ``casualties:>100``...) and ``--number``: parsing,
range semantics, the flags' alias resolution, and the conflicting details of a cluster (by hand)."""

from __future__ import annotations

import pytest

from index.analysis import build_schema
from index.errors import QuerySyntaxError
from search.claim_clauses import ClaimClause, number_clause, number_field
from search.clauses import strip_clauses
from search.clusters import conflicts, describe_conflicts
from search.filters import Filters
from search.query import analyze_query, field_names

SCHEMA = build_schema()


def _claims(r) -> list[ClaimClause]:
    return [r.leaf] if r.op == "claim" else [x for p in r.parts for x in _claims(p)]


@pytest.mark.parametrize(
    "text, field, op, want",
    [
        ("speaker:Putin", "speaker", "part", {"names": ("Putin",)}),
        (
            'speaker:"Russia\'s Defense Ministry"',
            "speaker",
            "part",
            {"names": ("Russia's Defense Ministry",)},
        ),
        ("Speaker:put*", "speaker", "match", {"pattern": "put*"}),
        ("MODE:Quote", "mode", "is", {"names": ("quote",)}),
        ("weapon:Kh-47M2", "weapon", "is", {"names": ("Kh-47M2", "Kinzhal")}),  # a gazetteer alias
        ("place:Kaliningrad", "place", "is", {"names": ("Kaliningrad",)}),
        ('entity:"Vladimir Putin"', "entity", "is", {"names": ("Vladimir Putin",)}),
        ("checkworthy:0.7", "checkworthy", "range", {"lo": 0.7, "hi": None}),  # bare: a minimum, as the flag
        ("checkworthy:>0.7", "checkworthy", "range", {"lo": 0.7, "lo_excl": True}),
        ("casualties:>100", "casualties", "range", {"lo": 100, "hi": None, "lo_excl": True}),
        ("aircraft:>=3", "aircraft", "range", {"lo": 3, "lo_excl": False}),
        ("distance_km:<500", "distance_km", "range", {"lo": None, "hi": 500, "hi_excl": True}),
        ("aircraft:3", "aircraft", "range", {"lo": 3, "hi": 3}),
        ("aircraft:{3 TO 5}", "aircraft", "range", {"lo": 3, "hi": 5, "lo_excl": True, "hi_excl": True}),
        ("money_usd:>1,000,000", "money_usd", "range", {"lo": 1e6}),
    ],
)
def test_each_claim_field_parses_to_one_clause(text, field, op, want):
    pq = analyze_query(text + " missile", SCHEMA)
    (clause,) = _claims(pq.restriction)
    assert (clause.field, clause.op) == (field, op)
    for k, v in want.items():
        assert getattr(clause, k) == v, k
    assert pq.words == "missile"  # the semantic leg embeds the words, not the clause


def test_not_or_and_brackets_are_those_of_field_clauses():
    r = analyze_query("NOT mode:assertion Kinzhal", SCHEMA).restriction
    assert r.op == "not" and r.parts[0].op == "claim"
    r = analyze_query("(place:Kaliningrad OR place:Engels) source:TASS Kinzhal", SCHEMA).restriction
    assert r.op == "and" and {p.op for p in r.parts} == {"or", "leaf"}
    assert analyze_query("speaker:Putin casualties:>10", SCHEMA).scored is not None  # clauses alone: valid
    with pytest.raises(QuerySyntaxError, match="cannot OR the field clause"):
        analyze_query("speaker:Putin OR missile", SCHEMA)


@pytest.mark.parametrize(
    "text, words",
    [
        ("casualties:>abc x", "is not a number"),
        ("aircraft:[a TO 5] x", "is not a number"),
        ("aircraft:thr* x", "is not a number"),
        ("mode:gossip x", "quote, reported, assertion"),
        ("speaker:[a TO b] x", "range on a name field"),
    ],
)
def test_bad_claim_clauses_fail_in_one_line(text, words):
    with pytest.raises(QuerySyntaxError, match=words) as e:
        analyze_query(text, SCHEMA)
    assert "\n" not in str(e.value)


def test_number_flag_specs():
    assert number_clause("casualties>100") == ClaimClause(
        "casualties", "range", lo=100, lo_excl=True, text=">100"
    )
    c = number_clause(" distance_km <= 500 ")
    assert (c.lo, c.hi, c.hi_excl) == (None, 500, False)
    c = number_clause("aircraft=3")
    assert (c.lo, c.hi) == (3, 3)
    for spec, words in (
        ("tankz>3", "unknown number field 'tankz'"),
        ("casualties>>3", "not a number"),
        ("casualties", "expected FIELD OP NUMBER"),
        ("checkworthy>0.5", "unknown number field"),  # --checkworthy is the flag for that
    ):
        with pytest.raises(QuerySyntaxError, match=words):
            Filters(numbers=[spec])  # checked when the options are built, before any index is opened


def test_range_semantics_by_hand():
    gt100 = number_clause("casualties>100")
    assert not gt100.admits(100, 100) and gt100.admits(101, 101)
    assert gt100.admits(24, 200)  # "dozens of".."hundreds": some value of the range is > 100
    assert not gt100.admits(24, 99)
    le5 = number_clause("aircraft<=5")
    assert le5.admits(5, 5) and not le5.admits(6, 6)
    lt5 = number_clause("aircraft<5")
    assert not lt5.admits(5, 5) and lt5.admits(4, 4)
    eq3 = number_clause("aircraft=3")
    assert eq3.admits(3, 3) and not eq3.admits(4, 4) and eq3.admits(2, 10)


def test_number_fields_name_kinds_and_convert_units():
    assert number_field("aircraft", "aircraft") == ("aircraft", 1.0, True)
    assert number_field("aircraft", "helicopters") == ("helicopters", 1.0, True)
    assert number_field("vehicles", "tanks") == ("tanks", 1.0, True)
    assert number_field("distance", "mi") == ("distance_km", 1.609344, False)
    assert number_field("speed", "Mach") == ("mach", 1.0, True)
    assert number_field("money", "GBP") == ("money_gbp", 1.0, True)


def test_claim_fields_are_stripped_for_the_semantic_leg_and_metadata_keys_shadow_them():
    names = field_names(SCHEMA)
    assert {"speaker", "casualties", "distance_km", "checkworthy"} <= set(names)
    assert (
        strip_clauses('speaker:"Defense Ministry" MiG-31 casualties:>100 NOT mode:quote', names) == "MiG-31"
    )
    # an index whose articles carry a metadata key "place": place: keeps meaning that key
    pq = analyze_query("place:Kyiv x", SCHEMA, metadata_fields=["place"])
    assert pq.restriction.op == "leaf" and pq.restriction.leaf.fieldname == "m_place"


def test_entity_flags_resolve_gazetteer_aliases():
    cond = Filters(weapons=["Kh-47M2"], places=["Kaliningrad"]).claim_conditions()
    assert cond["entities"] == {"place": [("Kaliningrad",)], "weapon": [("Kh-47M2", "Kinzhal")]}


# -- conflicting details of a cluster, by hand ---------------------------------------------------------
def _num(kind, unit, value, low=None, high=None, text=""):
    low = value if low is None else low
    high = value if high is None else high
    return {"kind": kind, "unit": unit, "value": value, "low": low, "high": high, "text": text}


def _f(numbers=(), speaker=None, event=None, places=()):
    return {
        "numbers": list(numbers),
        "speaker": {"text": speaker, "name": speaker, "pronoun": False} if speaker else None,
        "event_date": {"date_start": event[0], "date_end": event[1]} if event else None,
        "entities": [{"label": "GPE", "canonical": p} for p in places],
    }


def test_conflicts_flag_numbers_dates_speakers_and_places_that_disagree():
    a = _f(
        [_num("aircraft", "aircraft", 3)],
        "Russia's Defense Ministry",
        ("2022-08-18", "2022-08-18"),
        ["Chkalovsk"],
    )
    b = _f([_num("aircraft", "aircraft", 5)], "Pentagon", ("2022-08-11", "2022-08-11"), ["Engels"])
    found = conflicts([(1, a), (2, b), (3, None)])
    assert [c["field"] for c in found] == ["aircraft", "event_date", "speaker", "place"]
    assert found[0] == {
        "field": "aircraft",
        "values": [3, 5],
        "ids": [1, 2],
        "members": [{"passage_id": 1, "values": [3]}, {"passage_id": 2, "values": [5]}],
    }
    assert describe_conflicts(found[:2]) == "aircraft 3 vs 5; event_date 2022-08-18 vs 2022-08-11"


def test_conflicts_leave_agreeing_details_alone():
    same = [
        (
            1,
            _f(
                [_num("aircraft", "aircraft", 3), _num("missiles", "missiles", 2)],
                "Putin",
                ("2022-08-15", "2022-08-21"),
            ),
        ),
        (2, _f([_num("aircraft", "aircraft", 3)], "Vladimir Putin", ("2022-08-18", "2022-08-18"))),
        (3, _f([_num("aircraft", "aircraft", 24, 24, 99)])),  # "dozens of": no conflict with 3? it is
    ]
    found = conflicts(same)
    assert [c["field"] for c in found] == ["aircraft"]  # 3 vs 24..99: disjoint
    assert found[0]["values"] == [3, "24..99"] and found[0]["ids"] == [1, 2, 3]
    assert conflicts(same[:2]) == []  # week range holds the day; Putin is inside Vladimir Putin
    km = _f([_num("distance", "km", 1000)])
    miles = _f([_num("distance", "mi", 621)])  # 999.4 km: the same distance, converted
    assert conflicts([(1, km), (2, miles)]) == []
    far = _f([_num("distance", "km", 400)])
    (c,) = conflicts([(1, km), (2, far)])
    assert (c["field"], c["values"]) == ("distance_km", [1000, 400])
    tanks = _f([_num("vehicles", "tanks", 3)])
    apcs = _f([_num("vehicles", "vehicles", 5)])
    assert conflicts([(1, tanks), (2, apcs)]) == []  # tanks and other vehicles are not the same count


def test_conflicts_compare_normalised_names():
    # spellings of one name: dots, case, curly apostrophes, a leading "the" or "country's"
    a = _f(speaker="US European Command", places=["US"])
    b = _f(speaker="the U.S. European Command", places=["U.S."])
    assert conflicts([(1, a), (2, b)]) == []
    c = _f(speaker="Russia’s Defense Ministry", places=["Kaliningrad"])
    d = _f(speaker="russia's defense ministry", places=["the Kaliningrad"])
    assert conflicts([(1, c), (2, d)]) == []
    e = _f(speaker="the country's Defense Ministry")
    f = _f(speaker="Defense Ministry")
    assert conflicts([(1, e), (2, f)]) == []
    # and different names still disagree
    (found,) = conflicts([(1, a), (2, _f(speaker="Pentagon"))])
    assert found["field"] == "speaker" and found["values"] == ["US European Command", "Pentagon"]


def test_place_conflicts_at_the_most_specific_level():
    to_kaliningrad = _f(places=["Russia", "Kaliningrad"])
    to_engels = _f(places=["Russia", "Engels air base"])
    (found,) = conflicts([(1, to_kaliningrad), (2, to_engels)])
    assert found["field"] == "place"
    assert found["values"] == ["Kaliningrad", "Russia", "Engels air base"]
    # one passage only names the country: less specific, not a conflict
    assert conflicts([(1, to_kaliningrad), (2, _f(places=["Russia"]))]) == []
    # the same places, one spelt differently
    assert conflicts([(1, to_kaliningrad), (2, _f(places=["russia", "KALININGRAD"]))]) == []
    # two other places on one side: no single pair to compare
    assert conflicts([(1, _f(places=["Russia", "Kaliningrad", "Chkalovsk"])), (2, to_engels)]) == []
    # nothing shared still disagrees, as before
    (found,) = conflicts([(1, _f(places=["Kaliningrad"])), (2, _f(places=["Engels"]))])
    assert found["values"] == ["Kaliningrad", "Engels"]
