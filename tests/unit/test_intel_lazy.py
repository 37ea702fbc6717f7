"""Importing the extraction stage loads neither spaCy nor the embedding model (``claims --help`` stays fast)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_is_lazy():
    code = (
        "import sys, index.intel, index.intel.pipeline; "
        "heavy = [m for m in ('spacy', 'torch', 'sentence_transformers', 'sklearn') if m in sys.modules]; "
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
