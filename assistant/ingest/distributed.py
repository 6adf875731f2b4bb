"""Ingestion on a Ray cluster: Ray Data reads, compares and prepares, the driver alone writes the index.

    files ─► read_binary_files ─► flat_map(load_rows) ─► map_batches(Embedder actors: triage, then prepare)
          ─► driver: Index.publish, one generation per `commit_every` chunks

Each file is read once. The stages are the local ones (`loaders.iter_bytes`, `Index.pending`'s content-hash
comparison, `prepare.prepare`) over Arrow batches; the actors get the index's content hashes when the run starts and
skip what it already holds; only the index, on the driver, has state. The driver holds the index's write lock for the
whole run, so a run is one writer like `add`. Rows travel as JSON strings and raw bytes (float32 vectors, uint32
MinHash signatures: no type inference across blocks); `preserve_order` keeps the articles in the order a local run
sees them, so chunk ids come out the same. A killed actor is restarted and its batch retried by Ray Data (`max_restarts=-1`, `max_task_retries=-1`: its
defaults for actor pools in the Ray the `[ray]` extra requires, 2.60 or later; passing them is deprecated); a killed
driver leaves the last published generation in force and a re-run skips what it published.
"""
from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..text.minhash import from_bytes, to_bytes
from ..types import Article, Chunk
from ..validate import check_articles
from .chunking import ChunkSettings
from .loaders import iter_bytes
from .prepare import Prepared, freshness, prepare
from .ray_runtime import TEST_DIR, cluster_cpus, require_ray, start
from .walk import JSONL_SUFFIXES, find

log = logging.getLogger(__name__)
DEFAULT_COMMIT_EVERY = 20_000  # chunks per published generation: bounds the writer's memory
ARTICLES_PER_BATCH = 64  # articles per actor call: 64 ran 2,000 articles 9 % faster than 32 on 2 actors
READ_AHEAD_BLOCKS = 8  # small blocks a reading task may hold unacknowledged (Ray's default, 2, starved the actors)
WRITTEN = ("new", "changed")


# ---- the stages: plain functions over Arrow batches -------------------------------------------------
def load_rows(row: dict, ids: dict[str, str | None] | None = None) -> Iterator[dict]:
    """One file's articles, as they are cleaned (the local loaders' cleaning and ids: `ids` maps a file to the id a
    local run gives it); a bad JSONL row, or a file that cannot be read, as an error row."""
    try:
        for item in iter_bytes(Path(row["path"]), row["bytes"], (ids or {}).get(row["path"])):
            if isinstance(item, InputError):
                yield {"id": "", "article": "", "error": str(item)}
            else:
                yield {"id": item.id, "article": json.dumps(asdict(item)), "error": ""}
    except InputError as exc:
        yield {"id": "", "article": "", "error": str(exc)}


def article_of(text: str) -> Article:
    return Article(**json.loads(text))


def triage(batch: Any, stored: dict[str, str]) -> tuple[list[tuple[str, str, str]], list[Article]]:
    """Each loaded row's (status, id, error) — "new", "changed", "unchanged" (same content hash as stored) or
    "error" — and the articles to prepare, in order: `Index.pending`, run on the workers against `stored`."""
    rows: list[tuple[str, str, str]] = []
    todo: list[Article] = []
    for text, error in zip(batch.column("article").to_pylist(), batch.column("error").to_pylist()):
        if error:
            rows.append(("error", "", error))
            continue
        try:
            article = check_articles([article_of(text)])[0]
        except InputError as exc:
            rows.append(("error", "", str(exc)))
            continue
        status = freshness(article, stored.get(article.id))
        rows.append((status, article.id, ""))
        if status != "unchanged":
            todo.append(article)
    return rows, todo


