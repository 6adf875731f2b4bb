"""Ingestion on a Ray cluster: Ray Data reads and prepares, the driver alone writes the index.

    files ─► read_binary_files ─► flat_map(load_rows) ─► [driver: Index.pending]
          ─► read again, in blocks of one actor call ─► map_batches(keep_ids) ─► map_batches(Embedder actors: prepare)
          ─► driver: Index.publish, one generation per `commit_every` chunks

The stages are the local ones (`loaders.load_bytes`, `prepare.prepare`) over Arrow batches; only the index, on the
driver, has state. The driver holds the index's write lock for the whole run, so a run is one writer like `add`.
Rows travel as JSON strings and raw float32 bytes (no type inference across blocks); `preserve_order` keeps the
articles in the order a local run sees them, so chunk ids come out the same. A killed actor is restarted and its
batch retried by Ray Data (`max_restarts=-1`, `max_task_retries=-1`, its defaults for actor pools, set here
explicitly); a killed driver leaves the last published generation in force and a re-run skips what it published.
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

from ..errors import AssistantError, InputError
from ..offline import FORCED
from ..types import Article, Chunk
from .chunking import ChunkSettings
from .loaders import load_bytes
from .prepare import Prepared, prepare
from .walk import find

log = logging.getLogger(__name__)
DEFAULT_COMMIT_EVERY = 20_000  # chunks per published generation: bounds the writer's memory
ARTICLES_PER_BATCH = 32  # articles per actor call: small enough to balance 2 actors on 2,000 articles
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
# tests: each actor call records its pid in this folder and waits the seconds its `delay` file says (to kill one)
TEST_DIR = "ASSISTANT_RAY_TEST_DIR"


# ---- the Ray runtime --------------------------------------------------------------------------------
def require_ray() -> Any:
    os.environ.update(FORCED)  # RAY_USAGE_STATS_ENABLED=0 before ray is imported
    try:
        import ray
    except ImportError as exc:
        raise AssistantError("Ray is not installed: pip install 'news-assistant[ray]'") from exc
    return ray


def worker_env() -> dict[str, str]:
    """What every Ray worker process needs: this package importable, the telemetry opt-outs, the test hooks."""
    path = os.pathsep.join(p for p in (PACKAGE_ROOT, os.environ.get("PYTHONPATH", "")) if p)
    hooks = {TEST_DIR: os.environ[TEST_DIR]} if TEST_DIR in os.environ else {}
    return {"PYTHONPATH": path, **FORCED, **hooks}


def start(address: str | None = None, num_cpus: int | None = None) -> bool:
    """Connect to `address` ("auto", "ray://host:port") or start a small local runtime; True if this call started it."""
    ray = require_ray()
    if ray.is_initialized():
        return False
    if address:  # a cluster's workers get the environment through the job's runtime_env
        ray.init(address=address, runtime_env={"env_vars": worker_env()}, log_to_driver=False,
                 logging_level=logging.WARNING)
        return True
    # A local runtime: its workers inherit this environment (no runtime_env agent round trip per worker), and it
    # listens on 127.0.0.1 only: Ray would otherwise pick the address of the default route's interface.
    os.environ.update(worker_env())
    from ray._private import ray_constants

    ray_constants.ENABLE_RAY_CLUSTER = False  # services.get_node_ip_address() then answers 127.0.0.1
    ray.init(num_cpus=num_cpus or os.cpu_count() or 1, object_store_memory=256 * 2**20, include_dashboard=False,
             log_to_driver=False, logging_level=logging.WARNING)
    return True


def cluster_cpus() -> int:
    ray = require_ray()
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


# ---- the stages: plain functions over Arrow batches -------------------------------------------------
def load_rows(row: dict, ids: dict[str, str | None] | None = None) -> list[dict]:
    """One file's articles (the local loaders' cleaning and ids: `ids` maps a file to the id a local run gives it),
    or one error row."""
    try:
        articles = load_bytes(Path(row["path"]), row["bytes"], (ids or {}).get(row["path"]))
    except InputError as exc:
        return [{"id": "", "article": "", "error": str(exc)}]
    return [{"id": a.id, "article": json.dumps(asdict(a)), "error": ""} for a in articles]


def keep_ids(batch: Any, ids: frozenset[str]) -> Any:
    """The rows of articles that `Index.pending` chose."""
    import pyarrow as pa

    mask = [i in ids for i in batch.column("id").to_pylist()]
    return batch.filter(pa.array(mask, type=pa.bool_()))


def article_of(text: str) -> Article:
    return Article(**json.loads(text))


def to_table(prepared: Prepared) -> Any:
    """A prepared batch as one Arrow row per article: its chunks, their vectors (float32 bytes) and sentences."""
    import pyarrow as pa

    per: dict[str, list[int]] = {a.id: [] for a in prepared.articles}
    for n, chunk in enumerate(prepared.chunks):
        per[chunk.article_id].append(n)
    vectors = prepared.vectors if prepared.vectors is not None else np.zeros((0, 0), "float32")
    rows = [per[a.id] for a in prepared.articles]
    return pa.table({
        "article": pa.array([json.dumps(asdict(a)) for a in prepared.articles], pa.string()),
        "hash": pa.array(prepared.hashes, pa.string()),
        "chunks": pa.array([json.dumps([asdict(prepared.chunks[n]) for n in r]) for r in rows], pa.string()),
        "vectors": pa.array([np.ascontiguousarray(vectors[r], "float32").tobytes() for r in rows], pa.binary()),
        "sentences": pa.array([json.dumps([prepared.sentences[n] for n in r]) for r in rows], pa.string()),
    })


def from_table(table: Any, dim: int) -> Prepared:
    """The inverse of `to_table`, for one or more tables' rows."""
    cols = {name: table.column(name).to_pylist() for name in ("article", "hash", "chunks", "vectors", "sentences")}
    chunks = [Chunk(**c) for text in cols["chunks"] for c in json.loads(text)]
    sentences = [tuple(tuple(s) for s in spans) for text in cols["sentences"] for spans in json.loads(text)]
    vectors = np.frombuffer(b"".join(cols["vectors"]), dtype="float32").reshape(-1, dim)
    return Prepared([article_of(t) for t in cols["article"]], cols["hash"], chunks, vectors.copy(), sentences)


