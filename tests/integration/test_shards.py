"""A sharded index ranks exactly as one index over the same articles (real Whoosh, FAISS, model).

The session fixture ingests the first ``SUBSET`` records of each shared corpus twice: into one index
and, with ``--shards 3``, into a sharded one. The shards' embedding caches are seeded from the single
index's (vectors by text hash: nothing is embedded twice, and both indexes hold the very same vectors,
so the comparison measures sharding, not embedding batches). Hits are compared by a key that does not
depend on passage ids (article id + character offsets).

Beside the "equals one index" checks, ``test_bm25f_over_two_shards_by_hand`` computes BM25F from the
formula with the global document frequency, document count and average length on a tiny 2-shard
index, and checks that the shards' own (local) statistics would have given another score.
"""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pytest

from tests.integration.conftest import CORPORA, CORPUS_NAMES, HAS_RAY, requires_shared

SUBSET = 20  # records per corpus: ~600 passages, each index built in well under a minute
SHARDS = 3


def seed_embeddings(src_index: Path, dst_index: Path) -> None:
    """Copy the embedding cache (``embeddings.sqlite``) of ``src_index`` into a new index folder."""
    from index.embcache import EMBCACHE, EmbeddingCache

    dst_index.mkdir(parents=True, exist_ok=True)
    with EmbeddingCache(dst_index / EMBCACHE) as cache:
        cache.copy_from(src_index / EMBCACHE)


@pytest.fixture(scope="session")
def pair(tmp_path_factory):
    """``(single index, sharded index, input files)`` over the same corpora subset."""
    from index.ingest import ingest
    from index.shard_ingest import ingest_sharded
    from index.shards import create, read_shards

    if not CORPORA.is_dir():
        pytest.skip(f"needs the shared corpora in {CORPORA}")
    root = tmp_path_factory.mktemp("shards")
    inputs = []
    for name in CORPUS_NAMES:
        with gzip.open(CORPORA / name / f"{name}.jsonl.gz", "rt", encoding="utf-8") as f:
            lines = [line for _, line in zip(range(SUBSET), f, strict=False)]
        inputs.append(root / f"{name}.jsonl")
        inputs[-1].write_text("".join(lines), encoding="utf-8")
    single, sharded = root / "single", root / "sharded"
    ingest(single, inputs)
    for _, d in create(sharded, SHARDS).dirs(sharded):
        seed_embeddings(single, d)
    report = ingest_sharded(sharded, inputs, shards=SHARDS)
    assert report.embedded == 0  # every vector came from the seeded caches
    assert len(read_shards(sharded).shards) == SHARDS
    return single, sharded, inputs


@pytest.fixture(scope="session")
def searchers(pair):
    from search.searcher import Searcher

    single, sharded, _ = pair
    with Searcher(single) as a, Searcher(sharded) as b:
        yield a, b


def _key(h) -> tuple:
    return (h.article_id, h.start, h.end)


def assert_same_ranking(single, sharded, text: str, opts) -> int:
    """Same scores (1e-6) rank by rank, and the same passages; passages whose scores are exactly equal
    may come in another order (ties break by passage id, which differs), so they are compared as sets,
    the last group of ties against the single index's deeper ranking."""
    import dataclasses

    a = single.search(text, opts).hits
    b = sharded.search(text, opts).hits
    assert len(a) == len(b), text
    assert [h.score for h in b] == pytest.approx([h.score for h in a], abs=1e-6), text
    for h, g in zip(a, b, strict=True):
        assert g.scores == pytest.approx(h.scores, abs=1e-6), text
    deeper = single.search(text, dataclasses.replace(opts, limit=opts.limit * 3)).hits
    groups: dict[float, set] = {}
    for h in deeper:
        groups.setdefault(round(h.score, 6), set()).add(_key(h))
    for h, g in zip(a, b, strict=True):
        if _key(h) != _key(g):
            assert round(h.score, 6) == round(g.score, 6) and _key(g) in groups[round(h.score, 6)], (
                text,
                h,
                g,
            )
    return len(a)


