"""Malformed values in the query language give ONE line naming the field and a valid example (issue 13,
item 3), over every query field: never a parser's internal message. No index: the schema alone."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.analysis import build_schema
from index.errors import API, QuerySyntaxError
from search.claim_clauses import CLAIM_FIELDS, NUMBER_FIELDS
from search.query import analyze_query, field_names

SCHEMA = build_schema()
FIELDS = field_names(SCHEMA)
# Python or Whoosh internals that a message must never show
INTERNALS = re.compile(r"invalid literal|int\(\)|base 10|Traceback|NoneType|\{'|None\]|Error\(|parseable")

DATE_BAD = ["notadate", "2022-13-45", ">abc", "<=2022-99", "[abc TO 2022]", "{2021 TO nope}"]
NUMBER_BAD = [">abc", "abc", "[abc TO 5]", ">=1e999", "<nan"]
CHECKWORTHY_BAD = ["2", "-1", ">1.5", "[0.2 TO 3]", "abc", "<=x"]
# the fields whose values are free text or names: any word is valid
FREE = {
    "article_id",
    "context",
    "passage_id",
    "source",
    "text",
    "title",
    "url",
    "speaker",
    "entity",
    "place",
    "weapon",
}


def _bad_values(field: str) -> list[str]:
    if field == "date":
        return DATE_BAD
    if field == "checkworthy":
        return CHECKWORTHY_BAD
    if field in NUMBER_FIELDS:
        return NUMBER_BAD
    if field == "mode":
        return ["gossip", "quotes"]
    return []


def test_every_query_field_is_classified():
    # a new field must say here which values are malformed (or that it takes any value)
    for f in FIELDS:
        assert f in FREE or _bad_values(f), f
    assert set(CLAIM_FIELDS) <= set(FIELDS)


def _error(query: str) -> str:
    with pytest.raises(QuerySyntaxError) as got:
        analyze_query(query, SCHEMA)
    return str(got.value)


def _examples(message: str) -> list[str]:
    """The clauses a message offers after "e.g." (and "use X in the query")."""
    out = []
    m = re.search(r"e\.g\. (.*?)(?: \(or search|$)", message)
    if m:
        out += [re.sub(r" \(a minimum\)$", "", x) for x in m.group(1).split(", ")]
    out += re.findall(r"use (\S+) in the query", message)
    return out


CASES = [(f, v) for f in FIELDS for v in _bad_values(f)]


@pytest.mark.parametrize("field,value", CASES, ids=[f"{f}:{v}" for f, v in CASES])
def test_a_malformed_value_is_one_line_naming_the_field_and_a_valid_example(field, value):
    message = _error(f"Kinzhal {field}:{value}")
    assert "\n" not in message and message.startswith(f"{field}:"), message
    assert not INTERNALS.search(message), message
    examples = _examples(message)
    assert examples, message
    for ex in examples:  # each example offered is itself valid
        assert ex.startswith(f"{field}:"), (ex, message)
        analyze_query(f"Kinzhal {ex}", SCHEMA)


@pytest.mark.parametrize(
    "name,value", [(n, v) for n in ("since", "until", "around") for v in ("2022-01-01", "abc", "")]
)
def test_options_written_as_fields_are_refused_naming_the_field_or_option_to_use(name, value):
    message = _error(f"Kinzhal {name}:{value}")
    assert "\n" not in message and message.startswith(f"{name}:{value} is not a query field")
    day = value if value == "2022-01-01" else "2022-08-19"  # the user's date, else an example
    assert f"--{name} {day}" in message
    for ex in _examples(message):
        assert ex.startswith("date:") and day in ex
        analyze_query(f"Kinzhal {ex}", SCHEMA)
    # inside quotes it is a phrase, not an option
    analyze_query(f'Kinzhal "{name}:{value} x"', SCHEMA)


def test_checkworthy_in_range_and_numbers_still_parse():
    for q in (
        "checkworthy:0.7",
        "checkworthy:>=0",
        "checkworthy:[0.2 TO 1]",
        "casualties:>100",
        "date:2022-08",
    ):
        analyze_query(f"Kinzhal {q}", SCHEMA)


def test_the_same_message_names_the_api_parameter_for_the_api():
    with pytest.raises(QuerySyntaxError) as got:
        analyze_query("Kinzhal since:2022-01-01", SCHEMA)
    assert "--since 2022-01-01" in str(got.value)
    assert "since=2022-01-01" in got.value.render(API) and "--" not in got.value.render(API)
    with pytest.raises(QuerySyntaxError) as got:
        analyze_query("Kinzhal date:notadate", SCHEMA)
    assert "--literal" in str(got.value) and "literal=true" in got.value.render(API)


@settings(max_examples=200, deadline=None)
@given(
    field=st.sampled_from(FIELDS),
    value=st.text(alphabet="abcxyz0123456789-.:<>=_", min_size=1, max_size=12),
)
def test_any_value_of_any_field_parses_or_fails_in_one_clean_line(field, value):
    try:
        analyze_query(f"Kinzhal {field}:{value}", SCHEMA)
    except QuerySyntaxError as e:
        message = str(e)
        assert "\n" not in message and not INTERNALS.search(message), message
        if field not in FREE:
            assert field in message, message
