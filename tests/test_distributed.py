"""Ingestion on a local Ray runtime gives the index a local `add` gives; killed workers and drivers; app replicas."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES, ROOT, SEED_ID, SEEDS

from assistant import Assistant
from assistant.encoders.onnx_encoder import shared_cache
from assistant.errors import InputError
from assistant.index.files import DB_NAME
from assistant.ingest import distributed, ray_runtime
from assistant.ingest.ray_head import local_head
from assistant.offline import FORCED

pytestmark = pytest.mark.ray
ray = pytest.importorskip("ray")

QUERIES = ["Why won't Turkey send combat aircraft?", "Who gave Haftar his drones?", "Sudan grain harvest",
           "museum archive", "ferry strike"]
HOOKS = "ASSISTANT_RAY_TEST_DIR"


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> list[Path]:
    """The seed article, the distractors, and an HTML and a text article written here."""
    folder = tmp_path_factory.mktemp("articles")
    (folder / "ferry.html").write_text(
        "<html><head><title>Ferry workers strike in Piraeus</title></head><body><nav>Home | World</nav>"
        "<article><h1>Ferry workers strike in Piraeus</h1><p>Ferry crews walked off the job in Piraeus on "
        "Monday, stranding thousands of travellers bound for the islands.</p><p>The union said the strike "
        "would last 48 hours unless the ministry reversed planned pension cuts.</p></article></body></html>",
        encoding="utf-8")
    (folder / "copper.txt").write_text(
        "Copper price hits a five-year high\n\nCopper rose to its highest level in five years on Tuesday as "
        "Chilean mines cut output after a strike. Traders expect the shortage to last into the new year.\n",
        encoding="utf-8")
    return [SEEDS / f"{SEED_ID}.txt", FIXTURES / "distractors.jsonl", folder]


@pytest.fixture(scope="module")
def hooks(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ray-hooks")


@pytest.fixture(scope="module")
def runtime(hooks):
    """One small local Ray runtime for the module (2 CPUs, no dashboard), always shut down."""
    os.environ[HOOKS] = str(hooks)
    assert ray_runtime.start(num_cpus=2)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()
    os.environ.pop(HOOKS, None)


@pytest.fixture(scope="module")
def local_index(tmp_path_factory, files) -> Path:
    path = tmp_path_factory.mktemp("local") / "index"
    a = Assistant.open(path)
    a.add_path(*files)
    a.close()
    return path


def rows(path: Path) -> list[tuple]:
    db = sqlite3.connect(str(path / DB_NAME))
    try:
        return db.execute("SELECT c.id, c.article_id, c.idx, c.start, c.end, c.text, c.sentences, a.hash "
                          "FROM chunks c JOIN articles a ON a.id = c.article_id ORDER BY c.id").fetchall()
    finally:
        db.close()


def stories(path: Path) -> list[tuple]:
    """Each article's story group and MinHash signature (computed by the workers on Ray)."""
    db = sqlite3.connect(str(path / DB_NAME))
    try:
        return db.execute("SELECT article_id, grp, sig FROM minhash ORDER BY article_id").fetchall()
    finally:
        db.close()


def vectors(path: Path) -> dict[int, np.ndarray]:
    a = Assistant.open(path, read_only=True)
    try:
        v = a.index.snapshot.vectors
        return {int(i): v.vecs[n].copy() for n, i in enumerate(v.ids)}
    finally:
        a.close()


def results(path: Path) -> list[list[tuple]]:
    a = Assistant.open(path, read_only=True)
    try:
        return [[(p.chunk_id, p.start, p.end, round(p.score, 6)) for p in a.search(q, k=5)] for q in QUERIES]
    finally:
        a.close()


def assert_same_index(path: Path, local: Path) -> None:
    assert rows(path) == rows(local)
    ours, theirs = vectors(path), vectors(local)
    assert ours.keys() == theirs.keys()
    worst = max(float(np.abs(ours[i] - theirs[i]).max()) for i in ours)
    assert worst == 0.0, f"vectors differ by up to {worst}"
    assert results(path) == results(local)
    assert stories(path) == stories(local) and any(sig for _, _, sig in stories(local))