def to_table(rows: list[tuple[str, str, str]], prepared: Prepared) -> Any:
    """One Arrow row per input row: its status, and for a prepared article its chunks, their vectors (float32
    bytes), sentences and MinHash signature."""
    import pyarrow as pa

    per: dict[str, list[int]] = {a.id: [] for a in prepared.articles}
    for n, chunk in enumerate(prepared.chunks):
        per[chunk.article_id].append(n)
    vectors = prepared.vectors if prepared.vectors is not None else np.zeros((0, 0), "float32")
    made = iter(zip(prepared.articles, prepared.hashes, prepared.article_signatures(), strict=True))
    cols: dict[str, list] = {k: [] for k in ("status", "id", "error", "article", "hash", "chunks", "vectors",
                                             "sentences", "signature")}
    for status, art_id, error in rows:
        article, digest, sig = next(made) if status in WRITTEN else (None, "", None)
        r = per[article.id] if article else []
        for k, v in (("status", status), ("id", art_id), ("error", error), ("hash", digest),
                     ("article", json.dumps(asdict(article)) if article else ""),
                     ("chunks", json.dumps([asdict(prepared.chunks[n]) for n in r])),
                     ("vectors", np.ascontiguousarray(vectors[r], "float32").tobytes() if r else b""),
                     ("sentences", json.dumps([prepared.sentences[n] for n in r])), ("signature", to_bytes(sig))):
            cols[k].append(v)
    types = {"vectors": pa.binary(), "signature": pa.binary()}
    return pa.table({k: pa.array(v, types.get(k, pa.string())) for k, v in cols.items()})


def from_table(table: Any, dim: int) -> Prepared:
    """The prepared articles of one or more `to_table` tables."""
    keep = [s in WRITTEN for s in table.column("status").to_pylist()]
    cols = {name: [v for v, k in zip(table.column(name).to_pylist(), keep) if k]
            for name in ("article", "hash", "chunks", "vectors", "sentences", "signature")}
    chunks = [Chunk(**c) for text in cols["chunks"] for c in json.loads(text)]
    sentences = [tuple(tuple(s) for s in spans) for text in cols["sentences"] for spans in json.loads(text)]
    vectors = np.frombuffer(b"".join(cols["vectors"]), dtype="float32").reshape(-1, dim)
    return Prepared([article_of(t) for t in cols["article"]], cols["hash"], chunks, vectors.copy(), sentences,
                    [from_bytes(b) for b in cols["signature"]])


class Embedder:
    """A Ray Data actor: loads the encoder once, then runs the stateless `prepare` on each batch."""

    def __init__(self, backend: str, cache_dir: str, settings: dict, stored: dict[str, str], threads: int = 1):
        from ..encoders import load_encoder

        self.stored = stored  # the index's content hash per article id, when the run started
        self.encoder = load_encoder(backend, cache_dir=cache_dir)
        if hasattr(self.encoder, "workers"):
            self.encoder.workers = threads  # one thread per CPU the actor was given, not per core of the machine
        self.settings = ChunkSettings(**settings)

    def __call__(self, batch: Any) -> Any:
        _test_hooks()
        rows, todo = triage(batch, self.stored)
        return to_table(rows, prepare(todo, self.settings, self.encoder))


def _test_hooks() -> None:
    folder = os.environ.get(TEST_DIR)
    if folder:
        Path(folder, str(os.getpid())).touch()
        delay = Path(folder, "delay")
        if delay.exists():
            time.sleep(float(delay.read_text() or 0))


# ---- the driver ---------------------------------------------------------------------------------------
def listing(paths: Iterable[str | os.PathLike]) -> dict[str, str | None]:
    """Article files to read, in the order `load_paths` reads them, each with the id a local run gives it."""
    return {str(f.resolve()): art_id for f, art_id in find(paths).files}


