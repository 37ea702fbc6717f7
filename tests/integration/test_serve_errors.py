"""Every 4xx error of ``claims serve``'s API names the API's query parameter, never a CLI flag (issue 13,
item 2), while the CLI's line for the same mistake names its flag. The real server over the sample index."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest

from search.serve import create_app
from search.serve.background import BackgroundServer

pytestmark = pytest.mark.slow
FLAG = re.compile(r"(?<![\w-])--[a-z]")


@pytest.fixture(scope="module")
def server(sample_index):
    with BackgroundServer(create_app(sample_index)) as srv:
        yield srv


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


# (endpoint, parameters, status, words the error must hold): every validation path a URL can reach
CASES = [
    ("search", {"mode": "bogus"}, 400, ["mode='bogus'"]),
    ("search", {"fusion": "x"}, 400, ["fusion='x'"]),
    ("search", {"norm": "x"}, 400, ["norm='x'"]),
    ("search", {"operator": "x"}, 400, ["operator='x'"]),
    ("search", {"group_by": "x"}, 400, ["group_by='x'"]),
    ("search", {"weights": "1"}, 400, ["weights='1'"]),
    ("search", {"weights": "-1,1"}, 400, ["weights=-1,1"]),
    ("search", {"weights": "0,0"}, 400, ["weights=0,0"]),
    ("search", {"rrf_k": "-1"}, 400, ["rrf_k=-1"]),
    ("search", {"threshold": "2"}, 400, ["threshold=2"]),
    ("search", {"min_similarity": "2"}, 400, ["min_similarity=2"]),
    ("search", {"cluster_threshold": "2"}, 400, ["cluster_threshold=2"]),
    ("search", {"around_days": "0"}, 400, ["around_days=0"]),
    ("search", {"around_weight": "-1"}, 400, ["around_weight=-1"]),
    ("search", {"threshold": "0.5", "mode": "keyword"}, 400, ["threshold", "mode=hybrid"]),
    ("search", {"since": "notadate"}, 400, ["since='notadate'"]),
    ("search", {"until": "notadate"}, 400, ["until='notadate'"]),
    ("search", {"since": "2023-01-01", "until": "2022-01-01"}, 400, ["since=2023-01-01", "until=2022-01-01"]),
    ("search", {"around": "notadate"}, 400, ["around='notadate'"]),
    ("search", {"where": "nokey"}, 400, ["where='nokey'"]),
    ("search", {"where": "nosuchfield=x", "mode": "keyword"}, 400, ["where=nosuchfield=x"]),
    ("search", {"offset": "95", "k": "10"}, 400, ["offset=95", "k=10", "depth=100"]),
    ("search", {"q": '"unclosed quote'}, 400, ["literal=true"]),
    ("search", {"q": "Kinzhal date:notadate", "mode": "keyword"}, 400, ["date:notadate", "literal=true"]),
    ("search", {"q": "Kinzhal since:2022-01-01"}, 400, ["since=2022-01-01", "date:>=2022-01-01"]),
    ("search", {"q": "Kinzhal checkworthy:2", "mode": "keyword"}, 400, ["checkworthy:2"]),
    ("search", {"q": "Kinzhal casualties:>abc", "mode": "keyword"}, 400, ["casualties:", "literal=true"]),
    ("search", {"format": "xml"}, 400, ["format 'xml'"]),
    ("search", {"k": "abc"}, 422, ["k:"]),
    ("search", {"depth": "0"}, 422, ["depth:"]),
    ("search", {"literal": "maybe"}, 422, ["literal:"]),
    ("similar", {"text": "Kinzhal", "id": "1"}, 400, ["id=PASSAGE_ID"]),
    ("similar", {"q": None}, 400, ["id=PASSAGE_ID"]),
    ("similar", {"text": "Kinzhal", "weights": "0,0"}, 400, ["weights=0,0"]),
    ("facets", {"by": "speaker,colour"}, 400, ["by=colour"]),
    ("facets", {"since": "notadate"}, 400, ["since='notadate'"]),
    ("export", {"format": "xlsx"}, 400, ["format 'xlsx'"]),
    ("export", {"offset": "95", "limit": "10"}, 400, ["offset=95", "limit=10", "depth=100"]),  # not k=
    ("export", {"norm": "x"}, 400, ["norm='x'"]),
    # a parameter the endpoint does not take is refused, not ignored (it returned unfiltered hits)
    ("search", {"speaker": "Pentagon"}, 400, ["unknown parameter speaker", "speaker:Pentagon"]),
    ("search", {"checkworthy": "2", "weapon": "Zircon"}, 400, ["unknown parameters checkworthy, weapon"]),
    ("search", {"min-similarity": "0.9"}, 400, ["unknown parameter min-similarity", "min_similarity"]),
    ("similar", {"text": "Kinzhal", "K": "1"}, 400, ["unknown parameter K", "/api/similar takes"]),
    ("facets", {"place": "Kyiv"}, 400, ["unknown parameter place"]),
    ("export", {"weapon": "Zircon"}, 400, ["unknown parameter weapon", "/api/export takes"]),
]


@pytest.mark.parametrize("endpoint,params,status,words", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_api_errors_name_the_query_parameter_not_the_flag(server, endpoint, params, status, words):
    params = {"q": "Kinzhal"} | params if endpoint in ("search", "facets", "export") else params
    params = {k: v for k, v in params.items() if v is not None}
    got, body = _get(f"{server.url}/api/{endpoint}?{urlencode(params)}")
    assert got == status, body
    assert set(body) >= {"error", "kind", "status"} and body["status"] == status
    for w in words:
        assert w in body["error"], (w, body["error"])
    assert not FLAG.search(body["error"] + body.get("hint", "").split("(the CLI's")[0]), body


def test_the_cases_cover_every_search_parameter():
    import inspect

    from search.serve.api import search_params

    params = set(inspect.signature(search_params).parameters)
    covered = {k for _, p, _, _ in CASES for k in p}
    # source and explain/cluster/clean take any value; literal, k, offset, depth are typed (422) or paged
    assert params - covered <= {"source", "explain", "cluster", "clean"}, params - covered


def test_the_cli_names_its_flags_for_the_same_mistakes(sample_index, cli):
    for args, words in (
        (("--weights", "0,0"), "--weights 0,0"),
        (("--since", "notadate"), "--since 'notadate'"),
        (("--mode", "keyword", "--threshold", "0.5"), "use --mode hybrid"),
        (("--offset", "95", "--limit", "10"), "--depth 100"),
    ):
        r = cli("search", "Kinzhal", "--index", sample_index, *args)
        assert r.exit_code == 2 and words in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    r = cli("search", "Kinzhal since:2022-01-01", "--index", sample_index)
    assert r.exit_code == 2 and "--since 2022-01-01" in r.stderr and "since=" not in r.stderr


def test_pages_show_parameter_errors_in_the_page(server):
    """The search page answers a mistyped or unknown parameter with its error page (HTML), as it does a
    bad value, not the API's JSON."""
    for query in ("q=Kinzhal&k=0", "q=Kinzhal&offset=abc", "q=Kinzhal&speaker=Pentagon"):
        try:
            urllib.request.urlopen(f"{server.url}/?{query}", timeout=60)
            raise AssertionError(f"{query} was accepted")
        except urllib.error.HTTPError as e:
            assert e.code in (400, 422), (query, e.code)
            assert e.headers.get_content_type() == "text/html", query
            page = e.read().decode("utf-8")
            assert 'role="alert"' in page, query
