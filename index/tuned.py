"""The write side of ``claims tune``: fine-tune the embedding model, keep it inside the index, re-embed
the index for it through the embedding cache, and switch model and learned ranker in one commit.

On disk (all new files, never rewritten; the manifest names what is in use)::

    models/tuned-<n>-<weights sha256[:8]>/   a sentence-transformers folder + tune.json (what made it)
    rankers/ranker-<sha256[:8]>.json          a learned ranker (``search.ranker``), named by its content

A model's name is its folder's name (``index.embed.resolve_model``), so the embedding cache (keyed by
model name and text hash) never mixes two models' vectors, and the base model's cached vectors stay:
``revert`` re-embeds nothing. ``Candidate`` holds the index's write lock, fills a new in-memory vector
store for a model (cache first) and commits it (with a ranker) as a new generation only when told to;
a killed tune leaves the committed generation as it was, and readers stay on theirs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from index.errors import ClaimsError
from index.manifest import MODELS, TUNE_RECORD, atomic_write_bytes, loadable_model, read_manifest, tune_record
from index.vectorcache import catalog_vectors, embed_cached
from index.vectors import VectorWriter
from index.writer import IndexWriter

RANKERS = "rankers"


class NothingToRevertError(ClaimsError):
    """``claims tune --revert`` on an index that uses its base model and the fixed fusion."""


def train_model(
    base_path: str,
    examples: Sequence[tuple[str, str, str | None]],
    index_dir: Path,
    record: dict,
    epochs: int = 1,
    batch_size: int = 32,
    seed: int = 13,
    max_steps: int = -1,
    learning_rate: float = 2e-5,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Fine-tune the sentence-transformers model at ``base_path`` on ``(query, relevant passage,
    hard negative or None)`` triples with MultipleNegativesRankingLoss (every other passage of the
    batch is a negative too; van den Oord et al. 2018, Henderson et al. 2017), on CPU, with
    sentence-transformers' own trainer; save it as ``<index>/models/tuned-<n>-<hash>/``.

    ``record`` (training command, data hash, ...) is written beside the weights as ``tune.json``, with
    the base model, epochs, seed and the number of examples added. The folder appears whole (written
    to a temp folder, then renamed) and its name holds a hash of its weights: a name never means two models.

    Returns:
        The model folder (absolute).
    """
    import random

    import numpy as np
    import torch
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
        losses,
    )
    from sentence_transformers.training_args import BatchSamplers

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    from index.embed import resolve_model

    base_path = resolve_model(base_path)[1]  # the bundled model's name -> its folder (nothing is downloaded)
    model = SentenceTransformer(base_path, device="cpu")
    with_neg = all(n for _, _, n in examples)
    data = {"anchor": [q for q, _, _ in examples], "positive": [p for _, p, _ in examples]}
    if with_neg:
        data["negative"] = [n for _, _, n in examples]
    root = Path(index_dir) / MODELS
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".tune-", dir=root))
    batch_size = max(2, min(batch_size, len(examples)))  # in-batch negatives need two; more is one batch
    steps = max_steps if max_steps > 0 else epochs * -(-len(examples) // batch_size)
    try:
        args = SentenceTransformerTrainingArguments(
            output_dir=str(work / "trainer"),
            num_train_epochs=epochs,
            max_steps=max_steps,
            per_device_train_batch_size=batch_size,
            learning_rate=learning_rate,
            # warm-up over a run of a few steps would leave them at learning rate 0 (a tiny judgment set
            # trained nothing: the same weights, the same model name, every time)
            warmup_ratio=0.1 if steps >= 10 else 0.0,
            seed=seed,
            data_seed=seed,
            batch_sampler=BatchSamplers.NO_DUPLICATES,  # no copy of a batch's positive among its negatives
            save_strategy="no",
            report_to="none",
            logging_strategy="no",
            disable_tqdm=True,
            use_cpu=True,
            dataloader_num_workers=0,
        )
        from transformers import PrinterCallback

        t0 = time.perf_counter()
        with open(os.devnull, "w") as null, contextlib.redirect_stderr(null):  # datasets' progress bars
            trainer = SentenceTransformerTrainer(
                model=model,
                args=args,
                train_dataset=Dataset.from_dict(data),
                loss=losses.MultipleNegativesRankingLoss(model),
            )
            trainer.remove_callback(PrinterCallback)  # the trainer's log dicts; progress says what matters
            trainer.train()
        seconds = time.perf_counter() - t0
        out = work / "model"
        model.save(str(out))
        digest = _weights_digest(out)
        n = 1 + sum(1 for p in root.iterdir() if p.name.startswith("tuned-"))
        name = f"tuned-{n}-{digest[:8]}"
        full = {
            **record,
            "name": name,
            "base_model_path": base_path,
            "epochs": epochs,
            "max_steps": max_steps,
            "learning_rate": learning_rate,
            "batch_size": batch_size,
            "seed": seed,
            "examples": len(examples),
            "hard_negatives": with_neg,
            "loss": "MultipleNegativesRankingLoss",
            "train_seconds": round(seconds, 1),
            "weights_sha256": digest,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (out / TUNE_RECORD).write_text(json.dumps(full, indent=2, sort_keys=True), encoding="utf-8")
        final = root / name
        os.replace(out, final)
        if progress:
            progress(f"trained {name} on {len(examples)} pairs in {seconds:.0f}s")
        return final.resolve()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _weights_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.suffix in (".safetensors", ".bin"):
            h.update(p.read_bytes())
    return h.hexdigest()


def save_ranker(index_dir: Path, payload: dict) -> str:
    """Write a ranker (JSON-ready ``payload``) as ``rankers/ranker-<hash>.json``; returns that relative path."""
    data = json.dumps(payload, sort_keys=True).encode("utf-8")
    rel = f"{RANKERS}/ranker-{hashlib.sha256(data).hexdigest()[:8]}.json"
    (Path(index_dir) / RANKERS).mkdir(exist_ok=True)
    atomic_write_bytes(Path(index_dir) / rel, data)
    return rel


class Candidate:
    """The index re-embedded for ``model`` (a path or the bundled model's name), not yet committed.

    Opening it takes the index's write lock (ingest waits; readers don't) and fills a new vector store
    from the catalog: each text's vector comes from the cache for that model, or is embedded and
    cached (``index.vectorcache.embed_cached``: never twice for one model and text). ``commit`` makes
    it, or only a new ranker, the index's next generation; ``abort`` (or a kill) leaves the index as it was.

    Attributes:
        store: The ``index.vector_store.VectorStore`` of the candidate (search it in memory).
        embedded: Texts embedded (not found in the cache) while filling it.
        model_name, model_path: The candidate's model.
    """

    def __init__(self, index_dir: Path, model: str, wait: bool = True, progress=None):
        from index.embed import Embedder

        self.dir = Path(index_dir)
        self.batch = None
        self.writer = IndexWriter(self.dir, wait=wait, create=False)
        try:
            self.old = self.writer.manifest
            self.old_embedder = self.writer.embedder
            self.writer.embedder = Embedder(model)
            self.model_name, self.model_path = self.writer.embedder.name, self.writer.embedder.path
            self.batch = self.writer.begin(f"tune: model {self.model_name}")
            dim = self.old.dimension or self.writer.embedder.dimension
            self.batch.vectors = VectorWriter.open(None, dim)
            self.embedded = 0
            t0 = time.perf_counter()

            def embed(need: dict[str, str]) -> dict[str, bytes]:
                got, k = embed_cached(self.writer, need)
                self.embedded += k
                if progress:
                    progress(f"embedded {self.embedded} texts with {self.model_name}")
                return got

            n = 0
            for ids, matrix in catalog_vectors(
                self.writer.catalog, self.writer.cache, self.model_name, self.old.embed_fields, dim, embed
            ):
                self.batch.vectors.add(ids, matrix)
                n += len(ids)
            self.vectors = n
            self.seconds = time.perf_counter() - t0
        except BaseException:
            self.close()
            raise

    @property
    def store(self):
        return self.batch.vectors.store

    def commit(self, adopt_model: bool, ranker: str) -> None:
        """Commit a generation with the candidate's model (``adopt_model``) or the current one, and
        ``ranker`` (a ``rankers/`` path, or "" for the fixed fusion)."""
        if not adopt_model:
            self.writer.embedder = self.old_embedder
            old = self.dir / self.old.vectors_file
            self.batch.vectors = VectorWriter.open(old if self.old.vectors_file else None, self.old.dimension)
        self.batch.ranker = ranker
        self.batch.commit({"tuned_model": self.model_name if adopt_model else None, "ranker": ranker})
        self.batch = None

    def abort(self) -> None:
        if self.batch is not None:
            self.batch.abort()
            self.batch = None

    def close(self) -> None:
        try:
            self.abort()
        finally:
            self.writer.close()

    def __enter__(self) -> Candidate:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def revert(index_dir: Path, wait: bool = True, progress=None) -> dict:
    """Back to the untuned state: the base model the current tuned model was trained from (its
    vectors come from the cache: nothing is embedded) and the fixed fusion.

    Raises:
        NothingToRevertError: The index already uses its base model and no learned ranker.
    """
    m = read_manifest(index_dir)
    record = tune_record(m.model_path)
    if record is None and not m.ranker:
        raise NothingToRevertError(
            f"nothing to revert: {index_dir} uses its base model {m.model} and the fixed fusion"
        )
    base = loadable_model(m)
    if record is not None:
        base = record["base_model_path"] if Path(record["base_model_path"]).exists() else record["base_model"]
    with Candidate(index_dir, base, wait=wait, progress=progress) as cand:
        cand.commit(adopt_model=True, ranker="")
        return {"model": cand.model_name, "embedded": cand.embedded, "seconds": round(cand.seconds, 2)}


def discard_model(index_dir: Path, model_path: str) -> None:
    """Remove a tuned model folder that was not adopted (its cached vectors stay in the embedding cache)."""
    p = Path(model_path)
    if p.parent == (Path(index_dir) / MODELS).resolve() and p.name.startswith("tuned-"):
        shutil.rmtree(p, ignore_errors=True)