@dataclass
class Survey:
    """The input's bytes and its articles, estimated from the file listing (a JSONL file's rows counted in its
    first MB): what block sizes and the progress bar's ETA need, without reading every file first."""
    size: int = 0
    articles: int = 0
    most: int = 0  # articles in the largest file
    files: int = 0

    @classmethod
    def of(cls, files: Iterable[str], sample: int = 2**20) -> Survey:
        out = cls()
        for f in map(Path, files):
            n, rows = f.stat().st_size, 1
            if f.suffix.lower() in JSONL_SUFFIXES and n:
                with open(f, "rb") as fh:
                    head = fh.read(sample)
                rows = max(1, round(head.count(b"\n") * n / len(head)))
            out.size, out.articles, out.most = out.size + n, out.articles + rows, max(out.most, rows)
            out.files += 1
        return out

    def block_bytes(self, batch_articles: int) -> int | None:
        """Ray Data hands an actor whole blocks, so a JSONL file read as one block would be embedded by one actor
        alone: where a file holds more than two actor calls' worth of articles, blocks of about `batch_articles`
        articles' worth of bytes. Else None, Ray's default: many small files balance by themselves, and small
        blocks made a folder of 32 files run twice as long."""
        if self.most <= 2 * batch_articles:
            return None
        return max(1024, self.size * batch_articles // max(1, self.articles))

    def actors(self, cpus: int, batch_articles: int) -> int:
        """One Embedder per CPU, but no more than the blocks Ray Data hands out (a file each at its default block
        size) or the calls they make: another actor would load the encoder for nothing, and Ray Data warns that the
        pool outnumbers its inputs (one seed article on 2 CPUs)."""
        calls = -(-self.articles // batch_articles)
        blocks = self.files if self.block_bytes(batch_articles) is None else calls
        return max(1, min(cpus, blocks, calls))


def read_articles(files: dict[str, str | None], block: int | None) -> Any:
    """A dataset of loaded articles (id, article JSON, error) in reading order, in blocks of about `block` bytes
    (Ray's default when None)."""
    ray = require_ray()
    quiet_console()
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # the order of a local run, so the same chunk ids
    context.enable_progress_bars = False  # ours shows articles/s and the ETA
    context.target_max_block_size = block or ray.data.context.DEFAULT_TARGET_MAX_BLOCK_SIZE
    # A big file read in small blocks is one reading task that pauses whenever 2 of its blocks wait for the driver's
    # acknowledgement: each actor sat idle 2.7-3.2 s of a 2,000-article run; 8 cut that to 0.3-0.4 s. The option is
    # private and global (the actors' tasks get it too, and Ray Data budgets 8 pending output blocks per task), so
    # it is set only where measured: small blocks, where 8 of them are a few hundred kB.
    if hasattr(context, "_max_num_blocks_in_streaming_gen_buffer"):
        context._max_num_blocks_in_streaming_gen_buffer = (
            READ_AHEAD_BLOCKS if block else ray.data.context.DEFAULT_MAX_NUM_BLOCKS_IN_STREAMING_GEN_BUFFER)
    # Reading and cleaning take no CPU of the budget: the Embedder actors hold one CPU each, and a read task
    # that waited for a free CPU would never run (Ray Data's budget deadlocks with actors on every CPU).
    return ray.data.read_binary_files(list(files), include_paths=True, num_cpus=0).flat_map(
        load_rows, fn_kwargs={"ids": files}, num_cpus=0)


def quiet_console() -> None:
    """Ray Data's INFO lines about each execution and its notice that its progress bars are off (ours shows
    articles/s) stay out of the terminal (the loggers are set one by one: Ray Data reconfigures "ray.data" itself
    for every dataset)."""
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)
    logging.getLogger("ray.data._internal.execution.streaming_executor").setLevel(logging.WARNING)


def prepared_batches(index: Any, articles: Any, stored: dict[str, str], actors: int,
                     batch_articles: int) -> Iterator[Any]:
    """Arrow tables (`to_table`) of every loaded article, in input order, from `actors` Embedder actors that skip
    the ones `stored` already holds and prepare the rest."""
    ray = require_ray()
    prepared = articles.map_batches(
        Embedder, batch_size=batch_articles, batch_format="pyarrow", num_cpus=1,
        compute=ray.data.ActorPoolStrategy(size=actors),
        fn_constructor_kwargs={"backend": index.backend, "cache_dir": str((index.path / "models").resolve()),
                               "settings": index.settings.to_dict(), "stored": stored})
    yield from prepared.iter_batches(batch_size=None, batch_format="pyarrow")


@dataclass
class Tally:
    """What a run found: articles by status, per-file errors, and the ids seen (a second copy is an error)."""
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(("new", "changed", "unchanged"), 0))
    errors: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    replaced: set[str] = field(default_factory=set)

    def add(self, table: Any, strict: bool) -> None:
        for status, art_id, error in zip(*(table.column(c).to_pylist() for c in ("status", "id", "error"))):
            if status == "error":
                if strict:
                    raise InputError(error)
                self.errors.append(error)
                continue
            if art_id in self.seen:
                raise InputError(f"duplicate article ids in one batch: {art_id}")
            self.seen.add(art_id)
            self.counts[status] += 1
            if status == "changed":
                self.replaced.add(art_id)