QUERIES = [
    # (text, mode, filters)
    ("missile", "keyword", {}),  # one word
    ("Russian troops crossed the border", "keyword", {}),  # bag of words: AND-first then OR
    ('"chemical weapons"', "keyword", {}),  # phrase: Whoosh scores it
    ("NATO AND Russia", "keyword", {}),
    ("Syria NOT chemical", "keyword", {}),
    ("Ukraine", "keyword", {"since": "2022-03-01", "until": "2022-06-30"}),  # date filter
    ("western media lies", "hybrid", {}),
    ("the shelling of civilians in Mariupol", "hybrid", {}),
    ("chemical attack staged", "hybrid", {"sources": "__top__"}),  # source filter: the commonest source
    ("sanctions against Russia", "semantic", {}),
    ("Kyiv", "hybrid", {"since": "2022-01-01"}),
    ("Putin said", "keyword", {"where": "__meta__"}),  # --where on a metadata field (a value of the data)
]


@requires_shared
@pytest.mark.parametrize(("text", "mode", "filt"), QUERIES, ids=[f"{m}:{t}" for t, m, _ in QUERIES])
def test_sharded_ranks_as_one_index(searchers, text, mode, filt):
    from search.options import SearchOptions
    from search.query import Filters

    single, sharded = searchers
    if filt.get("where") == "__meta__":
        value = _some_metadata_value(single, single.manifest.metadata_fields)
        filt = {"where": Filters.parse_where([value])}
    if filt.get("sources") == "__top__":
        sources = single.catalog.stats()["sources"]
        filt = {"sources": [next(iter(sources))]}
    opts = SearchOptions(mode=mode, limit=10, filters=Filters(**filt))
    n = assert_same_ranking(single, sharded, text, opts)
    assert n > 0, f"{text}: no hits, the comparison would be empty"


VARIANTS = [  # the rest of the contract: each runs once over the merged candidates
    ("Russian missile strike", {"around": "2022-03-15"}),  # the date leg
    ("chemical attack", {"group_by": "article"}),
    ("chemical attack", {"cluster": True}),
    ("sanctions against Russia", {"threshold": 0.3}),  # cosines of keyword-only rows too
    ("Ukraine war", {"offset": 5}),  # a later page of the same ranking
    ("NATO expansion", {"fusion": "rrf"}),
    ("Syrian army offensive", {"operator": "or", "mode": "keyword"}),
    ("chemi* Syria", {"mode": "keyword"}),  # a wildcard: Whoosh answers it on every shard
]


@requires_shared
@pytest.mark.parametrize(("text", "kw"), VARIANTS, ids=[f"{t}:{sorted(k)}" for t, k in VARIANTS])
def test_sharded_ranks_as_one_index_with_every_option(searchers, text, kw):
    from search.options import SearchOptions

    single, sharded = searchers
    assert assert_same_ranking(single, sharded, text, SearchOptions(**{"limit": 10, **kw})) > 0


def _some_metadata_value(searcher, fields: list[str]) -> str:
    for row in searcher.catalog.iter_passages():
        for k in fields:
            v = row["metadata"].get(k)
            if isinstance(v, str) and v.strip().isalnum() and len(v) < 40:
                return f"{k}={v}"
    raise AssertionError(f"no short metadata value among {fields}")