def test_arrow_rows_keep_chunks_vectors_and_signatures_with_their_articles(tmp_path):
    """What the actors send the driver (`to_table`), read back (`from_table`) and joined (`merge`): every prepared
    article keeps its chunks, vectors and MinHash, whatever unchanged or bad rows sit between them (no Ray needed)."""
    from assistant import Article
    from assistant.ingest.prepare import prepare

    long_text = ("Ferry crews walked off the job in Piraeus on Monday, stranding thousands of travellers bound for "
                 "the islands, and the union said the strike would last two days unless the ministry reversed the "
                 "pension cuts it announced last week. ")
    arts = [Article("ferry", "Ferry strike", long_text * 2), Article("brief", "Dividend", "Qtly div 12 cts"),
            Article("copper", "Copper", long_text.replace("Ferry crews", "Dock workers") * 3)]
    a = Assistant.open(tmp_path / "index")
    try:
        prepared, dim = prepare(arts, a.index.settings, a.index.encoder), a.index.dim
    finally:
        a.close()
    rows = [("new", "ferry", ""), ("unchanged", "old", ""), ("error", "", "line 3: bad JSON"),
            ("changed", "brief", ""), ("new", "copper", "")]
    table = distributed.to_table(rows, prepared)
    back = distributed.merge([distributed.from_table(table.slice(0, 3), dim),
                              distributed.from_table(table.slice(3), dim)], dim)
    assert [x.id for x in back.articles] == ["ferry", "brief", "copper"] and back.hashes == prepared.hashes
    assert back.chunks == prepared.chunks and np.array_equal(back.vectors, prepared.vectors)
    assert back.sentences == [tuple(tuple(s) for s in spans) for spans in prepared.sentences]
    assert back.signatures[1] is None, "a text under 30 words has no signature"
    assert [s.tolist() for s in (back.signatures[0], back.signatures[2])] == [
        prepared.signatures[0].tolist(), prepared.signatures[2].tolist()]
    assert back.signatures[0].tolist() != back.signatures[2].tolist()


def test_ray_gives_the_local_index_and_reruns_are_idempotent(runtime, tmp_path, files, local_index):
    a = Assistant.open(tmp_path / "index")
    result, errors = distributed.ingest(a.index, files, commit_every=3, batch_articles=2)  # several generations
    assert not errors
    assert result.added == len({r[1] for r in rows(local_index)}) and result.chunks == len(rows(local_index))
    generation = a.index.snapshot.generation
    assert generation > 1
    again = a.add_path(*files, engine="ray")
    assert (again.added, again.updated, again.chunks) == (0, 0, 0) and again.unchanged == result.added
    assert a.index.generation_on_disk() == generation
    a.close()
    assert_same_index(tmp_path / "index", local_index)


def test_changed_article_is_replaced(runtime, tmp_path, files, local_index):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "note.txt").write_text("Harbour reopens\n\nThe harbour reopened on Friday after repairs.\n")
    a = Assistant.open(tmp_path / "index")
    a.add_path(folder, engine="ray")
    (folder / "note.txt").write_text("Harbour reopens\n\nThe harbour reopened on Saturday after repairs.\n")
    result = a.add_path(folder, engine="ray")
    assert (result.added, result.updated) == (0, 1)
    assert "Saturday" in a.article("note").text and a.stats()["articles"] == 1
    a.close()


def test_bad_rows_and_duplicate_ids_are_reported_as_a_local_run_reports_them(runtime, tmp_path):
    """A bad JSONL row costs that row only (its line named, the rest indexed, as `add_path` does), and each file is
    read once: the actors compare content hashes, nothing is planned on the driver."""
    feed = tmp_path / "feed.jsonl"
    feed.write_text('{"id": "a", "title": "Port", "text": "The port reopened on Monday after the storm."}\n'
                    "{not json\n"
                    '{"id": "b", "title": "Grain", "text": "Grain exports rose for a third month in May."}\n',
                    encoding="utf-8")
    a = Assistant.open(tmp_path / "index")
    result, errors = distributed.ingest(a.index, [feed])
    assert (result.added, result.unchanged) == (2, 0) and len(errors) == 1 and "feed.jsonl:2" in errors[0]
    local = Assistant.open(tmp_path / "local")
    assert local.add_path(feed, strict=False).added == 2
    local.close()
    with pytest.raises(InputError, match="feed.jsonl:2"):
        distributed.ingest(a.index, [feed], strict=True)
    feed.write_text(feed.read_text().replace('"id": "b"', '"id": "a"'), encoding="utf-8")
    with pytest.raises(InputError, match="duplicate article ids"):
        distributed.ingest(a.index, [feed])
    assert a.stats()["articles"] == 2
    a.close()


