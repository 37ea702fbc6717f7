"""Semantic and similar-claims search with the real model and FAISS: paraphrases, clusters, filters."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from index.embed import resolve_model
from index.errors import ModelMismatchError
from index.ingest import ingest, reindex
from search.admin import check_index
from search.query import Filters
from search.searcher import Searcher, SearchOptions

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
requires_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"needs the shared data folder {SHARED} (seeds, corpora); it is absent"
)


def semantic(searcher: Searcher, text: str, limit: int = 10, **kw):
    return searcher.search(text, SearchOptions(mode="semantic", limit=limit, **kw)).hits


def passages_where(searcher: Searcher, keep) -> list[dict]:
    return [p for p in searcher.catalog.iter_passages() if keep(p)]


# -- paraphrases ------------------------------------------------------------------------------------
@requires_shared
def test_paraphrase_of_a_seed_sentence_finds_it_first(sample_searcher):
    original = (
        "Russia has reportedly sent three planes carrying hypersonic missiles to an exclave between two NATO "
        "members for around-the-clock combat duty amid fears of war between the alliance and President "
        "Vladimir Putin’s army."
    )
    assert original in (SHARED / "seeds" / "000_5252c1565235be4e.txt").read_text(encoding="utf-8")
    paraphrase = (
        "Moscow is said to have dispatched three aircraft armed with hypersonic weapons to a territory "
        "squeezed between two alliance states, to stay on combat alert day and night as fears grow of a war "
        "between NATO and Putin's forces."
    )
    got = semantic(sample_searcher, paraphrase)
    assert got[0].text == original
    assert [h.score for h in got] == sorted((h.score for h in got), reverse=True)

    paraphrase = "Putin said Russia had no option but to build the missiles because of the threats around it."
    top = semantic(sample_searcher, paraphrase)[0]
    assert top.article_id == "seeds/003_aa9f8dce181c1ead"
    assert top.text.startswith("Because of the surrounding dangers, Putin claimed")


def test_paraphrase_of_a_sample_sentence_finds_it_first(sample_searcher):
    original = (
        "Ukraine’s General Staff said about 400 Russian soldiers were killed and around 300 wounded, but gave "
        "no evidence for its figures."
    )
    assert original in (ROOT / "samples" / "articles" / "05_himars_makiivka_toll.txt").read_text("utf-8")
    paraphrase = (
        "Kyiv's military command claimed roughly four hundred Russian troops died and some three hundred were "
        "injured, without offering proof."
    )
    top = semantic(sample_searcher, paraphrase)[0]
    assert top.article_id == "articles/05_himars_makiivka_toll" and original in top.text
    assert top.highlights == [] or all(0 <= a < b <= len(top.text) for a, b in top.highlights)


# -- similar ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
def test_similar_by_id_leaves_the_passage_itself_out(sample_searcher, mode):
    first = min(
        passages_where(sample_searcher, lambda p: p["article_id"] == "articles/01_kinzhal_kaliningrad"),
        key=lambda p: p["ordinal"],
    )
    pid = first["passage_id"]
    for cluster in (True, False):
        result = sample_searcher.similar(
            passage_id=pid, opts=SearchOptions(mode=mode, limit=10, cluster=cluster)
        )
        assert len(result.hits) == 10
        assert pid not in {h.passage_id for h in result.hits}
        members = {m["passage_id"] for h in result.hits for m in (h.cluster or {}).get("members", [])}
        assert pid not in members
    # samples/README: 03 re-reports 01's claim (three Kinzhal-armed jets to Kaliningrad) in other words.
    near = sample_searcher.similar(passage_id=pid, opts=SearchOptions(mode="semantic", limit=5)).hits
    assert "articles/03_baltic_exclave_jets" in {h.article_id for h in near}


def test_cli_similar_by_id_leaves_the_passage_itself_out(cli, sample_index, sample_searcher):
    pid = min(sample_searcher.catalog.passage_ids())
    r = cli("similar", "--id", pid, "--json", "-k", "5", "--index", sample_index)
    assert r.exit_code == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(rows) == 5 and pid not in {row["passage_id"] for row in rows}


# -- near-duplicate clusters on real data ---------------------------------------------------------------
@pytest.mark.slow
@requires_shared
def test_duplicate_records_cluster_with_their_count_and_first_seen_date(corpora_searcher, corpora_subset):
    records = corpora_subset.records["euvsdisinfo-2015-2017"]
    by_id = {r["id"]: r for r in records}
    groups: dict[str, set[str]] = {}
    for r in records:
        if r.get("duplicate_of") and (r.get("text") or "").strip():
            groups.setdefault(r["duplicate_of"], {r["duplicate_of"]}).add(r["id"])
    groups = {root: ids for root, ids in groups.items() if root in by_id}
    assert len(groups) >= 3, "the first records of euvsdisinfo hold several duplicate groups"

    s = corpora_searcher
    for root, ids in groups.items():
        first = min(
            passages_where(s, lambda p, root=root: p["article_id"] == root), key=lambda p: p["ordinal"]
        )
        # Every record whose text holds this passage word for word carries the same claim.
        carriers = {
            r["id"] for recs in corpora_subset.records.values() for r in recs if first["text"] in r["text"]
        }
        assert ids <= carriers
        hits = semantic(s, first["text"], limit=5, cluster=True)
        top = hits[0]
        assert top.cluster is not None
        members = {m["article_id"] for m in top.cluster["members"]}
        assert members == carriers, root
        assert top.cluster["size"] == len(carriers) == len(top.cluster["members"])
        dates = [by_id[i]["date"] for i in carriers if i in by_id and by_id[i].get("date")]
        assert top.cluster["first_seen"] == min(dates)
        assert all(h.cluster["size"] >= 1 for h in hits)


# -- filters inside the FAISS leg ------------------------------------------------------------------------
def test_filtered_semantic_search_returns_k_whenever_k_passages_match(sample_searcher):
    """The FAISS filter's mechanics, so with no minimum similarity (the queries are unrelated on purpose);
    with the default minimum the same unrelated query has no hits (the last lines)."""
    s = sample_searcher
    # Only article 02 is dated December 2021 (its header says 2021-12-24), the seed 003 is 2021-11-30.
    december = {p["passage_id"] for p in passages_where(s, lambda p: (p["date"] or "").startswith("2021-12"))}
    assert 3 <= len(december) < 50
    f = Filters(since="2021-12-01", until="2021-12-31")
    unrelated = "farmers resumed the grain harvest despite mines in their fields"
    got = semantic(s, unrelated, limit=3, filters=f, min_similarity=None)
    assert len(got) == 3 and {h.passage_id for h in got} <= december
    got = semantic(s, unrelated, limit=len(december) + 5, filters=f, min_similarity=None)
    assert {h.passage_id for h in got} == december, "every matching passage, not just those in the top 100"
    assert semantic(s, unrelated, limit=3, filters=f) == []  # issue 11 item 8: no padding


@pytest.mark.slow
@requires_shared
def test_filtered_semantic_search_on_small_sources_of_the_corpora(corpora_searcher, corpora_subset):
    s = corpora_searcher
    fakes = corpora_subset.records["fakes-syria-war"]
    counts = {src: sum(r["source"] == src for r in fakes) for src in {r["source"] for r in fakes}}
    small = min(counts, key=counts.get)
    n = len(passages_where(s, lambda p: p["source"] == small))
    assert n > 0
    query = "Ukrainian techno music collective in Kyiv"  # far from anything in the Syrian war corpus
    for k in (1, min(10, n), n):  # the filter's mechanics: no minimum similarity
        got = semantic(s, query, limit=k, filters=Filters(sources=[small]), min_similarity=None)
        assert len(got) == k and {h.source for h in got} == {small}
    got = semantic(s, query, limit=10, filters=Filters(where=[("language", "Czech")]), min_similarity=None)
    czech = passages_where(s, lambda p: p["metadata"].get("language") == "Czech")
    assert len(got) == min(10, len(czech)) and all(h.metadata["language"] == "Czech" for h in got)


# -- model mismatch ------------------------------------------------------------------------------------
@pytest.fixture
def other_model(tmp_path) -> str:
    """The bundled model under another folder name: a different model name as far as the index can tell."""
    _, path = resolve_model(None)
    other = tmp_path / "other-minilm"
    shutil.copytree(path, other, symlinks=True)
    return str(other)


def test_a_query_model_other_than_the_index_model_is_refused(sample_index, other_model, cli, copy_index):
    assert resolve_model(other_model)[0] != resolve_model(None)[0]
    with Searcher(sample_index, model=other_model) as s, pytest.raises(ModelMismatchError):
        s.search("hypersonic missiles", SearchOptions(mode="semantic"))
    r = cli("search", "hypersonic missiles", "--model", other_model, "--index", sample_index)
    assert r.exit_code == 2 and "Traceback" not in r.stderr
    assert "reindex" in r.stderr, "the message names the fix"
    # Keyword mode needs no model, so it still answers.
    with Searcher(sample_index, model=other_model) as s:
        assert s.search("hypersonic", SearchOptions(mode="keyword")).hits
    # Writing with another model is refused as well, and changes nothing.
    index = copy_index(sample_index)
    before = check_index(index)
    with pytest.raises(ModelMismatchError):
        ingest(index, [ROOT / "samples" / "articles"], model=other_model)
    assert check_index(index) == before


# -- round trip -----------------------------------------------------------------------------------------
QUERIES = [
    "three MiG-31 jets with Kinzhal missiles were sent to Kaliningrad",
    "Russian fighter collided with an American drone over the Black Sea",
]


def top(index: Path, text: str, mode: str) -> tuple[int, float]:
    with Searcher(index) as s:
        h = s.search(text, SearchOptions(mode=mode, limit=5)).hits[0]
        return h.passage_id, h.score


@pytest.mark.parametrize("mode", ["semantic", "keyword", "hybrid"])
def test_reopen_and_reindex_give_the_same_top_hit(sample_index, copy_index, mode):
    first = {q: top(sample_index, q, mode) for q in QUERIES}
    assert {q: top(sample_index, q, mode) for q in QUERIES} == first, "reopening changes nothing"
    index = copy_index(sample_index)
    assert {q: top(index, q, mode) for q in QUERIES} == first, "a copied folder is the same index"
    r = reindex(index)
    assert r["embedded"] == 0, "every vector comes from the cache"
    assert check_index(index)["ok"]
    again = {q: top(index, q, mode) for q in QUERIES}
    assert {q: pid for q, (pid, _) in again.items()} == {q: pid for q, (pid, _) in first.items()}
    for q in QUERIES:
        assert again[q][1] == pytest.approx(first[q][1], rel=1e-5)