class Embedder:
    """A Ray Data actor: loads the encoder once, then runs the stateless `prepare` on each batch."""

    def __init__(self, backend: str, cache_dir: str, settings: dict, threads: int = 1):
        from ..encoders import load_encoder

        self.encoder = load_encoder(backend, cache_dir=cache_dir)
        if hasattr(self.encoder, "workers"):
            self.encoder.workers = threads  # one thread per CPU the actor was given, not per core of the machine
        self.settings = ChunkSettings(**settings)

    def __call__(self, batch: Any) -> Any:
        _test_hooks()
        articles = [article_of(t) for t in batch.column("article").to_pylist()]
        return to_table(prepare(articles, self.settings, self.encoder))


def _test_hooks() -> None:
    folder = os.environ.get(TEST_DIR)
    if folder:
        Path(folder, str(os.getpid())).touch()
        delay = Path(folder, "delay")
        if delay.exists():
            time.sleep(float(delay.read_text() or 0))


# ---- the driver ---------------------------------------------------------------------------------------
def read_articles(paths: Iterable[str | os.PathLike], block_bytes: int | None = None) -> Any:
    """A dataset of loaded articles (id, article JSON, error), in the order `load_paths` reads them, in blocks of
    about `block_bytes` (Ray's default when None)."""
    ray = require_ray()
    ids = {str(f.resolve()): art_id for f, art_id in find(paths).files}
    files = list(ids)
    if not files:
        return None
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # the order of a local run, so the same chunk ids
    context.enable_progress_bars = False  # ours shows articles/s and the ETA
    context.target_max_block_size = block_bytes or ray.data.context.DEFAULT_TARGET_MAX_BLOCK_SIZE
    # Reading and cleaning take no CPU of the budget: the Embedder actors hold one CPU each, and a read task
    # that waited for a free CPU would never run (Ray Data's budget deadlocks with actors on every CPU).
    return ray.data.read_binary_files(files, include_paths=True, num_cpus=0).flat_map(load_rows, fn_kwargs={"ids": ids}, num_cpus=0)


