"""BM25F computed by hand on a tiny index: the independent oracle beside the Whoosh-equality tests.

``tests/integration/test_impacts.py`` checks the numpy ranker against Whoosh; a defect both share
(Whoosh 2.7.4's coordination gave every one-word query 0.0) passes such a test. Here the expected
scores are written out from the formula, with counts read off the texts below by eye:

    idf(f, t)  = ln(N / (df + 1)) + 1                          (Whoosh's WeightingModel.idf)
    bm25(f, t) = idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * fl / avgfl)),  K1 = 1.2, B = 0.75
    tf         = occurrences x field boost (title x1.5, context x0.5, text x1)
    fl         = the field's token count, stored as a byte: 0-10 exact, 11 -> 12, 15 -> 16 ...
    avgfl      = (sum of the exact token counts) / N
    score      = sum over the query's field terms; with the default operator's coordination over
                 n >= 2 term matchers: (score + (m - 1) / (n - 0.9)**2) * (n - 1) / n, m = matched terms;
                 n <= 1: the plain sum.

Stop words are avoided in the texts so every token counts; ``Bayraktar`` stems to itself.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from index.analysis import build_schema, source_key
from index.impacts import sync_impacts
from search.impacts import ImpactIndex
from search.query import parse_query

K1, B = 1.2, 0.75

# (text, title): token counts in the comments (no stop words; titles without "Bayraktar" but d4's)
DOCS = [
    # 11 tokens -> stored as 12
    ("Bayraktar drones struck convoys near Kherson while artillery units waited north", "Convoy report"),
    ("Bayraktar Bayraktar Bayraktar footage", "Drone footage"),  # 4 tokens
    ("Artillery shelling continued overnight", "Shelling update"),  # 4
    ("Patriot batteries moved east", "Air defence"),  # 4
]
TITLED = ("Strike footage released today", "Bayraktar strike")  # text 4 tokens, title 2


def _bm25(idf: float, tf: float, fl: float, avgfl: float) -> float:
    return idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * fl / avgfl))


def _build(path: Path, docs) -> None:
    from whoosh import index as whoosh_index

    from search import whoosh_patch

    whoosh_patch.apply()
    path.mkdir(parents=True)
    ix = whoosh_index.create_in(str(path), build_schema())
    w = ix.writer()
    for i, (text, title) in enumerate(docs):
        w.add_document(
            passage_id=str(i), pid=i, article_id=f"a{i}", gen=1, text=text, title=title,
            source="TASS", source_id=source_key("TASS"),
        )  # fmt: skip
    w.commit()
    sync_impacts(ix)
    ix.close()


def _rankings(path: Path, text: str):
    """``(numpy ranking, Whoosh ranking)``, each ``[(docnum, score)]`` best first."""
    from whoosh import index as whoosh_index

    ix = whoosh_index.open_dir(str(path), readonly=True)
    with ix.searcher() as s:
        q = parse_query(text, ix.schema)
        imp = ImpactIndex.open(s, path)
        assert imp is not None
        fast = imp.top(q, None)
        slow = [(h.docnum, h.score) for h in s.search(q, limit=None)]
    return fast, slow


def test_one_word_query_is_plain_bm25f_by_hand(tmp_path):
    path = tmp_path / "lexical"
    _build(path, DOCS)
    n_docs = 4
    idf = math.log(n_docs / (2 + 1)) + 1  # "bayraktar" in 2 of 4 texts
    avgfl = (11 + 4 + 4 + 4) / n_docs
    expected = {
        1: _bm25(idf, 3, 4, avgfl),  # three times in a 4-token text
        0: _bm25(idf, 1, 12, avgfl),  # once in an 11-token text, stored as 12
    }
    assert expected[1] == pytest.approx(2.164675, abs=1e-6)  # the arithmetic above, done by calculator
    assert expected[0] == pytest.approx(0.891337, abs=1e-6)
    for run in _rankings(path, "Bayraktar"):
        assert [d for d, _ in run] == [1, 0]  # the short passage with it three times first
        assert dict(run) == pytest.approx(expected, rel=1e-9)


def test_coordination_over_two_field_terms_by_hand(tmp_path):
    path = tmp_path / "lexical"
    docs = [*DOCS, TITLED]
    _build(path, docs)
    n_docs = 5
    idf_text = math.log(n_docs / (2 + 1)) + 1
    idf_title = math.log(n_docs / (1 + 1)) + 1
    avg_text = (11 + 4 + 4 + 4 + 4) / n_docs
    avg_title = (2 + 2 + 2 + 2 + 2) / n_docs
    n = 2  # term matchers of the query in this segment: text:bayraktar, title:bayraktar

    def coord(score: float, m: int) -> float:
        return (score + (m - 1) / (n - 0.9) ** 2) * (n - 1) / n

    expected = {
        1: coord(_bm25(idf_text, 3, 4, avg_text), 1),
        0: coord(_bm25(idf_text, 1, 12, avg_text), 1),
        4: coord(_bm25(idf_title, 1 * 1.5, 2, avg_title), 1),  # title x1.5
    }
    for run in _rankings(path, "Bayraktar"):
        assert dict(run) == pytest.approx(expected, rel=1e-9)
        assert [d for d, _ in run] == sorted(expected, key=lambda d: -expected[d])
    # Two words, one passage with both: m = 2 of n = 4 term matchers (bayraktar and footage in
    # text and title).
    n = 4
    idf_footage_text = math.log(n_docs / (2 + 1)) + 1  # texts 1 and 4
    idf_footage_title = math.log(n_docs / (1 + 1)) + 1  # title 1
    both = _bm25(idf_text, 3, 4, avg_text) + _bm25(idf_footage_text, 1, 4, avg_text)
    both += _bm25(idf_footage_title, 1.5, 2, avg_title)
    for run in _rankings(path, "Bayraktar footage"):
        assert dict(run)[1] == pytest.approx(coord(both, 3), rel=1e-9)


def test_one_word_keyword_search_through_the_cli(tmp_path, cli):
    """The issue's example, end to end: two articles, real ingest, ``--mode keyword`` and hybrid."""
    src = tmp_path / "articles.jsonl"
    long_text = (  # one sentence: one passage
        "Officials in Kyiv said that artillery units exchanged fire near the river crossing for several "
        "hours on Tuesday while supply convoys moved north and engineers repaired a damaged bridge, and "
        "residents later reported a Bayraktar drone circling over the southern villages until nightfall."
    )
    short_text = "Bayraktar footage: the Bayraktar strike, a Bayraktar again."
    rows = [
        {"id": "long", "title": "Front line report", "text": long_text, "source": "Reuters"},
        {"id": "short", "title": "Drone clip", "text": short_text, "source": "TASS"},
    ]
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    index = tmp_path / "index"
    assert cli("ingest", str(src), "--index", str(index)).exit_code == 0
    out = cli("search", "Bayraktar", "--mode", "keyword", "--json", "--index", str(index))
    assert out.exit_code == 0, out.stderr
    hits = [json.loads(line) for line in out.stdout.splitlines()]
    assert [h["article_id"] for h in hits] == ["short", "long"]
    assert hits[0]["score"] > hits[1]["score"] > 0
    out = cli("search", "Bayraktar", "--json", "--index", str(index))  # hybrid: the keyword leg counts
    assert out.exit_code == 0, out.stderr
    hybrid = {
        h["article_id"]: h for h in map(json.loads, out.stdout.splitlines()) if "Bayraktar" in h["text"]
    }
    assert hybrid["short"]["scores"]["keyword"] > hybrid["long"]["scores"]["keyword"] > 0


