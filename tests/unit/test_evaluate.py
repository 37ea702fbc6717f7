"""Tests of search.evaluate: hand-computed metric values, CheckThat! averaging, file formats."""

from __future__ import annotations

import io
import math

import pytest

from index.errors import ClaimsError
from search.evaluate import (
    METRICS,
    evaluate,
    format_table,
    per_query,
    read_qrels,
    read_queries,
    read_run,
    write_trec_run,
)

QRELS = {"q1": {"a": 1, "b": 1, "x": 0}, "q2": {"c": 1}, "q3": {"d": 1}}
RUN = {
    "q1": [("x", 9.0), ("a", 8.0), ("y", 7.0), ("z", 6.0), ("w", 5.0), ("b", 4.0)],
    "q2": [("c", 3.0), ("e", 2.0)],
    "q9": [("d", 1.0)],  # not a gold query: ignored
}  # q3 has no results


def test_metrics_by_hand():
    # q1: R=2; a relevant at rank 2 (in the top 5), b at rank 6. q2: c at rank 1. q3: nothing.
    got = evaluate(RUN, QRELS)
    assert list(got) == list(METRICS)
    ndcg_q1 = (1 / math.log2(3) + 1 / math.log2(7)) / (1 + 1 / math.log2(3))
    want = {
        "MAP@1": (0 + 1 + 0) / 3,
        "MAP@5": ((1 / 2) / 2 + 1 + 0) / 3,
        "MRR": (1 / 2 + 1 + 0) / 3,
        "nDCG@10": (ndcg_q1 + 1 + 0) / 3,
        "R@100": (1 + 1 + 0) / 3,
    }
    assert got == pytest.approx(want, abs=1e-12)


def test_map5_is_checkthat_definition():
    """Sum of precision at the relevant ranks in the top 5, over the query's total relevant R."""
    # R=2, one relevant doc at rank 3 of the top 5: (1/3) / 2, not (1/3) / 1 (relevant found).
    qrels = {"q": {"r1": 1, "r2": 1}}
    run = {"q": [("n1", 5.0), ("n2", 4.0), ("r1", 3.0), ("n3", 2.0), ("n4", 1.0), ("r2", 0.5)]}
    assert evaluate(run, qrels, ["MAP@5"])["MAP@5"] == pytest.approx(1 / 6, abs=1e-12)
    # R=7, relevant at ranks 1 and 2: (1 + 1) / 7, not divided by min(R, 5) = 5.
    qrels = {"q": {f"r{i}": 1 for i in range(7)}}
    run = {"q": [("r0", 3.0), ("r1", 2.0), ("n", 1.0)]}
    assert per_query(run, qrels) == pytest.approx({"q": 2 / 7}, abs=1e-12)


def test_missing_query_counts_as_zero():
    run = {"q2": RUN["q2"]}
    assert per_query(run, QRELS, "MRR") == {"q1": 0.0, "q2": 1.0, "q3": 0.0}
    assert evaluate(run, QRELS, ["MRR"]) == {"MRR": pytest.approx(1 / 3, abs=1e-12)}
    assert evaluate({}, QRELS) == dict.fromkeys(METRICS, 0.0)


@pytest.mark.parametrize(
    ("ranked", "rr"),
    [
        ([("a", 1.0), ("b", 1.0)], 0.5),  # tied scores: our order, not trec_eval's docid tie-break
        ([("b", 1.0), ("a", 1.0)], 1.0),
        ([("a", 0.1), ("b", 0.9)], 0.5),  # only the order is used, never the scores
    ],
)
def test_ties_keep_our_order(ranked, rr):
    assert per_query({"q": ranked}, {"q": {"b": 1}}, "MRR") == {"q": rr}


def test_bad_metric_and_empty_qrels():
    with pytest.raises(ValueError, match="unknown metric 'MAPP@5'"):
        evaluate(RUN, QRELS, ["MAPP@5"])
    with pytest.raises(ValueError, match="no queries"):
        evaluate(RUN, {})


def test_read_queries(tmp_path):
    path = tmp_path / "queries.tsv"
    path.write_text("\ufeffq1\tMissiles\tover Kaliningrad \n\n q2 \tDrones\r\n", encoding="utf-8")
    assert read_queries(path) == {"q1": "Missiles\tover Kaliningrad", "q2": "Drones"}
    path.write_text("q1\tok\nq2 no tab\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"queries\.tsv:2: .*no tab"):
        read_queries(path)


def test_read_qrels(tmp_path):
    path = tmp_path / "q.qrels"
    path.write_text("q1 0 d1 1\nq1\t0\td2\t0\n\nq2 0 d3 2\n", encoding="utf-8")
    assert read_qrels(path) == {"q1": {"d1": 1, "d2": 0}, "q2": {"d3": 2}}
    path.write_text("q1 0 d1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"q\.qrels:1:"):
        read_qrels(path)


def test_run_round_trip(tmp_path):
    run = {"q1": [("7", 0.1 + 0.2), ("3", 0.3)], "q2": [("1", -2.5)]}
    buf = io.StringIO()
    write_trec_run(run, buf, "hybrid")
    assert buf.getvalue().splitlines()[0] == "q1 Q0 7 1 0.30000000000000004 hybrid"
    path = tmp_path / "out.run"
    path.write_text(buf.getvalue(), encoding="utf-8")
    assert read_run(path) == run
    with pytest.raises(ClaimsError, match="without spaces"):
        write_trec_run(run, io.StringIO(), "my tag")


def test_read_run_orders_by_rank_column(tmp_path):
    path = tmp_path / "shuffled.run"
    path.write_text("q1 Q0 b 2 0.5 t\nq1 Q0 a 1 0.9 t\n", encoding="utf-8")
    assert read_run(path) == {"q1": [("a", 0.9), ("b", 0.5)]}
    path.write_text("q1 Q0 a one 0.9 t\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"shuffled\.run:1:"):
        read_run(path)


def test_format_table():
    table = format_table({"bm25": {"MAP@5": 0.5, "MRR": 0.25}, "rrf": {"MAP@5": 2 / 3}})
    assert table == (
        "| run | MAP@5 | MRR |\n|---|---:|---:|\n| bm25 | 0.5000 | 0.2500 |\n| rrf | 0.6667 |  |\n"
    )


def test_query_file_date_column(tmp_path):
    from search.evaluate import read_queries, read_query_dates

    p = tmp_path / "q.tsv"
    p.write_text(
        "a\tRussia moved jets\t2022-02-01\nb\tno date here\nc\ttabs\tinside text\t2020-1-1\n",
        encoding="utf-8",
    )
    assert read_queries(p) == {
        "a": "Russia moved jets",
        "b": "no date here",
        "c": "tabs\tinside text\t2020-1-1",
    }
    assert read_query_dates(p) == {"a": "2022-02-01"}


def test_claim_date_and_around():
    from index.errors import QuerySyntaxError
    from search.query import claim_date, clean_claim_text, resolve_around

    tweet = "The Army is NOT contacting anyone pic.twitter.com/x — U.S. Army CGSC (@USACGSC) January 8, 2020"
    assert claim_date(tweet) == "2020-01-08"
    assert "2020" not in clean_claim_text(tweet)  # cleaning drops it from the text; --around auto keeps it
    assert claim_date("no signature, January 8, 2020") is None
    assert resolve_around("auto", tweet) == "2020-01-08"
    assert resolve_around("2022-3-1") == "2022-03-01"
    assert resolve_around("off", tweet) is None and resolve_around(None, tweet) is None
    with pytest.raises(QuerySyntaxError, match="--around"):
        resolve_around("last tuesday-ish")
