"""The one stateful stage: FAISS vectors + BM25 + SQLite rows, published atomically as generations.

A write builds the next generation's files beside the current ones, then commits the SQLite
transaction that names it. A crash before that commit leaves the previous generation in force; files a
crashed writer left behind (other generations, `*.tmp`) are ignored by readers and removed by the next write.
"""
from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from ..atomic import fsync
from ..encoders import DEFAULT as DEFAULT_ENCODER
from ..encoders import MODEL_DIM, MODEL_NAME, Encoder, load_encoder
from ..errors import (
    AssistantError,
    IndexDamagedError,
    IndexMismatchError,
    IndexMissingError,
    IndexReadOnlyError,
    WriteConflictError,
)
from ..ingest.chunking import ChunkSettings
from ..ingest.prepare import (
    Prepared,
    check_unique,
    freshness,
    prepare,
    sentence_json,
)
from ..text.minhash import from_bytes, signature, to_bytes
from ..types import Article
from ..validate import check_articles
from . import checksums, consistency, files
from . import manifest as mf
from .files import DB_NAME
from .groups import Grouper
from .lexical import Lexical
from .lock import WriteLock, acquire_write_lock, lock_timeout_default
from .store import Store
from .vectors import Vectors

log = logging.getLogger(__name__)


def rebuild_hint(path: Path) -> str:
    return f"rebuild it: assistant index --rebuild --index {path} PATH ..."


def writable(path: Path) -> bool:
    """Whether this process may write the index folder and its database (a read-only mount or permissions: no)."""
    db = path / DB_NAME
    return os.access(path, os.W_OK) and (not db.exists() or os.access(db, os.W_OK))


def exists(path: str | os.PathLike) -> bool:
    """Whether `path` holds an index (possibly an empty one)."""
    return (Path(path) / DB_NAME).is_file()


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
    cache: dict = field(default_factory=dict)  # what is derived from this generation once (filters.row_fields)