@requires_shared
def test_passages_are_split_over_every_shard_with_unique_ids(pair, searchers):
    from index.shards import SHARD_BASE

    single, sharded = searchers
    ids = sharded.catalog.passage_ids()
    assert len(ids) == len(single.catalog.passage_ids())
    assert {i // SHARD_BASE for i in ids} == set(range(SHARDS))  # every shard holds some
    rows = sharded.catalog.passages(ids)
    assert len({(r["article_id"], r["start"], r["end"]) for r in rows.values()}) == len(ids)


@requires_shared
@pytest.mark.parametrize("text", ["missile", "Russia Ukraine", '"chemical weapons"'])
def test_facet_counts_equal_one_index(searchers, text):
    from search.facets import FACETS, facets

    single, sharded = searchers
    a = facets(single, text, by=FACETS, top=None)
    b = facets(sharded, text, by=FACETS, top=None)
    assert a.matches == b.matches > 0
    assert a.counts == b.counts
    # by hand: the source counts are the matches' sources, counted row by row
    pids = [p for p, _, _ in sharded.iter_ranked(text, _facet_opts())]
    by_source: dict[str, int] = {}
    for row in sharded.catalog.passages(pids).values():
        if row["source"]:
            by_source[row["source"]] = by_source.get(row["source"], 0) + 1
    assert dict(b.counts["source"]) == by_source


def _facet_opts():
    from search.options import SearchOptions

    return SearchOptions(mode="keyword", limit=0)


@requires_shared
def test_similar_and_show_by_a_global_id(searchers):
    single, sharded = searchers
    top = sharded.search("chemical attack", _limit(3)).hits[0]
    from search.passage import passage_view

    row = passage_view(sharded, top.passage_id)
    assert (row["article_id"], row["start"], row["end"]) == _key(top)
    assert all(n["article_id"] == row["article_id"] for n in row["neighbours"])
    a = single.similar(passage_id=_single_pid(single, top)).hits
    b = sharded.similar(passage_id=top.passage_id).hits
    assert [_key(h) for h in b][:5] == [_key(h) for h in a][:5]
    assert [h.score for h in b] == pytest.approx([h.score for h in a], abs=1e-6)


def _limit(k: int):
    from search.options import SearchOptions

    return SearchOptions(limit=k)


def _single_pid(single, hit) -> int:
    for pid, row in single.catalog.passages(single.catalog.passage_ids()).items():
        if (row["article_id"], row["start"], row["end"]) == _key(hit):
            return pid
    raise AssertionError("passage not in the single index")


@requires_shared
def test_every_read_command_works_on_the_sharded_index(pair, cli, tmp_path):
    single, sharded, inputs = pair
    for args in (("stats", "--json"), ("check", "--json")):
        r = cli(*args, "--index", sharded)
        assert r.exit_code == 0, r.stderr
    st = json.loads(cli("stats", "--json", "--index", sharded).stdout)
    one = json.loads(cli("stats", "--json", "--index", single).stdout)
    assert (st["articles"], st["passages"], st["sources"]) == (
        one["articles"],
        one["passages"],
        one["sources"],
    )
    assert [s["number"] for s in st["shards"]] == list(range(SHARDS))
    r = cli("search", "missile", "--mode", "keyword", "--json", "--index", sharded)
    assert r.exit_code == 0 and r.stdout.strip()
    pid = json.loads(r.stdout.splitlines()[0])["passage_id"]
    assert cli("show", pid, "--json", "--index", sharded).exit_code == 0
    assert cli("similar", "--id", pid, "--json", "--index", sharded).exit_code == 0
    assert cli("facets", "missile", "--json", "--index", sharded).exit_code == 0
    out_a, out_b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert cli("export", "missile", "-o", out_a, "--mode", "keyword", "--index", single).exit_code == 0
    assert cli("export", "missile", "-o", out_b, "--mode", "keyword", "--index", sharded).exit_code == 0
    rows_a = [r for r in map(json.loads, out_a.read_text().splitlines()) if "manifest" not in r]
    rows_b = [r for r in map(json.loads, out_b.read_text().splitlines()) if "manifest" not in r]
    assert rows_a and len(rows_a) == len(rows_b)
    assert [r["score"] for r in rows_b] == pytest.approx([r["score"] for r in rows_a], abs=1e-6)
    qfile = tmp_path / "q.tsv"
    qfile.write_text("q1\tchemical attack\nq2\tsanctions against Russia\n", encoding="utf-8")
    runs = []
    for index in (single, sharded):
        r = cli("search", "--queries", qfile, "--format", "trec", "-o", "-", "--index", index)
        assert r.exit_code == 0, r.stderr
        runs.append([float(line.split()[4]) for line in r.stdout.splitlines()])  # qid Q0 doc rank score tag
    assert runs[1] == pytest.approx(runs[0], abs=1e-6) and runs[0]
    from index.shards import create

    create(tmp_path / "empty", 2)  # serve (test_serve_a_sharded_index_...) refuses a sharded index of nothing
    r = cli("serve", "--index", tmp_path / "empty")
    assert r.exit_code == 2 and "holds nothing yet" in r.stderr and len(r.stderr.strip().splitlines()) == 1


@requires_shared
def test_reingest_routes_to_the_same_shards(pair, copy_index, tmp_path):
    from index.shard_ingest import ingest_sharded
    from index.shards import article_ids, read_shards
    from search.shard_admin import sharded_check

    _, sharded, inputs = pair
    copy = copy_index(sharded)
    report = ingest_sharded(copy, inputs)
    assert report.added == report.updated == 0 and report.unchanged > 0
    # a changed article replaces its passages in the shard that holds it, wherever its hash points
    first = json.loads(inputs[0].read_text(encoding="utf-8").splitlines()[0])
    holder = [n for n, d in read_shards(copy).dirs(copy) if first["id"] in article_ids(d, _gen(d))]
    changed = tmp_path / "changed.jsonl"
    changed.write_text(json.dumps({**first, "text": first["text"] + " Added sentence about drones."}) + "\n")
    report = ingest_sharded(copy, [changed])
    assert (report.added, report.updated) == (0, 1)
    assert [n for n, d in read_shards(copy).dirs(copy) if first["id"] in article_ids(d, _gen(d))] == holder
    assert sharded_check(copy)["ok"]


def _gen(d: Path) -> int:
    from index.manifest import read_manifest

    return read_manifest(d).generation


# -- by hand: BM25F with global statistics on two tiny shards -----------------------------------
K1, B = 1.2, 0.75
TINY = [  # (text, title): no stop words, one sentence each, every text <= 10 tokens (exact lengths)
    ("Bayraktar drones struck convoys near Kherson.", "Convoy report"),  # 6 tokens
    ("Bayraktar Bayraktar Bayraktar footage.", "Drone footage"),  # 4
    ("Artillery shelling continued overnight.", "Shelling update"),  # 4
    ("Patriot batteries moved east.", "Air defence"),  # 4
]


def _two_shard_ids() -> list[str]:
    """Article ids for TINY such that d0 and d1 (both with Bayraktar) land on different shards."""
    from index.shards import route

    ids = [f"tiny-{i}" for i in range(40)]
    zero = [a for a in ids if route(a, [0, 1]) == 0]
    one = [a for a in ids if route(a, [0, 1]) == 1]
    return [zero[0], one[0], zero[1], one[1]]


def _bm25(idf: float, tf: float, fl: float, avgfl: float) -> float:
    return idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * fl / avgfl))


