"""Reliability and safety (docs/reliability.md).

1. Crash safety: a writer SIGKILLed between the stages of a write, or at a random moment inside one (embedding,
   FAISS save, BM25 save, SQLite commit, manifest write), leaves the previous generation in force (the new one once
   the commit is done); a rerun completes the write. Leftover files of crashed writers are ignored, then cleaned.
2. Operational basics: no silent empty index, clear version and damage messages, `check` exit codes, the write
   lock (fail fast or wait), JSON log lines.
3. Bad input, fuzzed with hypothesis: loaders, chunker, search and ask raise `InputError`/`AssistantError` or
   succeed, never anything else; a failed add changes nothing.
4. Offline guarantee: tests/test_offline.py (DNS and packets captured below Python).
5. Hostile article content is stored and returned verbatim, as data.

Subprocesses load the model (~5-10 s each), so the paused writers all start at once in one fixture and
everything that needs no separate process runs in-process through `assistant.cli.main`.
"""
from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import CARD_QUESTION, FIXTURES, ROOT, SEED_ID, SEEDS, copy_index
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import event as _event
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from assistant import (
    Article,
    Assistant,
    AssistantError,
    IndexLockedError,
    IndexMismatchError,
    InputError,
    logs,
)
from assistant import cli as cli_module
from assistant.errors import IndexDamagedError, IndexMissingError
from assistant.index.check import check, check_path, leftovers
from assistant.ingest.chunking import chunk_article
from assistant.ingest.cleaning import clean_text
from assistant.ingest.loaders import load_file, load_paths
from assistant.validate import check_articles

PY = sys.executable
STAGES = ("embed", "faiss", "sqlite")
UPDATED_ID = "greek-ferries"  # batch B changes this article of batch A
UPDATE_MARK = "Update: the union called off the strike on Thursday night."
B_QUERY = "Turkey military base Libya combat aircraft"


# ---- helpers -----------------------------------------------------------------------------------
def cli(*args: str) -> tuple[int, str, str]:
    """`assistant ARGS` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli_module.main([str(a) for a in args])
    finally:
        for h in root.handlers[:]:
            if h not in handlers:
                root.removeHandler(h)
        root.setLevel(level)
    return code, out.getvalue(), err.getvalue()


def contents(index: Path, encoder=None) -> dict:
    """What a reader sees: article ids, their texts, counts, generation."""
    a = Assistant.open(index, encoder=encoder, create=False)
    try:
        return {"ids": {r["id"] for r in a.articles()}, "stats": a.stats(),
                "texts": {r["id"]: a.article(r["id"]).text for r in a.articles()},
                "hits": {p.article_id for p in a.search(B_QUERY, k=10)},
                "problems": check(a.index), "generation": a.index.generation_on_disk()}
    finally:
        a.close()


def generation_files(index: Path) -> list[str]:
    return sorted(p.name for p in index.iterdir() if p.name.startswith(("vectors-", "bm25-")))


# `assistant index ...` with one stage of the write wrapped so that it stops there and waits to be killed: before
# embedding, before the FAISS write, before the SQLite commit, or right after the commit ("published").
PAUSING_WRITER = r"""
import sys, time
from assistant.cli import main
from assistant.index import index as index_module
from assistant.index.store import Store
from assistant.index.vectors import Vectors

stage = sys.argv[1]

def pause():
    print(f"PAUSED {stage}", file=sys.stderr, flush=True)
    time.sleep(600)

def before(owner, name):
    real = getattr(owner, name)
    def wrapped(*args, **kwargs):
        pause()
        return real(*args, **kwargs)
    setattr(owner, name, wrapped)

def after(owner, name):
    real = getattr(owner, name)
    def wrapped(*args, **kwargs):
        result = real(*args, **kwargs)
        pause()
        return result
    setattr(owner, name, wrapped)

{"embed": lambda: before(index_module, "prepare"), "faiss": lambda: before(Vectors, "save"),
 "sqlite": lambda: before(Store, "commit"), "published": lambda: after(Store, "commit")}[stage]()
sys.exit(main(sys.argv[2:]))
"""


class Writer:
    """`assistant index BATCH --index DIR` in a subprocess that pauses at a stage (see PAUSING_WRITER)."""

    def __init__(self, index: Path, batch: Path, stage: str):
        env = {**os.environ, "ASSISTANT_LOG": "json", "OMP_NUM_THREADS": "1"}
        self.index, self.stage, self.lines = index, stage, []
        self.paused = threading.Event()
        self.proc = subprocess.Popen([PY, "-c", PAUSING_WRITER, stage, "-v", "index", str(batch), "--index", str(index),
                                      "--quiet"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            if line.startswith(f"PAUSED {self.stage}"):
                self.paused.set()

    def wait_paused(self, deadline: float) -> None:
        while not self.paused.wait(0.2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"writer for stage {self.stage} never paused (exit {self.proc.returncode}):\n"
                            + "\n".join(self.lines[-30:]))

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def json_logs(self) -> list[dict]:
        return [json.loads(line) for line in self.lines if line.startswith("{")]


# ---- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Encode on one thread here: on 2 shared cores, torch's spinning thread pool makes a one-query encode
    ~20x slower under load, and these tests encode thousands of fuzzed queries. Restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def batches(tmp_path_factory) -> dict:
    """Batch A: the four distractors. Batch B: the seed article (new) and a changed version of one of A's."""
    root = tmp_path_factory.mktemp("batches")
    a_articles = load_file(FIXTURES / "distractors.jsonl")
    (root / "A").mkdir()
    shutil.copy(FIXTURES / "distractors.jsonl", root / "A" / "a.jsonl")
    (root / "B").mkdir()
    shutil.copy(SEEDS / f"{SEED_ID}.txt", root / "B")
    old = next(a for a in a_articles if a.id == UPDATED_ID)
    row = {"id": old.id, "title": old.title, "date": old.date, "source": old.source, "text": f"{old.text}\n\n{UPDATE_MARK}"}
    (root / "B" / "update.jsonl").write_text(json.dumps(row) + "\n")
    return {"A": root / "A", "B": root / "B", "A_ids": {a.id for a in a_articles},
            "A_texts": {a.id: a.text for a in a_articles}, "B_ids": {SEED_ID, UPDATED_ID}}


