"""One-way layers, checked by walking every import (``ast``, lazy imports inside functions included).

* ``index/`` owns the on-disk format and never imports ``search``;
* ``search/`` reads through ``index`` and never imports a writer: the writer modules below, or any
  name ending in ``Writer`` from ``index``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Modules whose job is writing an index (the format modules they write through are allowed).
WRITER_MODULES = (
    "index.writer",
    "index.ingest",
    "index.catalog",
    "index.vectors",
    "index.lexical",
    "index.impacts",
    "index.repair",
)


def imports(path: Path) -> list[tuple[int, str, str | None]]:
    """``(line, module, name)`` of every import in ``path``; ``name`` None for ``import module``."""
    out: list[tuple[int, str, str | None]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name, None) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's own package
                package = path.parent.name
                module = f"{package}.{node.module}" if node.module else package
            else:
                module = node.module or ""
            out += [(node.lineno, module, a.name) for a in node.names]
    return out


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def violations(root: Path) -> list[str]:
    """Every import that breaks the layers in the ``index/`` and ``search/`` packages under ``root``."""
    found = []
    for path in sorted((root / "index").glob("*.py")):
        for line, module, name in imports(path):
            full = f"{module}.{name}" if name else module
            if _under(module, "search") or _under(full, "search"):
                found.append(f"{path.relative_to(root)}:{line} imports {full} (index must not import search)")
    for path in sorted((root / "search").glob("*.py")):
        for line, module, name in imports(path):
            full = f"{module}.{name}" if name else module
            writer_module = next((w for w in WRITER_MODULES if _under(module, w) or _under(full, w)), None)
            writer_class = _under(module, "index") and name is not None and name.endswith("Writer")
            if writer_module or writer_class:
                found.append(
                    f"{path.relative_to(root)}:{line} imports {full} (search must not import a writer)"
                )
    return found


def test_index_never_imports_search_and_search_never_imports_a_writer():
    assert (ROOT / "index" / "catalog.py").exists() and (ROOT / "search" / "searcher.py").exists()
    assert violations(ROOT) == []


def _tree(tmp_path: Path, index_src: str, search_src: str) -> Path:
    for package, src in (("index", index_src), ("search", search_src)):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
        (tmp_path / package / "mod.py").write_text(src)
    return tmp_path


@pytest.mark.parametrize(
    "index_src",
    [
        "from search.dense import DenseIndex\n",
        "import search.catalog\n",
        "from search import whoosh_patch\n",
        "def f():\n    from search.impacts import FIELDS\n",  # a lazy import counts too
    ],
)
def test_an_index_module_importing_search_is_reported(tmp_path, index_src):
    root = _tree(tmp_path, index_src, "from index.errors import ClaimsError\n")
    found = violations(root)
    assert len(found) == 1 and found[0].startswith("index/mod.py:") and "must not import search" in found[0]


@pytest.mark.parametrize(
    "search_src",
    [
        "from index.writer import IndexWriter\n",
        "from index import ingest\n",
        "import index.catalog\n",
        "from index.catalog import CatalogWriter\n",
        "def f():\n    from index.vectors import VectorWriter\n",
        "from index.somewhere_new import ShardWriter\n",  # any *Writer class
    ],
)
def test_a_search_module_importing_a_writer_is_reported(tmp_path, search_src):
    root = _tree(tmp_path, "import numpy\n", search_src)
    found = violations(root)
    assert (
        len(found) == 1 and found[0].startswith("search/mod.py:") and "must not import a writer" in found[0]
    )


def test_readers_of_the_format_are_allowed(tmp_path):
    src = (
        "from index.catalog_reader import CatalogReader\nfrom index.vector_store import VectorStore\n"
        "from index.ids import field_vector_id\nfrom index.impact_format import FIELDS\n"
        "from index.manifest import read_manifest\nimport index.embed\n"
    )
    assert violations(_tree(tmp_path, "from index.records import Article\n", src)) == []


# -- module size (issue #10: no module in index/ or search/ over ~400 lines) -------------------------
MAX_LINES = 400


def long_modules(root: Path, limit: int = MAX_LINES) -> list[str]:
    """``path: N lines`` of every module under ``root/index`` and ``root/search`` (subpackages too)
    longer than ``limit`` lines."""
    found = []
    for package in ("index", "search"):
        for path in sorted((root / package).rglob("*.py")):
            n = len(path.read_text(encoding="utf-8").splitlines())
            if n > limit:
                found.append(f"{path.relative_to(root)}: {n} lines")
    return found


def test_no_module_in_index_or_search_is_over_400_lines():
    assert long_modules(ROOT) == [], "split by responsibility (not by cutting text)"


def test_a_long_module_is_reported(tmp_path):
    root = _tree(tmp_path, "x = 1\n" * (MAX_LINES + 1), "y = 2\n" * MAX_LINES)
    (tmp_path / "search" / "deep").mkdir()
    (tmp_path / "search" / "deep" / "big.py").write_text("z = 3\n" * 500)
    assert long_modules(root) == [f"index/mod.py: {MAX_LINES + 1} lines", "search/deep/big.py: 500 lines"]