@pytest.fixture(scope="module")
def tiny_sharded(tmp_path_factory) -> Path:
    from index.shard_ingest import ingest_sharded

    root = tmp_path_factory.mktemp("tiny-shards")
    src = root / "tiny.jsonl"
    ids = _two_shard_ids()
    src.write_text(
        "".join(
            json.dumps({"id": i, "text": t, "title": title, **({"desk": "kyiv"} if i == ids[0] else {})})
            + "\n"
            for i, (t, title) in zip(ids, TINY, strict=True)
        ),
        encoding="utf-8",
    )
    ingest_sharded(root / "index", [src], shards=2, extract=False)
    return root / "index"


def test_bm25f_over_two_shards_by_hand(tiny_sharded):
    from search.searcher import Searcher

    with Searcher(tiny_sharded) as s:
        assert_bm25f_by_hand(s)


def assert_bm25f_by_hand(s) -> None:
    """BM25F from the formula with the global statistics of ``tiny_sharded``, against ``s``'s scores."""
    from search.options import SearchOptions

    n = 4  # documents over both shards
    avgfl = (6 + 4 + 4 + 4) / n  # text field: summed exact token counts over the summed count
    idf = math.log(n / (2 + 1)) + 1  # "bayraktar": df 2 (d0 on shard 0, d1 on shard 1)
    want = {
        "Bayraktar Bayraktar Bayraktar footage.": _bm25(idf, 3, 4, avgfl),
        "Bayraktar drones struck convoys near Kherson.": _bm25(idf, 1, 6, avgfl),
    }
    got = {h.text: h.score for h in s.search("bayraktar", SearchOptions(mode="keyword")).hits}
    assert got == pytest.approx(want, rel=1e-9)
    # the shard's own statistics (df 1 of 2 documents) would give another score: the check can fail
    local = _bm25(math.log(2 / 2) + 1, 3, 4, 4.0)
    assert abs(local - want["Bayraktar Bayraktar Bayraktar footage."]) > 0.05
    # coordination: shard 1 (d1) lacks "artillery", yet the query's term count is 2 there too (the
    # index's, not the shard's): d1 gets the same (m - 1) / (n - 0.9)**2 rule as d0
    idf_art = math.log(n / (1 + 1)) + 1
    got2 = {
        h.text: h.score
        for h in s.search("bayraktar artillery", SearchOptions(mode="keyword", operator="or")).hits
    }
    coord = lambda score, m: (score + (m - 1) / (2 - 0.9) ** 2) * (2 - 1) / 2  # noqa: E731
    assert got2 == pytest.approx(
        {
            "Bayraktar Bayraktar Bayraktar footage.": coord(_bm25(idf, 3, 4, avgfl), 1),
            "Bayraktar drones struck convoys near Kherson.": coord(_bm25(idf, 1, 6, avgfl), 1),
            "Artillery shelling continued overnight.": coord(_bm25(idf_art, 1, 4, avgfl), 1),
        },
        rel=1e-9,
    )


