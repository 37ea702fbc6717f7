"""spaCy cost of the extraction stage: the whole pipeline on every passage (``parse``) against the
parse only where a cue can be (``parse_for_claims``), on the same passages, alternating, same run;
and the entity recogniser alone (``ner``, which every passage needs: the floor of ``parse_for_claims``).

Passages: the first ``--limit`` records of each shared corpus, split as ingest splits them. Each way is
timed ``--repeat`` times (process CPU seconds, alternating, after one untimed warm-up on 100 passages);
medians printed, with the share of tokens (whitespace words) in passages that still get the parse.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/extract_parse.py [--limit 15] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import command_line, corpus_files, log, md_table, require_shared  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=15, help="records per corpus file")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of each way (medians)")
    args = ap.parse_args()
    require_shared()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from index.intel.pipeline import may_attribute, parse, parse_for_claims
    from index.passages import split_article
    from index.records import Article
    from index.sources import read_file

    texts = [
        p.text
        for f in corpus_files()
        for a in islice(read_file(f), args.limit)
        if isinstance(a, Article)
        for p in split_article(a)[0]
    ]
    from index.intel.pipeline import load_nlp

    nlp = load_nlp()

    def ner_alone(batch: list[str]) -> None:
        """The entity recogniser alone (its own token embedding), on freshly tokenised Docs."""
        for _ in nlp.get_pipe("ner").pipe([nlp.make_doc(t) for t in batch], batch_size=64):
            pass

    parse(texts[:100])
    parse_for_claims(texts[:100])
    ner_alone(texts[:100])
    ways = {"parse (whole pipeline)": parse, "parse_for_claims": parse_for_claims, "`ner` alone": ner_alone}
    times: dict[str, list[float]] = {name: [] for name in ways}
    for r in range(args.repeat):
        for name, fn in ways.items():
            t = time.process_time()
            fn(texts)
            times[name].append(time.process_time() - t)
        log(f"run {r + 1}/{args.repeat}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()))
    words = [len(t.split()) for t in texts]
    cued = sum(w for t, w in zip(texts, words, strict=True) if may_attribute(t)) / max(sum(words), 1)
    full, fast, _ = (statistics.median(v) for v in times.values())
    print(f"### spaCy CPU seconds on {len(texts):,} passages (--limit {args.limit})\n")
    print(
        md_table(
            ("way", "CPU s (median)", "ratio"),
            [(k, statistics.median(v), statistics.median(v) / full) for k, v in times.items()],
        )
    )
    print(
        f"\n{cued:.0%} of the words are in passages that still get the parse; saving {1 - fast / full:.0%}. "
        f"Load average (1 min): {os.getloadavg()[0]:.1f}.\n\n`{command_line()}`"
    )


if __name__ == "__main__":
    main()
