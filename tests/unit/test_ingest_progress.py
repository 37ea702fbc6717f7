"""The plain progress lines ``claims ingest`` writes on a non-terminal stderr: rate and ETA (issue 12, item 8)."""

from __future__ import annotations

import cli


def progress_at(clock: list[float]):
    p = cli._progress(quiet=False)
    p.live = False
    p.counts = {"articles": 0, "passages": 0}
    p.files, p.embedding = {}, None
    p.clock = lambda: clock[0]
    p.t0 = p.last = 0.0
    return p


def test_rate_and_eta_from_bytes_of_files_done():
    clock = [0.0]
    p = progress_at(clock)
    p.progress("articles", n=30)
    p.progress("passages", n=300)
    p.progress("file", done=1, total=4, bytes_done=250, bytes_total=1000)
    clock[0] = 60.0
    # 300 passages in 60 s; a quarter of the bytes in 60 s leaves 180 s.
    assert p.line(60.0) == (
        "ingest: 30 articles, 300 passages (5.0 passages/s, 0.5 articles/s); files 1/4, 25% of bytes, "
        "ETA 3m0s; 60s elapsed"
    )


def test_eta_of_a_huge_article_from_its_embedding_chunks():
    clock = [10.0]
    p = progress_at(clock)
    p.progress("embedding", done=4096, total=40960)
    clock[0] = 70.0
    p.progress("embedding", done=8192, total=40960)
    # 4,096 texts in the 60 s since the first report; 32,768 left: 480 s.
    assert p.line(70.0).endswith("embedding a large article: 8,192/40,960 texts, ETA 8m0s; 70s elapsed")


def test_a_line_every_interval_not_every_event(monkeypatch):
    printed = []
    monkeypatch.setattr(cli.err, "print", lambda *a, **k: printed.append(a[0]))
    clock = [0.0]
    p = progress_at(clock)
    for t in range(0, 95, 5):
        clock[0] = float(t)
        p.progress("articles", n=1)
    assert len(printed) == 3  # at 30, 60 and 90 s
