"""A fresh install from the declared dependencies only ingests every supported format (issue 12, item 1).

The project is copied out of the repository (a build writes ``build/`` and ``*.egg-info`` next to
``pyproject.toml``) and ``pip install``-ed into a new virtual environment without system site
packages, so nothing installed in the development environment can hide a missing dependency
(``lxml_html_clean`` was one: every ``.html`` file failed with "unexpected ImportError"). pip's cache
and the configured package indexes make it take minutes, not tens of minutes: marked slow.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from index.sources import SUPPORTED

ROOT = Path(__file__).resolve().parents[2]
HTML = (
    "<html><head><title>Strike on Odesa</title></head><body><article><h1>Strike on Odesa</h1>"
    "<p>A missile struck the grain terminal in Odesa on Tuesday, the governor said.</p>"
    "<p>Two workers were hurt and the silos burned through the night, officials said.</p>"
    "</article></body></html>"
)
CLAIM = "Air defence shot down eleven drones over the region overnight, the governor said."


def inputs(folder: Path) -> dict[str, str]:
    """One file per supported format (and one gzipped): ``{file name: its article id}``."""
    record = {"id": "{id}", "text": CLAIM}
    contents = {
        ".txt": ("date 2023-08-01 Drones over Kyiv\n\n" + CLAIM, "in/x-txt"),
        ".md": ("# Drones over Kyiv\n\n" + CLAIM, "in/x-md"),
        ".jsonl": (json.dumps(record) + "\n", "r-jsonl"),
        ".ndjson": (json.dumps(record) + "\n", "r-ndjson"),
        ".json": (json.dumps([record]), "r-json"),
        ".csv": (f'id,text\n{{id}},"{CLAIM}"\n', "r-csv"),
        ".html": (HTML, "in/x-html"),
        ".htm": (HTML, "in/x-htm"),
    }
    assert set(contents) == set(SUPPORTED), "a new format needs a case here"
    out = {}
    for ext, (text, article_id) in contents.items():
        name = f"x-{ext[1:]}{ext}"
        (folder / name).write_text(text.replace("{id}", article_id), encoding="utf-8")
        out[name] = article_id
    with gzip.open(folder / "z.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write(json.dumps({"id": "r-gz", "text": CLAIM}) + "\n")
    out["z.jsonl.gz"] = "r-gz"
    return out


@pytest.mark.slow
def test_fresh_virtualenv_ingests_every_supported_format(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns(
            ".*", "tests", "bench", "samples", "claims-index", "build", "*.egg-info", "__pycache__"
        ),
    )
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True, system_site_packages=False)
    python = env_dir / "bin" / "python"
    pip = subprocess.run(
        [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", str(src)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert pip.returncode == 0, pip.stderr[-3000:]

    folder = tmp_path / "in"
    folder.mkdir()
    expected = inputs(folder)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    run = subprocess.run(
        [env_dir / "bin" / "claims", "ingest", str(folder), "--index", str(tmp_path / "idx"), "--json"],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
        cwd=tmp_path,  # not the repository: the installed package, not the source tree, is imported
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout)
    assert (report["added"], report["failed"], report["problems"]) == (len(expected), 0, [])
    ids = subprocess.run(
        [
            python,
            "-c",
            "import json, sys, sqlite3; db = sqlite3.connect(sys.argv[1]);"
            "print(json.dumps(sorted(r[0] for r in db.execute('SELECT article_id FROM articles'))))",
            str(tmp_path / "idx" / "catalog.sqlite"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(ids.stdout) == sorted(expected.values())
    where = subprocess.run(
        [python, "-c", "import index; print(index.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    assert str(env_dir) in where.stdout, "the fresh environment's own copy was tested"
    assert sys.prefix not in where.stdout