@pytest.fixture(scope="module")
def index_a(tmp_path_factory, batches) -> Path:
    """An index of batch A, built once through the CLI; copy it before writing."""
    path = tmp_path_factory.mktemp("index_a") / "index"
    code, out, err = cli("index", batches["A"], "--index", path, "--quiet")
    assert code == 0, err
    assert f"index holds {len(batches['A_ids'])} articles" in out
    return path


@pytest.fixture(scope="module")
def paused(tmp_path_factory, index_a, batches):
    """One writer of batch B per stage, all started at once (model loads overlap), each paused at its stage.

    "lock" is a writer paused at "embed" (holding the write lock) for the lock test; "published" pauses right
    after the SQLite commit.
    """
    root = tmp_path_factory.mktemp("paused")
    stages = {s: s for s in (*STAGES, "published")} | {"lock": "embed"}
    writers = {name: Writer(copy_index(index_a, root / name), batches["B"], stage) for name, stage in stages.items()}
    deadline = time.monotonic() + 240
    try:
        for w in writers.values():
            w.wait_paused(deadline)
        yield writers
    finally:
        for w in writers.values():
            w.kill()


def assert_holds_a(index: Path, batches: dict, encoder=None) -> dict:
    seen = contents(index, encoder)
    assert seen["problems"] == []
    assert seen["ids"] == batches["A_ids"]
    assert seen["stats"]["articles"] == len(batches["A_ids"])
    assert seen["texts"] == batches["A_texts"]  # the changed article is still the old version
    assert SEED_ID not in seen["hits"]
    assert seen["generation"] == 1
    return seen


def assert_holds_a_and_b(index: Path, batches: dict, encoder=None) -> dict:
    seen = contents(index, encoder)
    assert seen["problems"] == []
    assert seen["ids"] == batches["A_ids"] | batches["B_ids"]
    assert seen["stats"]["articles"] == len(batches["A_ids"] | batches["B_ids"])
    assert seen["texts"][UPDATED_ID].endswith(UPDATE_MARK)
    assert SEED_ID in seen["hits"]
    return seen


# ---- 1. crash safety ---------------------------------------------------------------------------
@pytest.mark.parametrize("stage", STAGES)
def test_crash_before_commit_keeps_previous_generation(stage, paused, batches):
    writer = paused[stage]
    index = writer.index
    at_pause = generation_files(index)
    writer.kill()
    assert writer.proc.returncode == -signal.SIGKILL
    # Where each stage stands: at "sqlite" every file of generation 2 is written and only the commit is missing.
    new_files = [n for n in at_pause if "000002" in n]
    if stage == "sqlite":
        assert {"vectors-000002.faiss", "vectors-000002.ids.npy", "bm25-000002"} <= set(new_files)
    else:
        assert new_files == []
    # The writer logged JSON lines up to the pause (structured logging works in a real process).
    assert writer.json_logs() and all({"time", "level", "logger", "message"} <= set(r) for r in writer.json_logs())

    code, out, err = cli("check", "--index", index)
    assert code == 0 and "index OK" in out, err
    if stage == "sqlite":
        assert "left by an interrupted write" in err
    assert_holds_a(index, batches)

    code, out, err = cli("index", batches["B"], "--index", index, "--quiet")
    assert code == 0, err
    assert "indexed 1 new, 1 changed, 0 unchanged" in out
    code, out, err = cli("check", "--index", index)
    assert code == 0 and "index OK" in out and "interrupted" not in err, err
    seen = assert_holds_a_and_b(index, batches)
    assert seen["generation"] == 2
    assert generation_files(index) == ["bm25-000002", "vectors-000002.faiss", "vectors-000002.ids.npy"]
    assert not list(index.glob("*.tmp"))


def test_crash_after_commit_keeps_new_generation(paused, batches):
    """The SQLite commit is the publishing point: killed right after it, the index holds A+B."""
    writer = paused["published"]
    writer.kill()
    index = writer.index
    assert contents(index)["generation"] == 2
    code, out, err = cli("check", "--index", index)
    assert code == 0, err
    assert "left by an interrupted write" in err  # generation 1's files, not yet cleaned
    assert_holds_a_and_b(index, batches)
    assert json.loads((index / "manifest.json").read_text())["generation"] == 1  # the readable copy lags...
    code, out, err = cli("index", batches["B"], "--index", index, "--quiet")
    assert code == 0 and "0 new, 0 changed, 2 unchanged" in out, err
    assert generation_files(index) == ["bm25-000002", "vectors-000002.faiss", "vectors-000002.ids.npy"]
    assert json.loads((index / "manifest.json").read_text())["generation"] == 2  # ...until the next writer tidies


def test_leftover_files_are_ignored_then_cleaned(tmp_path, index_a, batches):
    index = copy_index(index_a, tmp_path / "index")
    junk = {
        "vectors-000002.faiss": b"not a faiss index", "vectors-000002.ids.npy": b"\x93NUMPY truncated",
        "vectors-000002.faiss.tmp": b"half a write", "vectors-000009.faiss": b"from the future",
        "vectors-000001.ids.npy.tmp": b"x", "manifest.json.tmp": b'{"generation": 99',
    }
    for name, data in junk.items():
        (index / name).write_bytes(data)
    (index / "bm25-000002").mkdir()
    (index / "bm25-000002" / "params.index.json").write_text("{broken")

    problems, left = check_path(index)
    assert problems == []
    assert set(left) == set(junk) | {"bm25-000002"}
    assert_holds_a(index, batches)
    code, out, err = cli("index", batches["B"], "--index", index, "--quiet")
    assert code == 0, err
    assert_holds_a_and_b(index, batches)
    assert generation_files(index) == ["bm25-000002", "vectors-000002.faiss", "vectors-000002.ids.npy"]
    assert not (index / "manifest.json.tmp").exists() and not list(index.glob("*.tmp"))


