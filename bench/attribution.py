"""Attribution (source / cue / content) of ``index.intel.attribution`` scored on PolNeAR-format data.

    .venv/bin/python bench/attribution.py --data ../shared/bench/attribution-polnear-en/dev.jsonl [--limit N]

Input: one JSON object per article with ``text`` and ``annotations`` (see that folder's README); the
first annotation version by annotator id is the gold standard. Each article is parsed whole by the
claims spaCy pipeline and every predicted relation is compared with the gold attributions:

* span F1, exact: a predicted source (cue) span equals a gold one (the whole role, or one of its
  pieces when discontinuous); one-to-one greedy matching;
* span F1, overlap: the spans share at least one character (one-to-one);
* token F1: over word tokens (``\\w+``), the tokens inside predicted vs gold spans of the role, micro
  over the file (this is the "token-overlap F1" of the README);
* attribution F1: a predicted relation matches a gold attribution when their contents share a token
  and their sources share a token (or both have none); one-to-one.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

_TOKEN = re.compile(r"\w+")


class Counts:
    def __init__(self) -> None:
        self.tp = self.n_pred = self.n_gold = 0

    def add(self, tp: int, n_pred: int, n_gold: int) -> None:
        self.tp += tp
        self.n_pred += n_pred
        self.n_gold += n_gold

    def prf(self) -> tuple[float, float, float]:
        p = self.tp / self.n_pred if self.n_pred else 0.0
        r = self.tp / self.n_gold if self.n_gold else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def tokens(text: str, spans) -> set[int]:
    """Start offsets of the word tokens of ``text`` inside any of ``spans``."""
    out = set()
    for s, e in spans:
        for m in _TOKEN.finditer(text, s, e):
            out.add(m.start())
    return out


def greedy(pred: list, gold: list, match) -> int:
    """Number of one-to-one matches (each gold item used once, predictions in order)."""
    used, tp = set(), 0
    for p in pred:
        for j, g in enumerate(gold):
            if j not in used and match(p, g):
                used.add(j)
                tp += 1
                break
    return tp


def is_exact(p, g) -> bool:
    """A predicted span equals the gold role (its hull) or one of its pieces."""
    hull = (min(s for s, _ in g), max(e for _, e in g))
    return p == hull or p in g


def shares(p, g) -> bool:
    """Character overlap (cues such as ":" have no word token)."""
    return any(p[0] < e and s < p[1] for s, e in g)


def attr_match(text: str, p, g: dict) -> bool:
    """Contents share a token, and sources share a token (or neither has one)."""
    if p.content is None or not (tokens(text, [p.content]) & tokens(text, g["content"])):
        return False
    if not g["source"] or p.source is None:
        return not g["source"] and p.source is None
    return bool(tokens(text, [p.source]) & tokens(text, g["source"]))


def gold_attributions(article: dict) -> list[dict]:
    ann = sorted(article["annotations"], key=lambda a: a["annotator"])[0]
    out = []
    for a in ann["attributions"]:
        role = {k: [(s, e) for s, e, _ in a.get(k, [])] for k in ("source", "cue", "content")}
        role["content"] += [(s, e) for s, e, _ in a.get("content2", [])]
        out.append(role)
    return out


def score(path: Path, limit: int | None = None) -> dict:
    from index.intel.attribution import relations
    from index.intel.pipeline import parse

    articles = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if limit:
        articles = articles[:limit]
    t0 = time.perf_counter()
    docs = parse([a["text"] for a in articles], batch_size=8)
    parse_s = time.perf_counter() - t0
    exact = {r: Counts() for r in ("source", "cue")}
    overlap = {r: Counts() for r in ("source", "cue")}
    tok = {r: Counts() for r in ("source", "cue", "content")}
    attr = Counts()
    n_gold = n_pred = 0
    for art, doc in zip(articles, docs, strict=True):
        text = art["text"]
        gold = gold_attributions(art)
        pred = relations(doc)
        n_gold += len(gold)
        n_pred += len(pred)
        for role in ("source", "cue"):
            g_spans = [g[role] for g in gold if g[role]]
            p_spans = [getattr(p, role) for p in pred if getattr(p, role)]
            exact[role].add(greedy(p_spans, g_spans, is_exact), len(p_spans), len(g_spans))
            overlap[role].add(greedy(p_spans, g_spans, shares), len(p_spans), len(g_spans))
        for role in ("source", "cue", "content"):
            g_tok = tokens(text, [s for g in gold for s in g[role]])
            p_tok = tokens(text, [getattr(p, role) for p in pred if getattr(p, role)])
            tok[role].add(len(g_tok & p_tok), len(p_tok), len(g_tok))
        attr.add(greedy(pred, gold, partial(attr_match, text)), len(pred), len(gold))
    return {
        "articles": len(articles), "gold": n_gold, "pred": n_pred, "parse_s": parse_s,
        "exact": exact, "overlap": overlap, "token": tok, "attribution": attr,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Score attribution spans on a PolNeAR-format JSONL file.")
    ap.add_argument("--data", type=Path, required=True, help="PolNeAR-format .jsonl (e.g. dev.jsonl)")
    ap.add_argument("--limit", type=int, default=None, help="first N articles only")
    args = ap.parse_args(argv)
    if not args.data.is_file():
        print(f"--data {args.data}: no such file (a PolNeAR-format .jsonl)", file=sys.stderr)
        return 2
    r = score(args.data, args.limit)
    print(f"{args.data}: {r['articles']} articles, {r['gold']} gold attributions, {r['pred']} predicted "
          f"(parse {r['parse_s']:.0f} s)")  # fmt: skip
    print("| role | match | P | R | F1 |")
    print("|---|---|---|---|---|")
    rows = [
        (f"{role}", kind, r[kind][role])
        for role in ("source", "cue")
        for kind in ("exact", "overlap", "token")
    ]
    rows += [
        ("content", "token", r["token"]["content"]),
        ("attribution", "source+content overlap", r["attribution"]),
    ]
    for role, kind, c in rows:
        p, rec, f = c.prf()
        print(f"| {role} | {kind} | {p:.3f} | {rec:.3f} | {f:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