def test_shard_add_builds_the_same_sharded_index_from_existing_indexes(tiny_sharded, tmp_path, cli):
    from index.shards import read_shards
    from search.options import SearchOptions
    from search.searcher import Searcher

    new = tmp_path / "added"
    for _, d in read_shards(tiny_sharded).dirs(tiny_sharded):
        r = cli("shard", "add", d, "--index", new)
        assert r.exit_code == 0, r.stderr
    assert read_shards(new).route == []  # added shards take no new articles by hash
    opts = SearchOptions(mode="keyword")
    with Searcher(tiny_sharded) as a, Searcher(new) as b:
        got_a = [(h.passage_id, h.text, h.score) for h in a.search("bayraktar artillery", opts).hits]
        got_b = [(h.passage_id, h.text, h.score) for h in b.search("bayraktar artillery", opts).hits]
    assert got_b == got_a and len(got_a) == 3
    # the same folder twice, a sharded folder, an ordinary --index: one line each, exit 2
    first = read_shards(tiny_sharded).dirs(tiny_sharded)[0][1]
    for args, words in (
        ((first, "--index", new), "already shard 0"),
        ((tiny_sharded, "--index", tmp_path / "x"), "sharded index"),
        ((first, "--index", first), "ordinary index"),
    ):
        r = cli("shard", "add", *args)
        assert r.exit_code == 2 and words in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_ingest_shards_refuses_a_mismatch_and_bad_ray_options(tiny_sharded, tmp_path, cli):
    src = tmp_path / "a.jsonl"
    src.write_text(json.dumps({"id": "x", "text": "Patriot batteries moved west."}) + "\n")
    for args, words in (
        (("--shards", "3", "--index", tiny_sharded), "over 2 shards, not 3"),
        (("--shards", "0", "--index", tmp_path / "n"), "--shards 0"),
        (("--shards", "2", "--ray", "local", "--workers", "0", "--index", tmp_path / "n"), "--workers 0"),
    ):
        r = cli("ingest", src, *args)
        assert r.exit_code == 2 and words in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_tune_refuses_a_sharded_index_in_one_line(tiny_sharded, tmp_path, cli):
    (tmp_path / "q.tsv").write_text("q1\tBayraktar drones\n")
    (tmp_path / "q.qrels").write_text("q1 0 x 1\n")
    for args in (("--queries", tmp_path / "q.tsv", "--qrels", tmp_path / "q.qrels"), ("--revert",)):
        r = cli("tune", *args, "--index", tiny_sharded)
        assert r.exit_code == 2 and "sharded index" in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1


def test_a_where_key_only_one_shard_knows_filters_instead_of_failing(tiny_sharded):
    from search.options import SearchOptions
    from search.query import Filters
    from search.searcher import Searcher

    with Searcher(tiny_sharded) as s:
        assert [set(sh.manifest.metadata_fields) for _, sh in s.shards] == [{"desk"}, set()]
        for mode in ("keyword", "hybrid"):
            opts = SearchOptions(mode=mode, filters=Filters(where=Filters.parse_where(["desk=kyiv"])))
            hits = s.search("bayraktar", opts).hits
            assert [h.text for h in hits] == ["Bayraktar drones struck convoys near Kherson."]


