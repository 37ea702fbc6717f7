"""Write CheckThat! 2B query files with each sentence's date as a third column, for ``--around``.

A 2B query id names the debate or speech it was said in, dated: ``20121023_third_presidential_debate_0959``
was said on 2012-10-23. That date is what a user has when checking a transcript; ``claims eval`` and
``claims search --queries`` read a ``qid<TAB>text<TAB>YYYY-MM-DD`` line's date as that query's ``--around``.

    python bench/checkthat_dates.py [--out bench/out/checkthat-2b-dated]
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT.parent / "shared" / "bench" / "checkthat-2b-debates"


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
            day = dt.datetime.strptime(qid[:8], "%Y%m%d").date().isoformat()
            lines.append(f"{qid}\t{text}\t{day}")
        path = args.out / f"{split}.queries.tsv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"{path}: {len(lines)} queries")


if __name__ == "__main__":
    main()