# A writer killed at a random moment *inside* one call of a write: `Assistant.open(INDEX).add(BATCH)` in a child
# whose stage calls write "start STAGE" and "end STAGE" to a pipe around the real call (the wrapping lives in this
# script, not in the package). The parent kills it a random delay after "start", up to the call's length.
KILL_STAGES = {"embed": ("assistant.encoders.onnx_encoder", "OnnxEncoder", "encode"),
               "faiss": ("assistant.index.vectors", "Vectors", "save"),
               "bm25": ("assistant.index.lexical", "Lexical", "save"),
               "sqlite": ("assistant.index.store", "Store", "commit"),
               "manifest": ("assistant.index.manifest", None, "write")}
GENERATION_AFTER_KILL = {"embed": {1}, "faiss": {1}, "bm25": {1}, "sqlite": {1, 2}, "manifest": {2}}
MARKED_WRITER = r"""
import importlib, json, os, sys, time
from assistant import Assistant
from assistant.ingest.loaders import load_paths

index, batch, marks, stages = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])

def marked(stage, module, cls, name):
    owner = importlib.import_module(module)
    owner = getattr(owner, cls) if cls else owner
    real = getattr(owner, name)
    def wrapped(*args, **kwargs):
        os.write(marks, f"start {stage} {time.monotonic()}\n".encode())
        result = real(*args, **kwargs)
        os.write(marks, f"end {stage} {time.monotonic()}\n".encode())
        return result
    setattr(owner, name, wrapped)

for stage, where in stages.items():
    marked(stage, *where)
articles, errors = load_paths([batch])
assert not errors, errors
Assistant.open(index).add(articles)
"""


@dataclass
class MarkedRun:
    """One marked writer: the times its stage calls began and ended, and how it ended."""

    marks: dict[str, list[float]]
    returncode: int
    delay: float
    stderr: str

    def killed_inside(self, stage: str) -> bool:
        """SIGKILLed after the stage's call began and before it returned."""
        return self.returncode == -signal.SIGKILL and len(self.marks.get(stage, [])) == 1


def run_marked_writer(index: Path, batch: Path, log: Path, stage: str | None = None, delay: float = 0.0) -> MarkedRun:
    """The marked writer on `index`; with `stage`, SIGKILLed `delay` seconds after that stage's call began."""
    read, write = os.pipe()
    with open(log, "w") as err:
        proc = subprocess.Popen([PY, "-c", MARKED_WRITER, str(index), str(batch), str(write), json.dumps(KILL_STAGES)],
                                cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, pass_fds=(write,),
                                stdout=subprocess.DEVNULL, stderr=err)
    os.close(write)
    data = b""
    try:
        while stage is not None and f"start {stage} ".encode() not in data:
            chunk = os.read(read, 4096)
            if not chunk:
                break
            data += chunk
        if stage is not None and proc.poll() is None:
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=120)
        while chunk := os.read(read, 4096):
            data += chunk
    finally:
        os.close(read)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    marks: dict[str, list[float]] = {}
    for line in data.decode().splitlines():
        _, name, at = line.split()
        marks.setdefault(name, []).append(float(at))
    return MarkedRun(marks, proc.returncode, delay, log.read_text())


def copy_without_model(src: Path, dst: Path) -> Path:
    """`copy_index` without the 58 MB model file: the writer links it from the shared model cache."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("write.lock", "models"))
    return dst


@pytest.fixture(scope="module")
def int8_encoder():
    """This process's encoder, passed as an object: opening each copy by name would load a model per folder."""
    from assistant.encoders import load_encoder

    return load_encoder("onnx-int8")


@pytest.fixture(scope="module")
def stage_seconds(tmp_path_factory, index_a, batches) -> dict[str, float]:
    """How long each stage's call lasts here, from one marked writer left to finish: the first kills' range."""
    root = tmp_path_factory.mktemp("calibrate")
    run = run_marked_writer(copy_without_model(index_a, root / "index"), batches["B"], root / "writer.log")
    assert run.returncode == 0, run.stderr
    seconds = {}
    for stage in KILL_STAGES:
        assert len(run.marks.get(stage, [])) == 2, (stage, run.marks, run.stderr)
        start, end = run.marks[stage]
        seconds[stage] = end - start
    print("stage calls:", ", ".join(f"{s} {t * 1000:.1f} ms" for s, t in seconds.items()))
    return seconds


LANDS_INSIDE = 0.05  # seconds: a call at least this long must take at least one kill inside it


def kill_inside(stage: str, kills: int, root: Path, index_a: Path, batches: dict, seconds: float, encoder) -> None:
    """`kills` writers killed inside `stage`'s call at random offsets; after each, the index opens, `assistant check`
    passes, it holds exactly A (or A+B once the commit is done), and re-running the add completes it.

    The delay is drawn up to the call's length in the latest run that finished it (a writer killed after the call
    shows how long it took this time): the shared machine's load changes that length several times over.
    """
    rng = random.Random()
    b_articles = load_paths([batches["B"]])[0]
    inside = 0
    for attempt in range(kills):
        index = copy_without_model(index_a, root / f"{stage}-{attempt}")
        run = run_marked_writer(index, batches["B"], root / f"{stage}-{attempt}.log", stage, rng.uniform(0, seconds))
        where = f"{stage}, kill {attempt} at {run.delay * 1000:.2f} ms, marks {run.marks}:\n{run.stderr[-2000:]}"
        assert run.marks.get(stage) and run.returncode in (-signal.SIGKILL, 0), where
        if run.killed_inside(stage):
            inside += 1
        else:
            seconds = run.marks[stage][1] - run.marks[stage][0]

        code, out, err = cli("check", "--index", index)
        assert code == 0 and "index OK" in out and "problem" not in err, f"{where}\n{err}"
        generation = contents(index, encoder)["generation"]
        assert generation in GENERATION_AFTER_KILL[stage], where
        (assert_holds_a if generation == 1 else assert_holds_a_and_b)(index, batches, encoder)

        a = Assistant.open(index, encoder=encoder, create=False)
        try:
            result = a.add(b_articles)
        finally:
            a.close()
        assert (result.added, result.updated) == ((1, 1) if generation == 1 else (0, 0)), where
        code, out, err = cli("check", "--index", index)
        assert code == 0 and "index OK" in out and err == "", f"{where}\n{err}"
        assert assert_holds_a_and_b(index, batches, encoder)["generation"] == 2
        assert generation_files(index) == ["bm25-000002", "vectors-000002.faiss", "vectors-000002.ids.npy"], where
        assert not list(index.glob("*.tmp")) and json.loads((index / "manifest.json").read_text())["generation"] == 2
        shutil.rmtree(index)
    print(f"{stage}: {inside} of {kills} kills landed inside the call")
    # A call of a millisecond or two (the SQLite commit, the manifest write on an idle machine) often ends before
    # the parent's kill arrives; the kill then lands in the steps after it, which must be as safe.
    if seconds >= LANDS_INSIDE:
        assert inside, f"no kill landed inside {stage}'s {seconds * 1000:.1f} ms call"


