"""The one stateful stage: FAISS vectors + BM25 + SQLite rows, published atomically as generations.

A write builds the next generation's files beside the current ones, then commits the SQLite
transaction that names it. A crash before that commit leaves the previous generation in force.
"""
from __future__ import annotations

import logging
import os
import shutil
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from filelock import FileLock, Timeout

from . import manifest as mf
from .chunking import ChunkSettings
from .embeddings import MODEL_NAME, Encoder, load_encoder
from .errors import IndexLockedError, IndexMismatchError
from .lexical import Lexical
from .pipeline import Prepared, check_unique, content_hash, prepare
from .store import Store
from .types import Article
from .vectors import Vectors

log = logging.getLogger(__name__)
DEFAULT_ENCODER = "torch"


def checkpoint(stage: str) -> None:
    """Test hook: with ASSISTANT_PAUSE_AT=stage the writer stops here so a test can kill it mid-write."""
    if os.environ.get("ASSISTANT_PAUSE_AT") == stage:
        print(f"PAUSED {stage}", file=sys.stderr, flush=True)
        time.sleep(600)


@dataclass
class AddResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    chunks: int = 0


@dataclass
class Snapshot:
    """One published generation; searches hold a reference, so writers never disturb them."""

    generation: int
    vectors: Vectors
    lexical: Lexical


