"""Crash consistency over the whole shared corpora: the rig of ``tests/crash_rig.py``, at full size.

    python bench/crash.py [--trials 50] [--records N] [--chunk 256] [--seed 0] [--workdir DIR]

See ``tests/crash_rig.py`` for what each trial does and checks; exits 1 on any failure.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "tests"))
    from crash_rig import main

    sys.exit(main())