def commit_batches(tables: Iterable[Any], dim: int, commit_every: int) -> Iterator[Prepared]:
    """Group prepared tables into batches of at least `commit_every` chunks (the last one smaller)."""
    pending: list[Prepared] = []
    chunks = 0
    for table in tables:
        part = from_table(table, dim)
        pending.append(part)
        chunks += len(part.chunks)
        if chunks >= commit_every:
            yield merge(pending, dim)
            pending, chunks = [], 0
    if pending:
        yield merge(pending, dim)


def merge(parts: list[Prepared], dim: int) -> Prepared:
    return Prepared([a for p in parts for a in p.articles], [h for p in parts for h in p.hashes],
                    [c for p in parts for c in p.chunks],
                    np.vstack([p.vectors for p in parts if p.vectors is not None] or [np.zeros((0, dim), "float32")]),
                    [s for p in parts for s in p.sentences], [s for p in parts for s in p.article_signatures()])


def ingest(index: Any, paths: Iterable[str | os.PathLike], address: str | None = None, actors: int | None = None,
           commit_every: int = DEFAULT_COMMIT_EVERY, progress: bool = False, strict: bool = False,
           batch_articles: int = ARTICLES_PER_BATCH, num_cpus: int | None = None) -> tuple[Any, list[str]]:
    """Index `paths` into `index` on Ray: (AddResult, per-file errors). Starts (and stops) a local runtime
    unless Ray is already initialised or `address` names a cluster.

    One pass: the workers read, clean and compare each article with the index's content hashes, and prepare only
    what is new or changed. A duplicate id, or with `strict` a file that cannot be read, stops the run with an
    `InputError`; generations published before it stay (they are complete, and a re-run skips them)."""
    from ..index.index import AddResult

    if commit_every < 1:
        raise InputError("--commit-every must be at least 1 chunk")
    files = listing(paths)
    if not files:
        return AddResult(), []
    started = start(address, num_cpus)
    try:
        with index.writing():
            survey = Survey.of(files)
            articles = read_articles(files, survey.block_bytes(batch_articles))
            tally = Tally()
            chunks = write(index, articles, index.store.all_hashes(), tally,
                           actors or survey.actors(cluster_cpus(), batch_articles), commit_every,
                           survey.articles if progress else 0, batch_articles, strict)
        c = tally.counts
        return AddResult(c["new"], c["changed"], c["unchanged"], chunks), tally.errors
    finally:
        if started:
            require_ray().shutdown()


def write(index: Any, articles: Any, stored: dict[str, str], tally: Tally, actors: int, commit_every: int,
          progress: int, batch_articles: int, strict: bool) -> int:
    """Publish the prepared articles, one generation per `commit_every` chunks; the number of chunks written.
    `progress`: the articles expected (0: no progress bar)."""
    from tqdm import tqdm

    def counted(tables: Iterable[Any]) -> Iterator[Any]:
        for table in tables:
            tally.add(table, strict)
            bar.update(table.num_rows)
            yield table

    chunks = 0
    with tqdm(total=progress or None, unit="article", disable=not progress, desc="indexing on Ray") as bar:
        tables = prepared_batches(index, articles, stored, actors, batch_articles)
        for prepared in commit_batches(counted(tables), index.dim, commit_every):
            if prepared.articles:
                index.publish(prepared, tally.replaced & {a.id for a in prepared.articles})
                chunks += len(prepared.chunks)
    log.info("wrote %d chunks of %d articles on Ray", chunks, tally.counts["new"] + tally.counts["changed"],
             extra={"event": "ray_written", "articles": tally.counts["new"] + tally.counts["changed"],
                    "chunks": chunks})
    return chunks