@pytest.mark.parametrize("stage", KILL_STAGES)
def test_kill_inside_a_stage(stage, tmp_path, index_a, batches, stage_seconds, int8_encoder):
    kill_inside(stage, 5, tmp_path, index_a, batches, stage_seconds[stage], int8_encoder)


@pytest.mark.slow
@pytest.mark.parametrize("stage", KILL_STAGES)
def test_kill_inside_a_stage_slow(stage, tmp_path, index_a, batches, stage_seconds, int8_encoder):
    kill_inside(stage, 10, tmp_path, index_a, batches, stage_seconds[stage], int8_encoder)


# ---- 2. operational basics ---------------------------------------------------------------------
@pytest.mark.parametrize("command", [["search", "Turkey"], ["ask", "Why?"], ["chat"], ["remove", "x"], ["stats"],
                                     ["check"]])
def test_commands_need_an_existing_index(command, tmp_path):
    for folder in (tmp_path / "missing", tmp_path):  # no folder; a folder without an index
        code, out, err = cli(*command, "--index", folder)
        assert code != 0
        assert f"no index at {folder}; build it with `assistant index PATH --index {folder}`" in err
        assert not (folder / "index.sqlite").exists()
    assert not (tmp_path / "missing").exists()
    with pytest.raises(IndexMissingError):
        Assistant.open(tmp_path / "missing", create=False)


def test_python_api_still_creates_an_empty_index(tmp_path):
    a = Assistant.open(tmp_path / "new")
    try:
        assert a.stats()["articles"] == 0 and a.search("anything") == []
    finally:
        a.close()
    code, out, _ = cli("check", "--index", tmp_path / "new")
    assert code == 0 and "index OK" in out


def _set_format_version(index: Path, version) -> None:
    with contextlib.closing(sqlite3.connect(index / "index.sqlite")) as db:
        manifest = json.loads(db.execute("SELECT value FROM meta WHERE key = 'manifest'").fetchone()[0])
        manifest["format_version"] = version
        db.execute("UPDATE meta SET value = ? WHERE key = 'manifest'", (json.dumps(manifest),))
        db.commit()


@pytest.mark.parametrize("version, words, advice", [
    (0, "older version", "Rebuild it: assistant index --rebuild --index {index} PATH"),
    (99, "newer version", "(format 99); upgrade the package"),
], ids=["older", "newer"])
def test_other_format_versions_are_refused_clearly(version, words, advice, tmp_path, index_a, batches):
    index = copy_index(index_a, tmp_path / "index")
    _set_format_version(index, version)
    with pytest.raises(IndexMismatchError, match=words):
        Assistant.open(index)
    code, out, err = cli("stats", "--index", index)
    assert code == 2 and words in err and "Traceback" not in err
    code, out, err = cli("check", "--index", index)
    assert code == 1 and words in err
    assert advice.format(index=index) in err
    assert cli("index", batches["A"], "--index", index, "--rebuild", "--quiet")[0] == 0  # rebuilding always works
    assert_holds_a(index, batches)