class Index:
    @cached_property
    def encoder(self) -> Encoder:
        """Loaded on first use, so `stats` and `check` never pay for torch."""
        try:
            return load_encoder(self._encoder or self.backend, cache_dir=self.path / "models")
        except OSError:
            if not self.read_only:
                raise
            return load_encoder(self._encoder or self.backend)  # no model file in a read-only folder: shared cache

    def __init__(self, path: str | os.PathLike, encoder: str | Encoder | None = None,
                 chunking: ChunkSettings | None = None, lock_timeout: float | None = None, create: bool = True,
                 read_only: bool = False):
        """Open the index at `path`; with `create=False` a folder without one is an `IndexMissingError`.

        `read_only=True` (an app replica sharing the folder with a writer elsewhere): never creates or writes; every
        search picks up the newest published generation (`refresh`).

        `encoder` is a registered name (`encoders.NAMES`) or an `Encoder` object; an existing index keeps its own.
        """
        self.path = Path(path)
        self.read_only = read_only
        create = create and not read_only
        self._encoder = None if encoder is None or isinstance(encoder, str) else encoder
        if self._encoder is not None:
            encoder = self._encoder.backend
        if not create and not exists(self.path):
            raise IndexMissingError(f"no index at {self.path}; build it with `assistant index PATH --index {self.path}`")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise AssistantError(f"cannot create the index folder {self.path} ({exc.strerror})") from exc
        if self.path.is_dir() and not exists(self.path) and not writable(self.path):
            raise IndexReadOnlyError(f"cannot create an index in {self.path}: the folder is read-only; "
                                     "choose a writable folder with --index DIR")
        store = None
        try:
            try:
                self.read_only = exists(self.path) and not writable(self.path)
                self.store = store = Store(self.path / DB_NAME, read_only=self.read_only)
                stored = mf.read_stored(self.store)
            except (sqlite3.DatabaseError, ValueError) as exc:
                raise IndexDamagedError(f"{self.path / DB_NAME} is not a readable index database ({exc}); "
                                        f"rebuild it: assistant index --rebuild --index {self.path} PATH ...") from exc
            self._open(stored, encoder if isinstance(encoder, str) else None, chunking, lock_timeout)
        except BaseException:
            if store is not None:
                store.close()
            raise

    def _open(self, stored: dict | None, encoder: str | None, chunking: ChunkSettings | None,
              lock_timeout: float | None) -> None:
        wanted = {"format_version": mf.FORMAT_VERSION, "model": MODEL_NAME, "encoder": encoder,
                  "chunking": chunking.to_dict() if chunking else None}
        if stored:
            self._check_format(stored)
            mf.check_compatible(stored, wanted, self.path)
            encoder = stored["encoder"]
            chunking = ChunkSettings(**stored["chunking"])
        self.settings = chunking or ChunkSettings()
        self.backend = encoder or DEFAULT_ENCODER
        self.dim = int(stored["dim"]) if stored else MODEL_DIM
        if self.dim != MODEL_DIM:
            raise IndexMismatchError(f"{self.path}: vectors have dim {self.dim}, the model gives {MODEL_DIM}")
        self.lock_timeout = lock_timeout_default() if lock_timeout is None else float(lock_timeout)
        self._write_lock = threading.Lock()
        self._lock: WriteLock | None = None
        self._grouper: tuple[int, Grouper] | None = None  # (generation, LSH of its signatures), see _groups
        self._snapshot_lock = threading.Lock()  # swapping `snapshot`: readers' refresh vs. this process's writes
        self.snapshot = self._load()
        log.debug("opened %s at generation %d", self.path, self.snapshot.generation,
                  extra={"event": "open", "index": str(self.path), "generation": self.snapshot.generation})

    def _check_format(self, stored: dict) -> None:
        version = stored.get("format_version", mf.FORMAT_VERSION)
        if not isinstance(version, int):
            raise IndexDamagedError(f"{self.path}: the stored manifest has format version {version!r}; rebuild the index: "
                                    f"assistant index --rebuild --index {self.path} PATH ...")
        if version < mf.FORMAT_VERSION:
            raise IndexMismatchError(
                f"{self.path} was written by an older version of news-assistant (index format {version}; this "
                f"version reads format {mf.FORMAT_VERSION}). Rebuild it: assistant index --rebuild --index {self.path} PATH ...")

    # ---- reading -------------------------------------------------------------------------------
    def generation_on_disk(self) -> int:
        raw = self.store.meta("generation") or "0"
        try:
            return int(raw)
        except ValueError:
            raise IndexDamagedError(f"{self.path}: the database names generation {raw[:40]!r}, not a number (edited "
                                    f"by hand?); {rebuild_hint(self.path)}") from None

    def _load(self) -> Snapshot:
        error: Exception | None = None
        for attempt in range(5):
            gen = self.generation_on_disk()
            if gen == 0:
                return Snapshot(0, Vectors(self.dim), Lexical.build([], []))
            vec_path, bm25_path = files.vectors_file(self.path, gen), files.bm25_folder(self.path, gen)
            try:
                self._verify_files(gen)
                return Snapshot(gen, self._vectors(vec_path), Lexical.load(bm25_path))
            except IndexDamagedError:
                if self.generation_on_disk() != gen:
                    continue
                raise
            except Exception as exc:  # faiss raises RuntimeError, numpy ValueError/EOFError, bm25s OSError...
                error = exc
                if self.generation_on_disk() != gen:
                    continue  # a writer published a newer generation and removed this one meanwhile
                time.sleep(0.05 * (attempt + 1))
        raise IndexDamagedError(
            f"{self.path}: files of generation {gen} are missing or damaged ({type(error).__name__}: {error}); "
            f"rebuild the index: assistant index --rebuild --index {self.path} PATH ...") from error

    def _verify_files(self, gen: int) -> None:
        """Sizes and sampled hashes against the checksums committed with generation `gen` (none in older indexes)."""
        stored = mf.read_stored(self.store) or {}
        recorded = stored.get("files") if stored.get("generation") == gen else None
        problems = checksums.verify(self.path, recorded, full=False) if recorded else []
        if problems:
            raise IndexDamagedError(f"{self.path}: files of generation {gen} are damaged ({'; '.join(problems[:3])}); "
                                    f"{rebuild_hint(self.path)}")

    def _vectors(self, path: Path) -> Vectors:
        vectors = Vectors.load(path, self.dim)
        bad = vectors.bad_norms()
        if bad:
            raise IndexDamagedError(f"{path} is damaged: {bad} of its {len(vectors)} vectors are not unit length "
                                    f"(overwritten bytes?); {rebuild_hint(self.path)}")
        return vectors

    def refresh(self) -> Snapshot:
        """Pick up a generation another process published (one thread loads it, the others wait).

        Under `_snapshot_lock`, which a write in this process holds from its commit to swapping `snapshot`:
        a reader never sees the database and `snapshot` disagree mid-write, so it never loads (and installs
        over a newer one) the generation being replaced.
        """
        with self._snapshot_lock:
            if self.generation_on_disk() != self.snapshot.generation:
                self.snapshot = self._load()
            return self.snapshot

    def manifest(self, counts: dict[str, int] | None = None, snapshot: Snapshot | None = None) -> dict:
        counts = counts or self.store.counts()
        snap = snapshot or self.snapshot
        return {"format_version": mf.FORMAT_VERSION, "model": MODEL_NAME, "encoder": self.backend,
                "dim": self.dim, "chunking": self.settings.to_dict(), "index_type": snap.vectors.kind,
                "generation": snap.generation, **counts}

    # ---- writing -------------------------------------------------------------------------------
    @contextmanager
    def writing(self) -> Iterator[None]:
        """One writer at a time, in this process and across processes, on the latest published generation; a
        distributed run holds it across several `publish` calls."""
        if self.read_only:
            raise IndexReadOnlyError(
                f"the index at {self.path} is read-only (the folder or its database cannot be written), so it can be "
                "searched but not changed; to add or remove articles, make it writable or copy it to a writable folder")
        with self._write_lock:
            self._lock = acquire_write_lock(self.path, self.lock_timeout)
            try:
                self.refresh()
                problems = consistency.cheap(self.store, len(self.snapshot.vectors), len(self.snapshot.lexical.ids))
                if problems:
                    raise IndexDamagedError(f"{self.path} is inconsistent ({'; '.join(problems)}), so nothing was "
                                            f"written (it would carry the damage forward); {rebuild_hint(self.path)}")
                yield
            finally:
                self._lock.release()
                self._lock = None

    def publish(self, prepared: Prepared, remove: set[str]) -> None:
        """One generation from an already prepared batch; the caller holds `writing()`."""
        self._write_or_explain(prepared, remove)

    def pending(self, articles: Sequence[Article]) -> tuple[list[Article], set[str]]:
        """Articles that are new or changed, and the ids among them that replace a stored version."""
        articles = check_articles(articles)
        check_unique(articles)
        stored = self.store.hashes(a.id for a in articles)
        todo = [a for a in articles if freshness(a, stored.get(a.id)) != "unchanged"]
        return todo, {a.id for a in todo if a.id in stored}

    def add(self, articles: Sequence[Article], progress: bool = False) -> AddResult:
        with self.writing():
            todo, replaced = self.pending(articles)
            unchanged = len(articles) - len(todo)
            if not todo:
                self._tidy()
                return AddResult(unchanged=unchanged)
            log.info("writing %d new and %d changed articles (%d unchanged) to %s", len(todo) - len(replaced),
                     len(replaced), unchanged, self.path,
                     extra={"event": "write", "index": str(self.path), "new": len(todo) - len(replaced),
                            "changed": len(replaced), "unchanged": unchanged})
            started = time.monotonic()
            prepared = prepare(todo, self.settings, self.encoder, progress=progress)
            seconds = time.monotonic() - started
            log.info("embedded %d chunks of %d articles in %.1f s", len(prepared.chunks), len(todo), seconds,
                     extra={"event": "embedded", "articles": len(todo), "chunks": len(prepared.chunks),
                            "seconds": round(seconds, 3)})
            self._write_or_explain(prepared, replaced)
            return AddResult(len(todo) - len(replaced), len(replaced), unchanged, len(prepared.chunks))

    def remove(self, article_ids: Sequence[str]) -> int:
        with self.writing():
            present = set(self.store.hashes(article_ids))
            if present:
                self._write_or_explain(Prepared([], []), present)
            return len(present)

    def _write_or_explain(self, prepared: Prepared, remove: set[str]) -> None:
        """`write`, with disk and database failures (full disk, read-only folder) as an `AssistantError`."""
        try:
            self.write(prepared, remove)
        except (OSError, sqlite3.Error) as exc:
            raise AssistantError(f"could not write the index at {self.path} ({type(exc).__name__}: {exc}); "
                                 "the index is unchanged") from exc

    def write(self, prepared: Prepared, remove: set[str]) -> None:
        """Publish the next generation: caller holds the write lock."""
        old = self.snapshot
        gen = old.generation + 1
        removed_chunks = set(self.store.chunk_ids(remove))
        first = self.store.next_chunk_id()
        new_ids = np.arange(first, first + len(prepared.chunks), dtype="int64")
        vectors = old.vectors.updated(
            prepared.vectors if prepared.vectors is not None else np.zeros((0, self.dim), "float32"),
            new_ids, removed_chunks)
        vec_path, bm25_path = files.vectors_file(self.path, gen), files.bm25_folder(self.path, gen)
        self._verify_lock()
        self._clean(keep=old.generation)
        vectors.save(vec_path)
        lexical = self._lexical(old.lexical, prepared, new_ids, removed_chunks)
        lexical.save(bm25_path)
        fsync(*sorted(bm25_path.iterdir()), bm25_path, self.path)  # on disk before the commit names them
        sums = checksums.record(self.path, gen)  # committed with the generation: `open` and `check` compare them
        snapshot = Snapshot(gen, vectors, lexical)
        counts = {"articles": self.store.counts()["articles"] - len(remove) + len(prepared.articles), "chunks": len(vectors)}
        grouper, groups = self._groups(prepared, remove, old.generation)
        with self._snapshot_lock:  # readers switch generations together with the database (see refresh)
            self._verify_lock()
            self.store.commit(sorted(remove), list(zip(prepared.articles, prepared.hashes)),
                              list(zip(new_ids.tolist(), prepared.chunks, sentence_json(prepared), strict=True)),
                              {"generation": str(gen), "next_chunk_id": str(first + len(new_ids)),
                               "manifest": {**self.manifest(counts, snapshot), "files": sums}},
                              expect_generation=old.generation, groups=groups)
            self.snapshot = snapshot
            self._grouper = (gen, grouper) if grouper is not None else None
        # The generation is published. What follows is housekeeping: a crash or failure here leaves files that
        # the next write removes, so it is logged, never raised (the caller's data is committed).
        stored = mf.read_stored(self.store) or {}
        try:
            self._verify_lock()  # a writer that lost its lock must not delete what another one wrote
            mf.write(self.path / files.MANIFEST, stored)
            self._clean(keep=gen)
        except (OSError, WriteConflictError) as exc:
            log.warning("generation %d is published but cleaning up failed: %s", gen, exc)
        log.info("published generation %d: %s articles, %s chunks", gen, stored.get("articles"), stored.get("chunks"),
                 extra={"event": "published", "index": str(self.path), "generation": gen,
                        "articles": stored.get("articles"), "chunks": stored.get("chunks")})

    def _groups(self, prepared: Prepared, remove: set[str],
                generation: int) -> tuple[Grouper | None, list[tuple[str, str, bytes | None]]]:
        """Story groups of the new articles (and of older articles still without a signature), checked against
        the stored signatures; the LSH is kept between writes of this process, rebuilt from signatures otherwise."""
        cached, self._grouper = self._grouper, None  # being changed: valid again once this write is published
        articles = prepared.articles
        if not articles:  # a remove: the rows go with their articles (ON DELETE CASCADE), nothing to group
            if cached is not None and cached[0] == generation:
                for art_id in remove:
                    cached[1].remove(art_id)
                return cached[1], []
            return None, []
        if cached is not None and cached[0] == generation:
            grouper = cached[1]
        else:
            grouper = Grouper()
            grouper.load((a, g, from_bytes(sig)) for a, g, sig in self.store.signatures())
        for art_id in remove:
            grouper.remove(art_id)
        new = [a.id for a in articles]
        signed = [(art_id, signature(text)) for art_id, text in self.store.ungrouped(exclude=remove | set(new))]
        signed += zip(new, prepared.article_signatures(), strict=True)
        return grouper, [(art_id, grouper.assign(art_id, sig), to_bytes(sig)) for art_id, sig in signed]

    def _verify_lock(self) -> None:
        if self._lock is not None:
            self._lock.verify()

    def _lexical(self, old: Lexical, prepared: Prepared, new_ids: np.ndarray, removed: set[int]) -> Lexical:
        """The next BM25 generation: `old` updated with the new chunks' texts (title + chunk, as embedded)."""
        titles = {a.id: a.title for a in prepared.articles}
        texts = [f"{titles[c.article_id]}\n{c.text}" for c in prepared.chunks]
        if old.updatable:
            return old.updated(removed, texts, new_ids.tolist(), self.store.chunk_texts(sorted(removed)))
        log.info("rebuilding BM25 from every chunk once: %s was written by an older version", self.path,
                 extra={"event": "bm25_rebuild", "index": str(self.path)})
        ids, stored = self.store.all_chunk_texts()
        keep = [(i, t) for i, t in zip(ids, stored) if i not in removed]
        return Lexical.build([t for _, t in keep] + texts, [i for i, _ in keep] + new_ids.tolist())

    def _tidy(self) -> None:
        """Under the write lock, with nothing to write: finish the housekeeping an interrupted write skipped."""
        try:
            self._clean(keep=self.snapshot.generation)
            stored = mf.read_stored(self.store)
            if stored and mf.read(self.path / files.MANIFEST) != mf.readable(stored):
                mf.write(self.path / files.MANIFEST, stored)
        except (OSError, ValueError) as exc:
            log.warning("could not tidy %s: %s", self.path, exc)

    def _clean(self, keep: int) -> None:
        """Remove files of generations other than `keep` and temp files (left by older writes or crashed ones)."""
        for p in files.stale(self.path, keep):
            log.debug("removing %s", p.name, extra={"event": "clean", "file": p.name})
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)

    def close(self) -> None:
        self.store.close()


