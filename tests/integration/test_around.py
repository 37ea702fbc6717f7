"""``--around``: the date-proximity leg, through the CLI on the real sample index (real Whoosh, FAISS, model)."""

from __future__ import annotations

import json

ROOT_QUERY = "Russian missiles"


def hits(result) -> list[dict]:
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return [r for r in rows if "passage_id" in r]  # --explain adds its own line


def test_around_moves_passages_of_that_day_up_and_shows_its_leg(sample_index, cli):
    plain = cli("search", ROOT_QUERY, "--json", "-k", "20", "--index", sample_index)
    assert plain.exit_code == 0
    rows = hits(plain)
    dates = [r["date"][:10] for r in rows if r["date"]]
    assert len(set(dates)) >= 3, "the query should match articles of several dates"
    target = next(d for d in reversed(dates) if d != dates[0])  # a date that is not the top hit's
    got = cli(
        "search",
        ROOT_QUERY,
        "--json",
        "-k",
        "20",
        "--around",
        target,
        "--around-weight",
        "3",
        "--index",
        sample_index,
    )
    assert got.exit_code == 0
    ranked = hits(got)
    assert ranked[0]["date"][:10] == target
    assert "date" in ranked[0]["scores"] and ranked[0]["scores"]["date"] == 1.0
    assert all({"keyword", "semantic"} & set(r["scores"]) for r in ranked)  # reranked matches, nothing added
    assert all("date" not in r["scores"] for r in rows)


def test_similar_takes_the_date_from_a_pasted_tweet(sample_index, cli):
    tweet = (
        "Russia moved MiG-31 jets with Kinzhal hypersonic missiles to Kaliningrad pic.twitter.com/abc "
        "— Some Analyst (@analyst) August 18, 2022"
    )
    auto = cli("similar", tweet, "--json", "--no-cluster", "--explain", "--index", sample_index)
    assert auto.exit_code == 0
    assert hits(auto) and all("date" in r["scores"] for r in hits(auto) if r["date"])
    off = cli("similar", tweet, "--json", "--no-cluster", "--around", "off", "--index", sample_index)
    assert off.exit_code == 0 and all("date" not in r["scores"] for r in hits(off))


def test_bad_around_is_one_line_exit_2(sample_index, cli):
    r = cli("search", "Kinzhal", "--around", "whenever", "--index", sample_index)
    assert r.exit_code == 2
    assert "--around" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_eval_reads_query_dates_and_reports_the_date_leg(sample_index, cli, tmp_path):
    from pathlib import Path

    ROOT = Path(__file__).resolve().parents[2]  # `from conftest import`: ambiguous, tests/unit has one too

    queries = (ROOT / "samples" / "queries.tsv").read_text(encoding="utf-8").splitlines()
    dated = tmp_path / "q.tsv"
    dated.write_text(
        "\n".join(f"{line}\t2022-08-18" for line in queries if line.strip()) + "\n", encoding="utf-8"
    )
    r = cli(
        "eval", "--queries", dated, "--qrels", ROOT / "samples" / "qrels", "--json", "--index", sample_index
    )
    assert r.exit_code == 0, r.output
    table = json.loads(r.stdout)
    assert {"keyword", "semantic", "hybrid", "hybrid + date"} <= set(table)
    assert 0 < table["hybrid + date"]["MAP@5"] <= 1