def test_damaged_index_is_reported_not_crashed(tmp_path, index_a, batches):
    missing = copy_index(index_a, tmp_path / "missing")
    (missing / "vectors-000001.faiss").unlink()
    truncated = copy_index(index_a, tmp_path / "truncated")
    data = (truncated / "vectors-000001.faiss").read_bytes()
    (truncated / "vectors-000001.faiss").write_bytes(data[: len(data) // 2])
    garbage = copy_index(index_a, tmp_path / "garbage")
    for p in garbage.glob("index.sqlite*"):
        p.unlink()
    (garbage / "index.sqlite").write_bytes(b"this is not a database" * 100)
    for index in (missing, truncated, garbage):
        with pytest.raises(IndexDamagedError, match="rebuild"):
            Assistant.open(index)
        code, out, err = cli("search", "Turkey", "--index", index)
        assert code == 2 and "error:" in err and "Traceback" not in err
        code, out, err = cli("check", "--index", index)
        assert code == 1 and "problem:" in err and "--rebuild" in err
        code, out, err = cli("index", batches["A"], "--index", index, "--rebuild", "--quiet")  # the advice works
        assert code == 0, err
        assert_holds_a(index, batches)


def test_interrupted_rebuild_leaves_an_openable_index(tmp_path, index_a, batches, monkeypatch):
    """`--rebuild` empties the database in one transaction before deleting files: killed in between, the index
    opens (empty), and the next write removes the old files."""
    index = copy_index(index_a, tmp_path / "index")

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "unlink", killed)
    monkeypatch.setattr(shutil, "rmtree", killed)
    code, out, err = cli("index", batches["B"], "--index", index, "--rebuild", "--quiet")
    assert code == 130
    monkeypatch.undo()
    assert "vectors-000001.faiss" in generation_files(index)  # nothing deleted yet...
    problems, left = check_path(index)
    assert problems == [] and "vectors-000001.faiss" in left  # ...but the index is valid, and empty
    assert contents(index)["ids"] == set()
    assert cli("index", batches["B"], "--index", index, "--quiet")[0] == 0
    seen = contents(index)
    assert seen["ids"] == batches["B_ids"] and seen["problems"] == []
    assert generation_files(index) == ["bm25-000001", "vectors-000001.faiss", "vectors-000001.ids.npy"]


def test_write_lock_fails_fast_or_waits(paused, batches, monkeypatch, caplog):
    """A paused `assistant index` holds the lock: a short timeout fails clearly, a long one waits it out."""
    writer = paused["lock"]
    index = writer.index
    started = time.monotonic()
    code, out, err = cli("index", batches["B"], "--index", index, "--quiet", "--lock-timeout", "0.5")
    assert code == 2 and "being written by another process" in err and "--lock-timeout" in err
    assert time.monotonic() - started < 30
    blocked = Assistant.open(index, lock_timeout=0.2)
    with pytest.raises(IndexLockedError, match="being written by another process"):
        blocked.remove(UPDATED_ID)
    assert blocked.search(B_QUERY) and blocked.stats()["articles"] == len(batches["A_ids"])  # readers never wait
    blocked.close()

    monkeypatch.setenv("ASSISTANT_LOCK_TIMEOUT", "120")
    caplog.set_level(logging.INFO, logger="assistant.index")
    waiting = Assistant.open(index)
    result: dict = {}

    def add() -> None:
        try:
            result["added"] = waiting.add_path(batches["B"])
        except BaseException as exc:  # reported below
            result["error"] = exc

    thread = threading.Thread(target=add)
    thread.start()
    deadline = time.monotonic() + 60
    while not any(getattr(r, "event", None) == "lock_wait" for r in caplog.records):
        assert thread.is_alive() and time.monotonic() < deadline, result
        time.sleep(0.05)
    time.sleep(0.3)
    assert thread.is_alive()  # still waiting
    writer.kill()  # the holder dies; the kernel releases its lock
    thread.join(60)
    waiting.close()
    assert "error" not in result, result.get("error")
    assert (result["added"].added, result["added"].updated) == (1, 1)
    assert any(getattr(r, "event", None) == "lock_acquired" for r in caplog.records)
    assert_holds_a_and_b(index, batches)


def test_check_exit_codes(tmp_path, index_a):
    index = copy_index(index_a, tmp_path / "index")
    assert cli("check", "--index", index)[0] == 0
    with contextlib.closing(sqlite3.connect(index / "index.sqlite")) as db:  # a row the vectors do not have
        db.execute("DELETE FROM chunks WHERE id = (SELECT MAX(id) FROM chunks)")
        db.commit()
    code, out, err = cli("check", "--index", index)
    assert code == 1 and "problem(s)" in out and "FAISS holds" in err


def test_json_log_lines(tmp_path, index_a, monkeypatch):
    index = copy_index(index_a, tmp_path / "index")
    code, out, err = cli("remove", UPDATED_ID, "--index", index, "-v", "--log-json")
    assert code == 0, err
    records = [json.loads(line) for line in err.splitlines() if line.strip()]  # every line is JSON
    published = [r for r in records if r.get("event") == "published"]
    assert published and published[0]["level"] == "info" and published[0]["generation"] == 2
    assert not any(r["logger"].startswith("bm25s") for r in records)  # library chatter stays out below -vv
    monkeypatch.setenv("ASSISTANT_LOG", "json")
    code, out, err = cli("check", "--index", index, "-v")
    assert code == 0 and json.loads(err.splitlines()[-1])["event"] == "check"
    monkeypatch.delenv("ASSISTANT_LOG")
    code, out, err = cli("check", "--index", index, "-v")
    assert re.search(r" INFO assistant\.index\.check: checked ", err)
    code, out, err = cli("check", "--index", index)
    assert err == ""  # quiet by default


def test_log_setup_levels(monkeypatch):
    monkeypatch.setenv("ASSISTANT_LOG_LEVEL", "debug")
    assert logs.level_for(0) == logging.DEBUG
    monkeypatch.setenv("ASSISTANT_LOG_LEVEL", "nonsense")
    assert logs.level_for(0) == logging.WARNING
    assert logs.level_for(1) == logging.INFO and logs.level_for(2) == logging.DEBUG
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "n=%d", (3,), None)
    record.generation = 7
    line = json.loads(logs.JsonFormatter().format(record))
    assert line["message"] == "n=3" and line["generation"] == 7 and line["level"] == "info"


# ---- 3. bad input, fuzzed ----------------------------------------------------------------------
SPECIAL = ["\u200b", "\u200c", "\u200d", "\ufeff", "\u00ad", "\u200e", "\u200f", "\u202a", "\u202b", "\u202e",
           "\u2066", "\u2069", "\x00", "\x07", "\x1b[31m", "\x7f", "\r", "\r\n", "\n\n\n", "\u2028", "\u2029",
           "\u0301", "e\u0301", "\ufdfa", "\U0001d518", "\U0001f600", "\u0645\u0631\u062d\u0628\u0627", "שלום",
           " ", "\t", "\u00a0", "\u3000", "<script>alert(1)</script>", "]]>", "\\", '"', "'", "%s", "{0}", "\ud7ff",
           "Turkey", "Libya", "military base", "ratified", "Qaddafi", ".", "?", "!", "video", "6116515044001"]
messy = st.lists(st.one_of(st.text(max_size=30), st.sampled_from(SPECIAL)), max_size=25).map("".join)
dates = st.one_of(st.none(), st.dates().map(str), st.text(max_size=12),
                  st.sampled_from(["2019-02-30", "2019-13-01", "0000-00-00", "99999-01-01", "yesterday", "1e10",
                                   "2019-12-26T10:00:00+25:00", "12/26/2019", "-1", "0", "2019-12-26", "٢٠١٩"]))
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), messy, dates)
json_values = st.one_of(json_scalars, st.lists(json_scalars, max_size=3), st.dictionaries(st.text(max_size=4), json_scalars, max_size=2))
KEYS = ["id", "title", "text", "date", "source", "url"]
rows = st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=5)), json_values, max_size=7)
good_rows = st.fixed_dictionaries({"text": st.tuples(st.sampled_from(["Turkey", "A story"]), messy).map(" ".join)},
                                  optional={"id": st.one_of(messy, st.integers()), "title": messy,
                                            "date": st.one_of(st.dates().map(str), st.just("2019-12-26T10:00:00Z")),
                                            "source": messy, "url": messy})