def test_coordination_with_a_range_clause_does_not_divide_by_zero(tmp_path):
    """Issue 11 item 4: ``date:[...] S-400`` raised ZeroDivisionError inside Whoosh's CoordMatcher, which
    is rebuilt, once the S-400 posting lists run out, over the range matcher alone: zero term matchers.
    The query is built by hand here (the parser now turns ``date:`` into a filter, ``search.query``),
    so this checks the Whoosh fix itself."""
    import datetime as dt

    from whoosh import index as whoosh_index
    from whoosh import query

    from search import whoosh_patch

    whoosh_patch.apply()
    ix = whoosh_index.create_in(str(tmp_path), build_schema())
    w = ix.writer()
    for i in range(40):
        w.add_document(
            passage_id=str(i), pid=i, date=dt.datetime(2022, 1, 1) + dt.timedelta(days=i),
            text="S-400 battery" if i in (0, 5) else "other words", title="S-400 news" if i == 1 else "t",
        )  # fmt: skip
    w.commit()
    terms = [query.Term(f, "s-400") for f in ("text", "title", "context")]
    q = query.Or(
        [query.DateRange("date", dt.datetime(2022, 1, 1), dt.datetime(2022, 3, 1)), *terms], scale=0.9
    )
    with ix.searcher() as s:
        hits = {h.docnum: h.score for h in s.search(q, limit=None)}
    assert len(hits) == 40
    # every passage is in the range; the three with S-400 rank first, the rest share one score
    assert sorted(hits, key=lambda d: (-hits[d], d))[:3] == [0, 5, 1]
    assert len({round(hits[d], 9) for d in hits if d not in (0, 1, 5)}) == 1
