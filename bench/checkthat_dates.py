"""Write CheckThat! 2B query files with each sentence's date as a third column, for ``--around``, and
print how close the relevant fact-checks are to the day their claim was made (2A and 2B, train and dev).

A 2B query id names the debate or speech it was said in, dated: ``20121023_third_presidential_debate_0959``
was said on 2012-10-23. That date is what a user has when checking a transcript; ``claims eval`` and
``claims search --queries`` read a ``qid<TAB>text<TAB>YYYY-MM-DD`` line's date as that query's ``--around``.

The second part backs the date leg (``search.fusion.date_leg``): the share of relevant (query, fact-check)
pairs whose fact-check is dated within 0 / 1 / 7 / 30 / 365 days of the query's date (2A: the date of the
tweet's signature, ``search.query.claim_date``; 2B: the debate's date; the fact-check's date as ingest
normalises it, ``index.dates.normalize_date``).

    python bench/checkthat_dates.py [--out bench/out/checkthat-2b-dated]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BENCH = ROOT.parent / "shared" / "bench"
SRC = BENCH / "checkthat-2b-debates"
WITHIN = (0, 1, 7, 30, 365)


def _qid_date(qid: str) -> str:
    return dt.datetime.strptime(qid[:8], "%Y%m%d").date().isoformat()


def closeness(task: str, split: str) -> tuple[int, int, list[float]]:
    """``(pairs, pairs with both dates, share within each of WITHIN days)`` for one task and split."""
    from index.dates import normalize_date
    from search.evaluate import read_qrels, read_queries
    from search.query import claim_date

    folder = BENCH / task
    checks = {}
    with open(folder / "collection.jsonl", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            checks[r["id"]] = normalize_date(r.get("date") or "")
    queries = read_queries(folder / f"{split}.queries.tsv")
    days = []
    pairs = 0
    for qid, docs in read_qrels(folder / f"{split}.qrels").items():
        said = claim_date(queries.get(qid, "")) if task.endswith("tweets") else _qid_date(qid)
        for doc in docs:
            pairs += 1
            checked = checks.get(doc)
            if said and checked:
                days.append(abs((dt.date.fromisoformat(checked[:10]) - dt.date.fromisoformat(said)).days))
    return pairs, len(days), [sum(d <= w for d in days) / max(pairs, 1) for w in WITHIN]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "checkthat-2b-dated")
    args = ap.parse_args()
    if not SRC.is_dir():
        raise SystemExit(f"needs {SRC} (the shared CheckThat! 2B data); it is absent")
    args.out.mkdir(parents=True, exist_ok=True)
    for split in ("train", "dev"):
        lines = []
        for line in (SRC / f"{split}.queries.tsv").read_text(encoding="utf-8").splitlines():
            qid, _, text = line.partition("\t")
            lines.append(f"{qid}\t{text}\t{_qid_date(qid)}")
        path = args.out / f"{split}.queries.tsv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"{path}: {len(lines)} queries")
    print("\nRelevant fact-checks dated within N days of the claim (share of all relevant pairs):\n")
    print(
        "| task | split | pairs | pairs with both dates | " + " | ".join(f"<= {w} d" for w in WITHIN) + " |"
    )
    print("| --- | --- | ---: | ---: | " + " | ".join("---:" for _ in WITHIN) + " |")
    for task in ("checkthat-2a-tweets", "checkthat-2b-debates"):
        for split in ("train", "dev"):
            pairs, dated, shares = closeness(task, split)
            cells = " | ".join(f"{x:.0%}" for x in shares)
            print(f"| {task} | {split} | {pairs} | {dated} | {cells} |")


if __name__ == "__main__":
    main()
