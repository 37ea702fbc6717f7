"""One message per error, the option's name per caller (issue 13, item 2): ``str(e)`` names the CLI's
flag, ``e.render(API)`` the HTTP API's query parameter. No index, no model."""

from __future__ import annotations

import dataclasses
import re

import pytest

from index.errors import API, CLI, ClaimsError, QuerySyntaxError, option, render
from search.options import SearchOptions, parse_weights, validate
from search.query import Filters

FLAG = re.compile(r"(?<![\w-])--[a-z]")


def test_render_by_hand():
    text = f"{option('around_days', 0)}: use {option('literal')} or raise {option('depth')}; {option('limit', 5)}"
    assert render(text, CLI) == "--around-days 0: use --literal or raise --depth; --limit 5"
    assert render(text, API) == "around_days=0: use literal=true or raise depth; k=5"
    assert render(text, API, {"limit": "limit"}) == "around_days=0: use literal=true or raise depth; limit=5"
    # a value holding the marks cannot end the mark early or leak control characters
    weird = option("where", "a\x1fb\x1ec")
    assert render(weird, CLI) == "--where abc" and render(weird, API) == "where=abc"


def test_str_is_the_cli_line_and_render_api_the_api_line():
    e = QuerySyntaxError(f"{option('since', repr('x'))}: not a date")
    assert str(e) == "--since 'x': not a date"
    assert e.render(API) == "since='x': not a date"
    assert isinstance(e, ClaimsError) and "\x1f" not in str(e) + e.render(API)


# (options, CLI words, API words): every check of ``validate`` and ``parse_weights``
CASES = [
    ({"mode": "bogus"}, "--mode 'bogus'", "mode='bogus'"),
    ({"fusion": "x"}, "--fusion 'x'", "fusion='x'"),
    ({"norm": "x"}, "--norm 'x'", "norm='x'"),
    ({"operator": "x"}, "--operator 'x'", "operator='x'"),
    ({"group_by": "x"}, "--group-by 'x'", "group_by='x'"),
    ({"weights": (-1.0, 1.0)}, "--weights -1,1", "weights=-1,1"),
    ({"weights": (0.0, 0.0)}, "--weights 0,0", "weights=0,0"),
    ({"limit": -1}, "--limit -1", "k=-1"),
    ({"offset": -1}, "--offset -1", "offset=-1"),
    ({"depth": 0}, "--depth 0", "depth=0"),
    ({"rrf_k": -1.0}, "--rrf-k -1", "rrf_k=-1"),
    ({"threshold": 2.0}, "--threshold 2", "threshold=2"),
    ({"min_similarity": 2.0}, "--min-similarity 2", "min_similarity=2"),
    ({"cluster_threshold": 2.0}, "--cluster-threshold 2", "cluster_threshold=2"),
    ({"around_days": 0.0}, "--around-days 0", "around_days=0"),
    ({"around_weight": -1.0}, "--around-weight -1", "around_weight=-1"),
    ({"threshold": 0.5, "mode": "keyword"}, "--mode hybrid", "mode=hybrid"),
    ({"around": "notadate"}, "--around 'notadate'", "around='notadate'"),
    (
        {"offset": 95, "limit": 10},
        "--offset 95 + --limit 10 go past --depth 100",
        "offset=95 + k=10 go past depth=100",
    ),
    ({"filters": {"since": "notadate"}}, "--since 'notadate'", "since='notadate'"),
    ({"filters": {"until": "notadate"}}, "--until 'notadate'", "until='notadate'"),
    (
        {"filters": {"since": "2023-01-01", "until": "2022-01-01"}},
        "--since 2023-01-01 is after --until",
        "since=2023-01-01 is after until=",
    ),
    ({"filters": {"claim_mode": "gossip"}}, "--claim-mode 'gossip'", "claim_mode='gossip'"),
    ({"filters": {"checkworthy": 1.5}}, "--checkworthy 1.5", "checkworthy=1.5"),
]


@pytest.mark.parametrize("changes,cli_words,api_words", CASES, ids=[str(c[0]) for c in CASES])
def test_every_option_check_names_the_flag_for_the_cli_and_the_parameter_for_the_api(
    changes, cli_words, api_words
):
    changes = dict(changes)
    filters = Filters(**changes.pop("filters", {}))
    with pytest.raises(ClaimsError) as got:
        validate(dataclasses.replace(SearchOptions(), filters=filters, **changes))
    e = got.value
    assert cli_words in str(e) and "\n" not in str(e)
    assert api_words in e.render(API) and not FLAG.search(e.render(API)), e.render(API)


def test_parse_weights_and_where_name_their_parameter():
    with pytest.raises(ClaimsError) as got:
        parse_weights("1,x")
    assert str(got.value).startswith("--weights '1,x'") and got.value.render(API).startswith("weights='1,x'")
    with pytest.raises(ClaimsError) as got:
        Filters.parse_where(["nokey"])
    assert "--where 'nokey'" in str(got.value) and "where='nokey'" in got.value.render(API)
    assert not FLAG.search(got.value.render(API))


def test_the_cases_cover_every_check_of_validate():
    import inspect

    from search import options

    source = inspect.getsource(options.validate)
    checked = set(re.findall(r'_(?:choice|range)\("(\w+)"', source))
    covered = {k for changes, _, _ in CASES for k in changes} | {
        k for changes, _, _ in CASES for k in changes.get("filters", {})
    }
    assert checked - covered == set()