@st.composite
def jsonl(draw) -> bytes:
    ascii_only = draw(st.booleans())
    line = good_rows.map(lambda r: json.dumps(r, ensure_ascii=ascii_only))
    if draw(st.booleans()):  # some bad lines too
        line = line | rows.map(lambda r: json.dumps(r, ensure_ascii=ascii_only)) | json_values.map(json.dumps) | messy
    lines = draw(st.lists(line, max_size=6))
    if lines and draw(st.booleans()):
        lines.append(lines[0])  # duplicate line: duplicate ids
    data = "\n".join(lines)
    if data and draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]  # truncated
    return data.encode("utf-8", "surrogatepass")


@st.composite
def html(draw) -> bytes:
    parts = draw(st.lists(st.one_of(messy, st.sampled_from(
        ["<html>", "<head><title>", "</title>", "<meta property='og:title' content='", "'>", "<body>", "<article>",
         "<p>", "</p>", "<script>", "</script>", "<br>", "<time datetime='", "<meta name='date' content='", "<!--",
         "-->", "<![CDATA[", "&amp;", "&#0;", "&#x110000;", "<div", "<"])), max_size=30))
    return "".join(parts).encode("utf-8", "surrogatepass")


file_bytes = st.one_of(st.binary(max_size=3000), messy.map(lambda t: t.encode("utf-8", "surrogatepass")),
                       messy.map(lambda t: t.encode("utf-16")), jsonl(), html(),
                       st.binary(max_size=200).map(lambda b: b"\xef\xbb\xbf" + b))
suffixes = st.sampled_from([".txt", ".md", ".jsonl", ".ndjson", ".html", ".htm", ".TXT", ".bin", ""])


@st.composite
def files(draw) -> tuple[bytes, str]:
    """(content, suffix): usually content of the suffix's kind, sometimes anything."""
    suffix = draw(suffixes)
    kind = suffix.lower()
    if draw(st.integers(0, 3)) == 0:
        return draw(file_bytes), suffix
    if kind in (".jsonl", ".ndjson"):
        return draw(jsonl()), suffix
    if kind in (".html", ".htm"):
        return draw(html()), suffix
    return draw(st.one_of(messy.map(lambda t: t.encode("utf-8", "surrogatepass")), file_bytes)), suffix
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def event(label: str) -> None:
    """Count outcomes in `--hypothesis-show-statistics` (a no-op outside a property test)."""
    if currently_in_test_context():
        _event(label)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _check_loader(fuzz_dir: Path, data: bytes, suffix: str) -> None:
    path = fuzz_dir / f"article{suffix}"
    path.write_bytes(data)
    try:
        articles = load_file(path)
    except InputError as exc:
        assert str(exc)
        event("loader: InputError")
        return
    event(f"loader: {min(len(articles), 3)}{'+' if len(articles) >= 3 else ''} article(s)")
    assert articles
    for a in articles:
        assert isinstance(a.id, str) and isinstance(a.title, str)  # a blank id: see test_blank_jsonl_id_...
        assert isinstance(a.text, str) and a.text.strip() and a.text == a.text.strip()
        assert a.date is None or ISO.match(a.date)
        assert not set(a.text) & set("\x00\u200b\ufeff\r")
    try:
        check_articles(articles)  # what the index accepts: loaders' output, or a clear InputError (e.g. NUL in a url)
    except InputError:
        pass


def _check_chunks(raw: str) -> None:
    text = clean_text(raw)
    assume(text)
    chunks = chunk_article(Article("a", "t", text))
    assert chunks
    for i, c in enumerate(chunks):
        assert c.index == i and 0 <= c.start < c.end <= len(text)
        assert text[c.start:c.end] == c.text and c.text.strip()
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)


good_filters = st.fixed_dictionaries({}, optional={
    "date_from": st.dates().map(str), "date_to": st.dates().map(str),
    "source": st.sampled_from(["Nile Wire", "nile wire", "Aegean Post", "none"]),
    "article_id": st.lists(st.sampled_from([SEED_ID, "sudan-grain", "turkish-lira", "missing"]), max_size=3)})
any_filters = st.fixed_dictionaries({}, optional={
    "date_from": dates, "date_to": dates, "source": messy,
    "article_id": st.one_of(messy, st.lists(messy, max_size=3)), "bogus": messy})
filters = st.one_of(st.none(), st.none(), good_filters, any_filters)
modes = st.one_of(st.just("hybrid"), st.sampled_from(["hybrid", "dense", "bm25", "bogus", ""]))
history = st.lists(st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "system"]), "content": messy}),
                   max_size=4)
some_messy = st.lists(st.one_of(st.text(max_size=30), st.sampled_from(SPECIAL)), min_size=1, max_size=25).map("".join)
queries = st.one_of(some_messy, some_messy, st.text(min_size=1, max_size=200), st.text(min_size=1990, max_size=2010),
                    st.sampled_from([CARD_QUESTION, "", " ", "\u200b", "?", "*", "AND OR NOT", "' OR 1=1 --"]))


def _check_search(assistant: Assistant, query: str, k: int, mode: str, flt) -> None:
    try:
        passages = assistant.search(query, k=k, filters=flt, mode=mode)
    except InputError as exc:
        assert str(exc)
        event("search: InputError")
        return
    event(f"search: {'passages' if passages else 'no passages'}")
    assert len(passages) <= max(k, 0)
    for p in passages:
        assert assistant.article(p.article_id).text[p.start:p.end] == p.text


