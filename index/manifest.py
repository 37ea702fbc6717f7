"""The versioned manifest: the commit point of an index folder.

One JSON file, ``manifest.json``, written last and atomically (temp file, fsync, rename), like
Whoosh's TOC. A batch is committed exactly when its manifest lands. It records the format version
(checked on open), the tool version, the embedding model, the generation, counts and the store
files of that generation. Readers read it first and see exactly that generation.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from index.errors import IndexCorruptError, IndexNotFoundError, IndexVersionError
from index.faults import checkpoint

FORMAT = "claims-index"
# 2: the embedding cache is its own file (``index.embcache``); 1 kept it in the catalog (still read:
# the first writer to open a format-1 index migrates it, ``IndexWriter``).
FORMAT_VERSION = 2
MIN_FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CATALOG = "catalog.sqlite"
LOCK = "write.lock"


def tool_version() -> str:
    """The installed package version (``0.0.0`` when run from a bare checkout)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("claims")
    except PackageNotFoundError:
        return "0.0.0"


@dataclass
class Manifest:
    """What a committed generation of the index holds."""

    generation: int = 0
    model: str = ""
    model_path: str = ""
    dimension: int = 0
    lexical_dir: str = "lexical"
    vectors_file: str = ""
    vectors_kind: str = "flat"
    vectors_sha256: str = ""
    lexical_purged_gen: int = 0
    metadata_fields: list[str] = field(default_factory=list)
    embed_fields: list[str] = field(default_factory=list)
    # The claim extractor (``index.intel.EXTRACTOR_VERSION``) every stored claim feature was made by; ""
    # none, or an index extracted before versions were recorded. ``reindex`` re-extracts and sets it.
    extractor: str = ""
    # The adopted learned ranker (``claims tune``): a file under ``rankers/``, relative to the index; "" none.
    ranker: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    created: str = ""
    updated: str = ""
    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    tool_version: str = field(default_factory=tool_version)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


def manifest_path(index_dir: Path) -> Path:
    return Path(index_dir) / MANIFEST


def read_manifest(index_dir: Path) -> Manifest:
    """Read and check the manifest of ``index_dir``.

    Raises:
        IndexNotFoundError: no index there (names ``claims ingest``).
        IndexVersionError: written by another format version (names the fix).
        IndexCorruptError: unreadable manifest (names ``claims repair``).
    """
    path = manifest_path(index_dir)
    if not path.exists():
        raise IndexNotFoundError(
            f"no index at {index_dir}: create one with `claims ingest PATH --index {index_dir}`"
        )
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError("not a claims manifest")
        version = int(data["format_version"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise IndexCorruptError(
            f"{path} is unreadable ({e.__class__.__name__}): run `claims repair --index {index_dir}`"
        ) from None
    if version > FORMAT_VERSION:
        raise IndexVersionError(
            f"index format {version} at {index_dir} is newer than this tool reads ({FORMAT_VERSION}): "
            "upgrade with `pip install -U claims`"
        )
    if version < MIN_FORMAT_VERSION:
        raise IndexVersionError(
            f"index format {version} at {index_dir} is older than this tool reads ({MIN_FORMAT_VERSION}): "
            f"rebuild it with `claims reindex --index {index_dir}`"
        )
    known = Manifest.__dataclass_fields__
    m = Manifest(**{k: v for k, v in data.items() if k in known})
    m.model_path = model_location(index_dir, m)
    return m


MODELS = "models"  # tuned models live inside the index: ``models/<name>/`` (``claims tune``)
TUNE_RECORD = "tune.json"  # in a tuned model's folder: what made it (base model, command, data hash)


def loadable_model(m: Manifest) -> str:
    """What to load for manifest ``m``'s model: its folder when it is on this machine, else its name (the
    bundled model's name resolves to this install's copy; another name fails naming ``--model``)."""
    return m.model_path if m.model_path and Path(m.model_path).exists() else m.model


def tune_record(model_path: str) -> dict | None:
    """The ``tune.json`` of a tuned model folder, or None for a model ``claims tune`` did not make."""
    p = Path(model_path) / TUNE_RECORD if model_path else None
    return json.loads(p.read_text(encoding="utf-8")) if p is not None and p.exists() else None


def model_location(index_dir: Path, m: Manifest) -> str:
    """The model folder to load: ``m.model_path``, or, when it is gone (the index was moved or copied)
    and the model is one the index holds (``models/<name>``), that folder."""
    inside = Path(index_dir) / MODELS / m.model
    if (
        m.model
        and (not m.model_path or not Path(m.model_path).exists())
        and (inside / "modules.json").exists()
    ):
        return str(inside.resolve())
    return m.model_path


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (POSIX; a no-op where directories can't be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes, fault: str | None = None) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a torn one.

    ``fault`` names the crash-test checkpoint (``index.faults``) between the temp file and the rename.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; an index is shared with readers as a plain file would be
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if fault:
            checkpoint(fault)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_manifest(index_dir: Path, manifest: Manifest) -> None:
    """Commit ``manifest``: the last write of every batch."""
    atomic_write_bytes(
        manifest_path(index_dir), manifest.to_json().encode("utf-8"), fault="before-manifest-rename"
    )