def test_killed_worker_is_retried_without_duplicates(runtime, hooks, tmp_path, files, local_index):
    for p in hooks.iterdir():
        p.unlink()
    (hooks / "delay").write_text("0.4")
    a = Assistant.open(tmp_path / "index")
    killed: list[int] = []

    def kill_one() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            pids = [int(p.name) for p in hooks.iterdir() if p.name.isdigit()]
            if pids:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])
            time.sleep(0.05)

    killer = threading.Thread(target=kill_one)
    killer.start()
    try:
        result, errors = distributed.ingest(a.index, files, batch_articles=1, commit_every=1)
    finally:
        killer.join()
        (hooks / "delay").unlink()
    a.close()
    assert killed and not errors
    assert result.chunks == len(rows(local_index))
    assert_same_index(tmp_path / "index", local_index)


def test_one_jsonl_file_is_shared_by_the_actors(runtime, hooks, tmp_path):
    """A JSONL file is one read; its articles still reach both actors (blocks of one actor call), without a
    deadlock on the CPUs the actors hold."""
    for p in hooks.iterdir():
        p.unlink()
    (hooks / "delay").write_text("1")
    a = Assistant.open(tmp_path / "index")
    try:
        result, errors = distributed.ingest(a.index, [FIXTURES / "dated.jsonl"], batch_articles=1)
    finally:
        (hooks / "delay").unlink()
    articles = len((FIXTURES / "dated.jsonl").read_text().splitlines())
    assert not errors and result.added == articles == a.stats()["articles"]
    a.close()
    assert len([p for p in hooks.iterdir() if p.name.isdigit()]) == 2


def test_a_running_cluster_is_joined_by_its_address(tmp_path, files, local_index):
    """`--ray HOST:PORT` joins a cluster that `ray start --head` started, as a driver on another machine would (token
    authentication on, as `ray start` turns it on), and gives the local index. Without the token mode it is an error
    naming it; ray:// is refused before the index is opened (Ray Data cannot run over Ray Client)."""
    def index(path: Path, address: str, env: dict[str, str]) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "assistant", "index", *map(str, files), "--index", str(path),
                               "--quiet", "--ray", address], env=env, capture_output=True, text=True, timeout=300)

    with local_head(1) as (address, env):
        joined = index(tmp_path / "index", address, env)
        assert joined.returncode == 0, joined.stderr[-2000:]
        assert_same_index(tmp_path / "index", local_index)
        no_token = {k: v for k, v in env.items() if k != "RAY_AUTH_MODE"} | {"RAY_gcs_server_port_wait_time_s": "1"}
        refused = index(tmp_path / "refused", address, no_token)
        assert refused.returncode == 2 and f"cannot join the Ray cluster at {address}" in refused.stderr
        assert "RAY_AUTH_MODE=token" in refused.stderr
    client = index(tmp_path / "client", "ray://127.0.0.1:10001", env)
    assert client.returncode == 2 and "Ray Data does not run over Ray Client" in client.stderr
    assert not (tmp_path / "client").exists()