def discard(path: str | os.PathLike, lock_timeout: float | None = None) -> None:
    """Empty an index (never touching other files in the folder), under the write lock.

    The tables are dropped in one SQLite transaction first: a crash before that commit leaves the index as it
    was, a crash after it an empty, valid index whose old files the next write removes. (Deleting the files
    first could leave a database that names a generation whose files are gone.)
    """
    folder = Path(path)
    if not folder.exists():
        return
    if not writable(folder):
        raise IndexReadOnlyError(f"the index at {folder} is read-only, so it cannot be rebuilt; make it writable or "
                                 "build the new index in another folder (--index DIR)")
    lock = acquire_write_lock(folder, lock_timeout_default() if lock_timeout is None else lock_timeout)
    try:
        emptied = False
        if (folder / DB_NAME).is_file():
            try:
                db = sqlite3.connect(str(folder / DB_NAME), isolation_level=None, timeout=30)
                try:
                    tables = [r[0] for r in db.execute(
                        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
                    db.execute("BEGIN IMMEDIATE")
                    for table in tables:
                        db.execute(f'DROP TABLE IF EXISTS "{table}"')
                    db.execute("COMMIT")
                    emptied = True
                finally:
                    db.close()
            except sqlite3.DatabaseError as exc:  # damaged: nothing to keep, delete the files below
                log.warning("discarding the unreadable database %s: %s", folder / DB_NAME, exc)
        log.info("discarded the index at %s", folder, extra={"event": "discard", "index": str(folder)})
        for p in folder.iterdir():
            if files.is_index_file(p.name) and not (emptied and p.name.startswith(DB_NAME)):
                shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)
    finally:
        lock.release()