class Index:
    def __init__(self, path: str | os.PathLike, encoder: str | None = None, chunking: ChunkSettings | None = None,
                 lock_timeout: float = 600.0):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.store = Store(self.path / "index.sqlite")
        stored = mf.read_stored(self.store)
        wanted = {"format_version": mf.FORMAT_VERSION, "model": MODEL_NAME, "encoder": encoder,
                  "chunking": chunking.to_dict() if chunking else None}
        if stored:
            mf.check_compatible(stored, wanted, self.path)
            encoder = stored["encoder"]
            chunking = ChunkSettings(**stored["chunking"])
        self.settings = chunking or ChunkSettings()
        self.encoder: Encoder = load_encoder(encoder or DEFAULT_ENCODER, cache_dir=self.path / "models")
        if stored and stored.get("dim") != self.encoder.dim:
            raise IndexMismatchError(f"{self.path}: vectors have dim {stored.get('dim')}, the model gives {self.encoder.dim}")
        self.lock_timeout = lock_timeout
        self._write_lock = threading.Lock()
        self.snapshot = self._load()

    # ---- reading -------------------------------------------------------------------------------
    def generation_on_disk(self) -> int:
        return int(self.store.meta("generation", "0"))

    def _files(self, gen: int) -> tuple[Path, Path]:
        return self.path / f"vectors-{gen:06d}.faiss", self.path / f"bm25-{gen:06d}"

    def _load(self) -> Snapshot:
        for attempt in range(5):
            gen = self.generation_on_disk()
            if gen == 0:
                return Snapshot(0, Vectors(self.encoder.dim), Lexical.build([], []))
            vec_path, bm25_path = self._files(gen)
            try:
                return Snapshot(gen, Vectors.load(vec_path, self.encoder.dim), Lexical.load(bm25_path))
            except FileNotFoundError:
                time.sleep(0.05 * (attempt + 1))  # a writer just published a newer generation
        raise IndexMismatchError(f"{self.path}: files of generation {gen} are missing; run `assistant check --index {self.path}`")

    def refresh(self) -> Snapshot:
        """Pick up a generation another process published."""
        if self.generation_on_disk() != self.snapshot.generation:
            self.snapshot = self._load()
        return self.snapshot

    def manifest(self, counts: dict[str, int] | None = None) -> dict:
        counts = counts or self.store.counts()
        return {"format_version": mf.FORMAT_VERSION, "model": self.encoder.name, "encoder": self.encoder.backend,
                "dim": self.encoder.dim, "chunking": self.settings.to_dict(), "index_type": self.snapshot.vectors.kind,
                "generation": self.snapshot.generation, **counts}

    # ---- writing -------------------------------------------------------------------------------
    def _locked(self) -> FileLock:
        lock = FileLock(str(self.path / "write.lock"), timeout=self.lock_timeout)
        try:
            lock.acquire()
        except Timeout as exc:
            raise IndexLockedError(f"{self.path} is being written by another process (lock {self.path / 'write.lock'}); "
                                   "wait for it to finish or stop it") from exc
        return lock

    def pending(self, articles: Sequence[Article]) -> tuple[list[Article], int]:
        """Articles that are new or changed, and how many are unchanged."""
        check_unique(articles)
        stored = self.store.hashes(a.id for a in articles)
        todo = [a for a in articles if stored.get(a.id) != content_hash(a)]
        return todo, len(articles) - len(todo)

    def add(self, articles: Sequence[Article], progress: bool = False) -> AddResult:
        with self._write_lock:
            lock = self._locked()
            try:
                self.refresh()
                todo, unchanged = self.pending(articles)
                if not todo:
                    return AddResult(unchanged=unchanged)
                replaced = set(self.store.hashes(a.id for a in todo))
                checkpoint("embed")
                prepared = prepare(todo, self.settings, self.encoder, progress=progress)
                self.write(prepared, remove=replaced)
                return AddResult(len(todo) - len(replaced), len(replaced), unchanged, len(prepared.chunks))
            finally:
                lock.release()

    def remove(self, article_ids: Sequence[str]) -> int:
        with self._write_lock:
            lock = self._locked()
            try:
                self.refresh()
                present = set(self.store.hashes(article_ids))
                if present:
                    self.write(Prepared([], []), remove=present)
                return len(present)
            finally:
                lock.release()

    def write(self, prepared: Prepared, remove: set[str]) -> None:
        """Publish the next generation: caller holds the write lock."""
        old = self.snapshot
        gen = old.generation + 1
        removed_chunks = set(self.store.chunk_ids(remove))
        first = self.store.max_chunk_id() + 1
        new_ids = np.arange(first, first + len(prepared.chunks), dtype="int64")
        vectors = old.vectors.updated(
            prepared.vectors if prepared.vectors is not None else np.zeros((0, self.encoder.dim), "float32"),
            new_ids, removed_chunks)
        vec_path, bm25_path = self._files(gen)
        self._clean(keep=old.generation)
        checkpoint("faiss")
        vectors.save(vec_path)
        ids, texts = self.store.all_chunk_texts()
        keep = [(i, t) for i, t in zip(ids, texts) if i not in removed_chunks]
        titles = {a.id: a.title for a in prepared.articles}
        keep += [(int(i), f"{titles[c.article_id]}\n{c.text}") for i, c in zip(new_ids, prepared.chunks)]
        lexical = Lexical.build([t for _, t in keep], [i for i, _ in keep])
        lexical.save(bm25_path)
        snapshot = Snapshot(gen, vectors, lexical)
        checkpoint("sqlite")
        counts = {"articles": self.store.counts()["articles"] - len(remove) + len(prepared.articles), "chunks": len(vectors)}
        self.snapshot, previous = snapshot, self.snapshot
        try:
            self.store.commit(sorted(remove), list(zip(prepared.articles, prepared.hashes)),
                              list(zip(new_ids.tolist(), prepared.chunks)),
                              {"generation": str(gen), "manifest": self.manifest(counts)})
        except BaseException:
            self.snapshot = previous
            raise
        stored = mf.read_stored(self.store)
        mf.write(self.path / "manifest.json", stored)
        self._clean(keep=gen)
        log.info("published generation %d: %d articles, %d chunks", gen, stored["articles"], stored["chunks"])

    def _clean(self, keep: int) -> None:
        """Remove files of generations other than `keep` (left by older writes or crashed ones)."""
        keep_names = {p.name for p in self._files(keep)} | {self._files(keep)[0].with_suffix(".ids.npy").name}
        for p in self.path.iterdir():
            if p.name.startswith(("vectors-", "bm25-")) and p.name not in keep_names:
                shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)

    def close(self) -> None:
        self.store.close()


def discard(path: str | os.PathLike) -> None:
    """Delete an index's own files (never anything else in the folder), under the write lock."""
    folder = Path(path)
    if not folder.exists():
        return
    with FileLock(str(folder / "write.lock")):
        for p in folder.iterdir():
            if p.name.startswith(("vectors-", "bm25-", "index.sqlite")) or p.name == "manifest.json":
                shutil.rmtree(p) if p.is_dir() else p.unlink()