# -- the same search fanned out over Ray actors (marker ray; skipped without Ray) ------------------
needs_ray = pytest.mark.skipif(not HAS_RAY, reason="needs Ray for --ray: pip install -e '.[ray]'")


@pytest.fixture(scope="module")
def ray_sharded(pair, ray_cluster):
    """The sharded index of ``pair`` with one Ray actor per shard (``search.shard_exec.RayShards``)."""
    from search.shard_exec import RayShards, open_ray

    with open_ray(pair[1], address="local") as s:
        assert isinstance(s.exec, RayShards) and len(s.exec.actors) == SHARDS and s.shards == []
        yield s


RAY_QUERIES = [*QUERIES, ("chemi* Syria", "keyword", {}), ("Russian missile strike", "hybrid", {"offset": 5})]


@pytest.mark.ray
@needs_ray
@requires_shared
@pytest.mark.parametrize(("text", "mode", "filt"), RAY_QUERIES, ids=[f"{m}:{t}" for t, m, _ in RAY_QUERIES])
def test_ray_fan_out_ranks_as_the_in_process_shards(searchers, ray_sharded, text, mode, filt):
    from search.options import SearchOptions
    from search.query import Filters

    single, sharded = searchers
    extra = {k: filt.pop(k) for k in ("offset",) if k in filt}
    if filt.get("where") == "__meta__":
        filt = {"where": Filters.parse_where([_some_metadata_value(single, single.manifest.metadata_fields)])}
    if filt.get("sources") == "__top__":
        filt = {"sources": [next(iter(single.catalog.stats()["sources"]))]}
    opts = SearchOptions(mode=mode, limit=10, filters=Filters(**filt), **extra)
    a = sharded.search(text, opts).hits
    b = ray_sharded.search(text, opts).hits
    assert [h.passage_id for h in b] == [h.passage_id for h in a] and a, text
    assert [h.score for h in b] == pytest.approx([h.score for h in a], abs=1e-6)
    for h, g in zip(a, b, strict=True):
        assert g.scores == pytest.approx(h.scores, abs=1e-6) and g.text == h.text


@pytest.mark.ray
@needs_ray
@requires_shared
def test_ray_fan_out_facets_and_similar_equal_the_in_process_shards(searchers, ray_sharded):
    from search.facets import FACETS, facets

    _, sharded = searchers
    for text in ("missile", '"chemical weapons"'):
        a, b = facets(sharded, text, by=FACETS, top=None), facets(ray_sharded, text, by=FACETS, top=None)
        assert a.matches == b.matches > 0 and a.counts == b.counts
    pid = sharded.search("Kinzhal missile").hits[0].passage_id
    a, b = sharded.similar(passage_id=pid).hits, ray_sharded.similar(passage_id=pid).hits
    assert [(h.passage_id, round(h.score, 6)) for h in b] == [(h.passage_id, round(h.score, 6)) for h in a]
    assert a and pid not in {h.passage_id for h in b}


@pytest.mark.ray
@needs_ray
def test_bm25f_by_hand_on_ray_actors(tiny_sharded, ray_cluster):
    from index.errors import ClaimsError
    from search.options import SearchOptions
    from search.shard_exec import open_ray

    with open_ray(tiny_sharded, address="local") as s:
        assert_bm25f_by_hand(s)
        ray_cluster.kill(s.exec.actors[1])  # a shard's actor dies: one error naming the fix, no hang
        with pytest.raises(ClaimsError, match="actor of a shard died.*run the command again"):
            s.search("bayraktar", SearchOptions(mode="keyword"))