def test_a_local_runtime_leaves_the_home_folder_alone_and_the_terminal_quiet(tmp_path):
    """`assistant index ARTICLE --ray` on a machine with no Ray set up: its runtime authenticates with a token of
    its own, so Ray writes none to ~/.ray/auth_token (which later drivers would present to every cluster) and prints
    no notice about it; one article starts one actor (Ray Data warned that a pool of 2 outnumbered its 1 input)."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in {**os.environ, **FORCED, "PYTHONPATH": str(ROOT), "HOME": str(home),
                             "ASSISTANT_MODEL_CACHE": str(shared_cache())}.items()
           if k not in ("RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", HOOKS)}
    run = subprocess.run([sys.executable, "-m", "assistant", "index", str(SEEDS / f"{SEED_ID}.txt"), "--quiet",
                          "--index", str(tmp_path / "index"), "--ray"], env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0 and "indexed 1 new" in run.stdout, run.stdout + run.stderr
    assert not (home / ".ray" / "auth_token").exists()
    assert "Token authentication" not in run.stderr and "concurrent actors" not in run.stderr, run.stderr


def test_killed_driver_leaves_a_published_generation(runtime, hooks, tmp_path, files, local_index):
    """A driver SIGKILLed mid-run leaves a sound index; a re-run completes it.

    The driver starts its own local runtime (its Ray processes share its fate); connected to this module's runtime
    instead, it published nothing within 240 s."""
    path = tmp_path / "index"
    (hooks / "delay").write_text("0.5")
    env = {k: v for k, v in {**os.environ, **FORCED, "PYTHONPATH": str(ROOT)}.items() if k != "RAY_ADDRESS"}
    cmd = [sys.executable, "-m", "assistant", "index", *map(str, files), "--index", str(path), "--quiet",
           "--commit-every", "1", "--ray-batch", "1", "--ray"]
    log = (tmp_path / "driver.log").open("w")
    driver = subprocess.Popen(cmd, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and driver.poll() is None and generation(path) < 2:
            time.sleep(0.05)
        assert driver.poll() is None, "the driver finished before it could be killed: " + _tail(tmp_path / "driver.log")
        assert generation(path) >= 2, "the driver published nothing in time: " + _tail(tmp_path / "driver.log")
        driver.send_signal(signal.SIGKILL)
        driver.wait(10)
    finally:
        if driver.poll() is None:
            driver.kill()
        log.close()
        (hooks / "delay").unlink()
    check = subprocess.run([sys.executable, "-m", "assistant", "check", "--index", str(path)], env=env,
                           capture_output=True, text=True, timeout=120)
    problems = [line for line in check.stdout.splitlines() if line.strip().startswith("problem:")]
    # (the reader model is not part of this test: a worktree without it reports only that)
    assert all("reader" in p for p in problems), check.stdout + check.stderr
    partial = Assistant.open(path, read_only=True)
    assert 0 < partial.stats()["articles"] < len({r[1] for r in rows(local_index)})
    partial.close()
    a = Assistant.open(path)
    a.add_path(*files, engine="ray")
    a.close()
    assert_same_index(path, local_index)


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-2000:]


def generation(path: Path) -> int:
    try:
        db = sqlite3.connect(f"file:{path / DB_NAME}?mode=ro", uri=True, timeout=1)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return 0
    return int(row[0]) if row else 0


READER = """
import json, sys, time
from assistant import Assistant
from assistant.encoders.onnx_encoder import shared_cache
from assistant.errors import InputError
from assistant.index.files import DB_NAME
a = Assistant.open(sys.argv[1], read_only=True)
seen, errors, checked = [], [], 0
end, target, gen = time.monotonic() + 120, int(sys.argv[2]), 0
while time.monotonic() < end and gen < target:
    try:
        hits = a.search("harbour strike on day", k=5)
        gen = a.index.snapshot.generation  # the search's generation or a newer one, never an older one
        for p in hits:
            art = a.article(p.article_id)
            assert art is not None and art.text[p.start:p.end] == p.text, p
        seen.append([gen, sorted({p.article_id for p in hits})])
        checked += 1
    except Exception as exc:
        errors.append(repr(exc))
print(json.dumps({"seen": seen, "errors": errors, "checked": checked}))
"""

WRITER = """
import sys, time
from assistant import Article, Assistant
a = Assistant.open(sys.argv[1])
for n in range(int(sys.argv[2])):
    a.add([Article(id=f"day-{n}", title=f"Harbour strike, day {n}",
                   text=f"On day {n} of the strike the harbour stayed closed. Dockers said talks had failed again.")])
    time.sleep(0.3)
print(a.index.snapshot.generation)
"""


def test_replicas_serve_while_a_writer_publishes(tmp_path, files):
    """Two read-only app replicas search in a loop while a writer process publishes several generations."""
    import json

    path = tmp_path / "index"
    a = Assistant.open(path)
    a.add_path(SEEDS / f"{SEED_ID}.txt")
    start = a.index.snapshot.generation
    a.close()
    env = {**os.environ, **FORCED, "PYTHONPATH": str(ROOT)}
    readers = [subprocess.Popen([sys.executable, "-c", READER, str(path), str(start + 6)], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(2)]
    time.sleep(4)  # readers loaded
    writer = subprocess.run([sys.executable, "-c", WRITER, str(path), "6"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert writer.returncode == 0, writer.stderr
    final = int(writer.stdout.split()[-1])
    assert final == start + 6
    for r in readers:
        out, err = r.communicate(timeout=120)
        assert r.returncode == 0, err
        report = json.loads(out.strip().splitlines()[-1])
        assert not report["errors"], report["errors"][:3]
        gens = [g for g, _ in report["seen"]]
        assert gens == sorted(gens) and gens[-1] == final and len(set(gens)) >= 3, sorted(set(gens))
        for gen, ids in report["seen"]:  # a generation's results name only articles published by then
            assert set(ids) <= {SEED_ID} | {f"day-{n}" for n in range(gen - start)}, (gen, ids)