def _check_ask(assistant: Assistant, question: str, turns, flt) -> None:
    try:
        ans = assistant.ask(question, turns, filters=flt)
    except InputError as exc:
        assert str(exc)
        event("ask: InputError")
        return
    event(f"ask: {'refused' if ans.refused else 'answered'}")
    assert ans.text and (ans.refused or ans.citations)
    for c in ans.citations:
        assert assistant.article(c.article_id).text[c.quote_start:c.quote_end] == c.quote


FUZZ = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def fuzz_tests(n_default: int, n_slow: int, **strategies):
    """A default-run property test with `n_default` examples and a `slow` one with `n_slow`."""
    def make(func):
        fast = settings(max_examples=n_default, **FUZZ)(given(**strategies)(func))
        slow = pytest.mark.slow(settings(max_examples=n_slow, **FUZZ)(given(**strategies)(func)))
        return fast, slow
    return make


def _loader(fuzz_dir, file):
    _check_loader(fuzz_dir, *file)


test_fuzz_loaders, test_fuzz_loaders_slow = fuzz_tests(100, 1500, file=files())(_loader)


def _chunker(raw):
    _check_chunks(raw)


test_fuzz_chunk_offsets, test_fuzz_chunk_offsets_slow = fuzz_tests(
    100, 1000, raw=st.one_of(messy, st.text(max_size=3000)))(_chunker)


def _search(assistant, query, k, mode, flt):
    _check_search(assistant, query, k, mode, flt)


test_fuzz_search, test_fuzz_search_slow = fuzz_tests(
    100, 1000, query=queries, k=st.integers(-3, 10**6), mode=modes, flt=filters)(_search)


def _ask(assistant, question, turns, flt):
    _check_ask(assistant, question, turns, flt)


test_fuzz_ask, test_fuzz_ask_slow = fuzz_tests(10, 1000, question=queries, turns=history, flt=filters)(_ask)


def test_nasty_files(fuzz_dir):
    """Named cases the fuzzer may not hit: each loads or is a clear InputError."""
    words = " ".join(["word"] * 200_000)  # ~1 MB on one line
    cases = {
        "empty.txt": b"", "blank.txt": b" \n\t\r\n \xe2\x80\x8b", "blank.jsonl": b"\n\n  \n",
        "nul.txt": b"abc\x00def", "latin1.txt": "caf\xe9 na\xefve".encode("latin-1"),
        "utf16.txt": "Headline\n\nBody text here.".encode("utf-16"),
        "bom.txt": b"\xef\xbb\xbfHeadline\n\nBody.", "control.txt": b"\x01\x02\x03 text \x1b[31m red",
        "zero-width.txt": "\u200b\u200c\u200d\ufeff".encode(), "rtl.txt": "\u202eevil.exe txt.\u202c مرحبا בעולם".encode(),
        "truncated.jsonl": b'{"id": "a", "text": "one"}\n{"id": "b", "te', "notobject.jsonl": b"[1, 2]\n",
        "textnotstr.jsonl": b'{"id": "a", "text": 5}\n', "baddate.jsonl": b'{"id": "a", "text": "x", "date": "2019-02-30"}\n',
        "dupes.jsonl": b'{"id": "a", "text": "one"}\n{"id": "a", "text": "two"}\n',
        "onlyscript.html": b"<html><script>alert(1)</script></html>", "big.txt": words.encode(),
        "big.jsonl": json.dumps({"id": "big", "text": words}).encode(), "noext": b"text",
    }
    for name, data in cases.items():
        suffix = Path(name).suffix
        _check_loader(fuzz_dir, data, suffix)
    assert len(load_file(fuzz_dir / "article.jsonl")) == 1  # big.jsonl was the last .jsonl written


@pytest.mark.parametrize("loader", ["load_file", "load_paths"])
def test_deeply_nested_jsonl_is_an_input_error(loader, tmp_path):
    path = tmp_path / "nested.jsonl"
    path.write_text("[" * 100_000 + "\n")
    if loader == "load_file":
        with pytest.raises(InputError):
            load_file(path)
    else:
        articles, errors = load_paths([tmp_path])
        assert articles == [] and len(errors) == 1


def test_blank_jsonl_id_gets_an_id_or_a_clear_error(tmp_path):
    path = tmp_path / "blank-id.jsonl"
    path.write_text('{"id": " ", "text": "Turkey sent advisers."}\n')
    try:
        (article,) = load_file(path)
    except InputError as exc:
        assert "blank-id.jsonl:1" in str(exc)
    else:
        assert article.id.strip()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory, built_index) -> Assistant:
    """A writable copy of the session index for tests that add."""
    a = Assistant.open(copy_index(built_index, tmp_path_factory.mktemp("scratch") / "index"))
    yield a
    a.close()


def _state(a: Assistant) -> tuple:
    return a.index.generation_on_disk(), a.index.store.counts(), sorted(r["id"] for r in a.articles())


BAD_BATCHES = {
    "duplicate ids": [Article("dup", "t", "one text"), Article("dup", "t", "another text")],
    "empty text": [Article("ok-1", "t", "fine text"), Article("empty", "t", "")],
    "whitespace text": [Article("ws", "t", " \n\t ")],
    "text not str": [Article("nonstr", "t", None)],
    "id not str": [Article(5, "t", "text")],
    "blank id": [Article("  ", "t", "text")],
    "nul in text": [Article("nul", "t", "a\x00b")],
    "nul in id": [Article("n\x00ul", "t", "text")],
    "title not str": [Article("tt", None, "text")],
    "date not str": [Article("dd", "t", "text", date=20191226)],
    "not an article": [{"id": "x", "text": "y"}],
}


@pytest.mark.parametrize("batch", BAD_BATCHES.values(), ids=BAD_BATCHES.keys())
def test_bad_batch_changes_nothing(batch, scratch):
    before = _state(scratch)
    with pytest.raises(InputError):
        scratch.add(batch)
    assert _state(scratch) == before and check(scratch.index) == []