@dataclass
class Plan:
    """What `Index.pending` chose: ids to write, the ids they replace, how many are unchanged, per-file errors, and
    the JSON size of the articles to write (to cut them into blocks of one actor call)."""
    todo: frozenset[str] = frozenset()
    replaced: set[str] = field(default_factory=set)
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)
    todo_bytes: int = 0

    def block_bytes(self, batch_articles: int) -> int:
        return max(1024, self.todo_bytes * batch_articles // max(1, len(self.todo)))


def plan(index: Any, articles: Any) -> Plan:
    """Stream the loaded articles through `Index.pending`."""
    todo: set[str] = set()
    seen: set[str] = set()
    dupes: set[str] = set()
    out = Plan()
    for batch in articles.iter_batches(batch_size=1024, batch_format="pyarrow"):
        out.errors += [e for e in batch.column("error").to_pylist() if e]
        texts = [t for t in batch.column("article").to_pylist() if t]
        loaded = [article_of(t) for t in texts]
        dupes |= {a.id for a in loaded if a.id in seen}
        seen |= {a.id for a in loaded}
        new, old = index.pending([a for a in loaded if a.id not in dupes])
        ids = {a.id for a in new}
        todo |= ids
        out.todo_bytes += sum(len(t) for t, a in zip(texts, loaded) if a.id in ids)
        out.replaced |= old
        out.unchanged += len(loaded) - len(new)
    if dupes:
        raise InputError(f"duplicate article ids in one batch: {', '.join(sorted(dupes)[:5])}")
    out.todo = frozenset(todo)
    return out


def prepared_batches(index: Any, articles: Any, todo: frozenset[str], actors: int, batch_articles: int) -> Iterator[Any]:
    """Arrow tables of prepared articles, in input order, from `actors` Embedder actors.

    `articles` must come in blocks of about one actor call (`read_articles(..., Plan.block_bytes(...))`): an actor
    takes whole blocks, so a JSONL file read as one block would be embedded by one actor while the others wait.
    Ray's `repartition` would cut them too, but its tasks need a CPU the actors hold, and the run deadlocks."""
    ray = require_ray()
    kept = articles.map_batches(keep_ids, fn_kwargs={"ids": todo}, batch_format="pyarrow", num_cpus=0)
    prepared = kept.map_batches(
        Embedder, batch_size=batch_articles, batch_format="pyarrow", num_cpus=1,
        compute=ray.data.ActorPoolStrategy(size=actors), max_restarts=-1, max_task_retries=-1,
        fn_constructor_kwargs={"backend": index.backend, "cache_dir": str((index.path / "models").resolve()),
                               "settings": index.settings.to_dict()})
    yield from prepared.iter_batches(batch_size=None, batch_format="pyarrow")


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
                    [s for p in parts for s in p.sentences])


def ingest(index: Any, paths: Iterable[str | os.PathLike], address: str | None = None, actors: int | None = None,
           commit_every: int = DEFAULT_COMMIT_EVERY, progress: bool = False, strict: bool = False,
           batch_articles: int = ARTICLES_PER_BATCH, num_cpus: int | None = None) -> tuple[Any, list[str]]:
    """Index `paths` into `index` on Ray: (AddResult, per-file errors). Starts (and stops) a local runtime
    unless Ray is already initialised or `address` names a cluster."""
    from ..index.index import AddResult

    if commit_every < 1:
        raise InputError("--commit-every must be at least 1 chunk")
    paths = list(paths)
    started = start(address, num_cpus)
    try:
        articles = read_articles(paths)
        if articles is None:
            return AddResult(), []
        with index.writing():
            chosen = plan(index, articles)
            if chosen.errors and strict:
                raise InputError("; ".join(chosen.errors))
            result = AddResult(len(chosen.todo) - len(chosen.replaced), len(chosen.replaced), chosen.unchanged)
            if chosen.todo:
                blocks = read_articles(paths, chosen.block_bytes(batch_articles))
                result.chunks = write(index, blocks, chosen.todo, chosen.replaced, actors or cluster_cpus(),
                                      commit_every, progress, batch_articles)
        return result, chosen.errors
    finally:
        if started:
            require_ray().shutdown()


def write(index: Any, articles: Any, todo: frozenset[str], replaced: set[str], actors: int, commit_every: int,
          progress: bool, batch_articles: int) -> int:
    """Publish the prepared articles, one generation per `commit_every` chunks; the number of chunks written."""
    from tqdm import tqdm

    chunks = 0
    with tqdm(total=len(todo), unit="article", disable=not progress, desc="indexing on Ray") as bar:
        tables = prepared_batches(index, articles, todo, actors, batch_articles)
        for prepared in commit_batches(_counted(tables, bar), index.dim, commit_every):
            index.publish(prepared, replaced & {a.id for a in prepared.articles})
            chunks += len(prepared.chunks)
    log.info("wrote %d chunks of %d articles on Ray", chunks, len(todo),
             extra={"event": "ray_written", "articles": len(todo), "chunks": chunks})
    return chunks


def _counted(tables: Iterable[Any], bar: Any) -> Iterator[Any]:
    for table in tables:
        bar.update(table.num_rows)
        yield table
