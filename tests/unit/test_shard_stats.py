"""``search.shard_exec.GlobalStats``: the DFS phase's merge of per-shard statistics, by hand."""

from __future__ import annotations

import math
from types import SimpleNamespace

from whoosh.query import Prefix

from index.analysis import build_schema
from search.shard_exec import GlobalStats, ShardStats


def _two_shards() -> GlobalStats:
    a = ShardStats(3, {"text": 12}, {("text", b"drone"): 1}, {Prefix("text", "dr"): [b"drone", b"drill"]})
    b = ShardStats(
        2, {"text": 8}, {("text", b"drone"): 2, ("text", b"tank"): 1}, {Prefix("text", "dr"): [b"drive"]}
    )
    return GlobalStats([a, b])


def test_document_counts_frequencies_and_lengths_are_summed():
    g = _two_shards()
    assert g.doc_count == 5 and g.field_lengths == {"text": 20}
    assert g.df == {("text", b"drone"): 3, ("text", b"tank"): 1}
    # Whoosh's idf, ln(N / (df + 1)) + 1, with N = 3 + 2 and df = 1 + 2
    assert math.isclose(g.idf("text", b"drone"), math.log(5 / 4) + 1)
    assert math.isclose(g.avg_field_length("text"), 20 / 5)
    assert g.avg_field_length("date", default=None) is None  # not scorable: Whoosh's default


def test_terms_any_shard_holds_count_and_expansions_are_united_in_lexicon_order():
    g = _two_shards()
    assert g.term_present("text", b"tank") and not g.term_present("text", b"ship")
    assert g.expansions == {Prefix("text", "dr"): [b"drill", b"drive", b"drone"]}


def test_installed_stats_answer_text_as_well_as_bytes():
    g = _two_shards()
    searcher = SimpleNamespace(schema=build_schema())
    g.install(searcher)
    assert searcher.idf("text", "drone") == g.idf("text", b"drone")
    assert searcher.claims_term_present("text", b"drone") and searcher.claims_expansions is g.expansions