@pytest.mark.ray
@needs_ray
@requires_shared
def test_read_commands_with_ray_print_what_they_print_in_process(pair, ray_cluster, cli, tmp_path):
    _, sharded, _ = pair
    for args in (
        ("search", "chemical attack staged", "--json"),
        ("search", "Kyiv", "--mode", "keyword", "--since", "2022-01-01", "--json"),
        ("facets", "missile", "--json"),
    ):
        plain = cli(*args, "--index", sharded)
        fanned = cli(*args, "--index", sharded, "--ray", "local")
        assert plain.exit_code == fanned.exit_code == 0, fanned.stderr
        assert fanned.stdout == plain.stdout and plain.stdout.strip(), args
    first = json.loads(cli("search", "missile", "--json", "--index", sharded).stdout.splitlines()[0])
    plain = cli("similar", "--id", str(first["passage_id"]), "--json", "--index", sharded)
    fanned = cli("similar", "--id", str(first["passage_id"]), "--json", "--index", sharded, "--ray", "local")
    assert fanned.exit_code == 0 and fanned.stdout == plain.stdout and plain.stdout.strip()
    for out, more in ((tmp_path / "a.jsonl", ()), (tmp_path / "b.jsonl", ("--ray", "local"))):
        r = cli("export", "Russian troops", "-o", out, "--index", sharded, *more)
        assert r.exit_code == 0, r.stderr
    rows = [(tmp_path / n).read_text().splitlines()[1:] for n in ("a.jsonl", "b.jsonl")]
    assert rows[0] == rows[1] and len(rows[0]) > 10
    # an ordinary index: one line naming the fix, exit 2
    r = cli("search", "missile", "--index", pair[0], "--ray", "local")
    assert r.exit_code == 2 and "drop --ray" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_search_ray_flag_without_ray_installed_names_the_extra(tmp_path):
    """``--ray`` on a read command without Ray: one line naming the extra, exit 2, no model loaded."""
    import subprocess
    import sys

    from tests.integration.conftest import ROOT

    code = (
        "import sys\n"
        "sys.modules['ray'] = None\n"
        "from cli import app\n"
        "try:\n"
        f"    app(['search', 'missile', '--ray', 'local', '--index', {str(tmp_path)!r}], standalone_mode=True)\n"
        "finally:\n"
        "    print('heavy:', sorted(m for m in ('torch', 'sentence_transformers', 'faiss') if m in sys.modules))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.returncode == 2 and len(lines) == 1 and "pip install -e '.[ray]'" in lines[0], r.stderr
    assert "heavy: []" in r.stdout


# -- claims serve on a sharded index ---------------------------------------------------------------
@requires_shared
def test_serve_a_sharded_index_answers_as_the_cli_and_reloads_per_shard(pair, copy_index, cli, tmp_path):
    """The real HTTP server on loopback: the same hits, byte for byte, as ``claims search --json`` on
    the sharded index; a commit to one shard is served as a new generation (the shards' sum)."""
    import urllib.request
    from urllib.parse import urlencode

    from index.shard_ingest import ingest_sharded
    from search.serve import create_app
    from search.serve.background import BackgroundServer

    index = copy_index(pair[1])
    with BackgroundServer(create_app(index)) as srv:
        for q, flags in (
            ("Kyiv missile strike", []),
            ("Russia", ["--mode", "keyword", "--limit", "7"]),
            ('"chemical weapons"', ["--mode", "keyword"]),
            ("sanctions against Moscow", ["--mode", "semantic", "--limit", "5"]),
            ("NATO expansion", ["--since", "2022-01-01"]),
        ):
            want = cli("search", q, "--index", index, "--json", *flags)
            assert want.exit_code == 0 and want.stdout.strip(), want.stderr
            params = [("q", q), ("format", "jsonl")] + [
                ({"--limit": "k"}.get(k, k.lstrip("-")), v)
                for k, v in zip(flags[::2], flags[1::2], strict=True)
            ]
            with urllib.request.urlopen(f"{srv.url}/api/search?{urlencode(params)}", timeout=60) as r:
                assert r.read().decode("utf-8").splitlines() == want.stdout.splitlines(), q
        with urllib.request.urlopen(f"{srv.url}/api/stats", timeout=60) as r:
            stats = json.loads(r.read())
        assert len(stats["shards"]) == SHARDS and stats["served_generation"] == SHARDS  # one commit each
        src = tmp_path / "new.jsonl"
        src.write_text(
            json.dumps({"id": "zq-1", "text": "Zorblatt drones struck a depot near Izium."}) + "\n"
        )
        ingest_sharded(index, [src], extract=False)  # one shard commits
        with urllib.request.urlopen(f"{srv.url}/api/search?{urlencode({'q': 'zorblatt'})}", timeout=60) as r:
            got = json.loads(r.read())
        assert [h["article_id"] for h in got["hits"]] == ["zq-1"] and got["generation"] == SHARDS + 1