@pytest.mark.parametrize("where", ["encode", "vectors", "bm25", "commit"])
def test_failure_mid_write_changes_nothing(where, scratch, monkeypatch):
    """Injected failures at each step of a write: the index stays as it was, and the next write works."""
    from assistant.index.lexical import Lexical
    from assistant.index.vectors import Vectors

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    target = {"encode": (scratch.index.encoder, "encode"), "vectors": (Vectors, "save"),
              "bm25": (Lexical, "save"), "commit": (type(scratch.index.store), "commit")}[where]
    monkeypatch.setattr(*target, boom)
    before = _state(scratch)
    article = Article(f"injected-{where}", "Injected", f"An article written while the {where} step fails.")
    with pytest.raises((AssistantError, OSError), match="No space left"):
        scratch.add([article])
    assert _state(scratch) == before and check(scratch.index) == []
    assert scratch.index.snapshot.generation == before[0]
    monkeypatch.undo()
    assert scratch.add([article]).added == 1 and check(scratch.index) == []
    assert leftovers(scratch.index) == []


any_article = st.builds(Article, id=st.one_of(messy, st.sampled_from(["dup", "../../etc/passwd", ""])),
                        title=st.one_of(messy, st.none()), text=st.one_of(messy, st.none(), st.just("")),
                        date=st.one_of(st.none(), dates), source=st.one_of(st.none(), messy))
fine_text = st.tuples(st.sampled_from(["Turkey", "Libya", "news", "\u202e"]), messy).map(" ".join).map(
    lambda t: t.replace("\x00", ""))
fine_article = st.builds(Article, id=st.one_of(fine_text, st.just("dup")), title=messy.map(lambda t: t.replace("\x00", "")),
                         text=fine_text, date=st.none(), source=st.none())
articles_st = st.one_of(fine_article, fine_article, any_article)


def _add(scratch, batch):
    before = _state(scratch)
    try:
        result = scratch.add(batch)
    except InputError:
        assert _state(scratch) == before and check(scratch.index) == []
        event("add: InputError")
        return
    event("add: written" if result.added + result.updated else "add: unchanged")
    assert check(scratch.index) == []
    for a in batch:
        assert scratch.article(a.id).text == a.text  # stored verbatim
    assert result.added + result.updated + result.unchanged == len(batch)


test_fuzz_add, test_fuzz_add_slow = fuzz_tests(25, 1000, batch=st.lists(articles_st, min_size=1, max_size=3))(_add)


# ---- 4. offline: tests/test_offline.py (DNS and packets captured in a network namespace) -----------


# ---- 5. hostile articles -----------------------------------------------------------------------
HOSTILE = [
    Article("../../etc/passwd", "<script>alert('title')</script>",
            "<script>alert(document.cookie)</script>\n\nTurkey's parliament met on Tuesday <img src=x onerror=alert(1)> "
            "to discuss the hostile payload test.", date="2020-01-01", source="<b>Evil</b> Wire",
            url="javascript:alert(1)"),
    Article("'; DROP TABLE articles; --", "Robert'); DROP TABLE chunks;--",
            "Little Bobby Tables wrote about {{7*7}} and ${jndi:ldap://x} and %s%s%n in the hostile payload test.",
            source="' OR '1'='1"),
    Article("C:\\Windows\\win.ini", "\u202eevil\u202c title", "Right-to-left \u202eoverride\u202c text and a "
            "zero width\u200bjoiner in the hostile payload test, plus \x1b[31mterminal escapes\x1b[0m."),
]


INDEX_FILE = re.compile(r"^(index\.sqlite(-wal|-shm|-journal)?|manifest\.json|write\.lock|models|"
                        r"vectors-\d{6}\.(faiss|ids\.npy)|bm25-\d{6})$")


def test_hostile_articles_are_data(writable):
    scratch = writable
    around = sorted(p.name for p in scratch.path.parent.iterdir())
    result = scratch.add(HOSTILE)
    assert result.added == len(HOSTILE) and check(scratch.index) == []
    for art in HOSTILE:
        assert scratch.article(art.id) == art  # every field verbatim
    passages = scratch.search("hostile payload test", k=10)
    by_id = {p.article_id: p for p in passages}
    assert set(by_id) >= {a.id for a in HOSTILE}
    assert "<script>alert(document.cookie)</script>" in by_id["../../etc/passwd"].text
    assert by_id["../../etc/passwd"].url == "javascript:alert(1)"
    assert scratch.search("hostile payload", filters={"source": "' OR '1'='1"})[0].article_id == HOSTILE[1].id
    assert {p.article_id for p in scratch.search("hostile", filters={"article_id": [HOSTILE[0].id]})} == {HOSTILE[0].id}
    ans = scratch.ask("What did Bobby Tables write about?")
    assert all(scratch.article(c.article_id).text[c.quote_start:c.quote_end] == c.quote for c in ans.citations)
    # Ids never become paths: the index folder holds only index files, nothing was written beside or above it.
    assert all(INDEX_FILE.match(p.name) for p in scratch.path.iterdir()), sorted(os.listdir(scratch.path))
    assert sorted(p.name for p in scratch.path.parent.iterdir()) == around
    assert not (scratch.path / "../../etc/passwd").resolve().exists()
    assert scratch.remove("../../etc/passwd") and scratch.article("../../etc/passwd") is None
    assert check(scratch.index) == []


def test_hostile_file_names(fuzz_dir):
    """An upload's name only picks the loader and the id; the bytes come from the given path."""
    path = fuzz_dir / "upload.bin"
    path.write_text("Headline\n\n<script>alert(1)</script> body text stays as text.")
    (article,) = load_file(path, name="../../etc/passwd.txt")
    assert article.id == "passwd" and "<script>alert(1)</script>" in article.text
    with pytest.raises(InputError):
        load_file(path, name="../../etc/shadow")
    html_path = fuzz_dir / "page.html"
    html_path.write_text("<html><head><title>T &lt;b&gt;</title></head><body><p>Safe &lt;script&gt; text.</p>"
                         "<script>alert(1)</script></body></html>")
    (page,) = load_file(html_path)
    assert page.title == "T <b>" and "<script>" in page.text and "alert(1)" not in page.text
