"""`assistant serve` for a team: the real server (uvicorn + Gradio's sign-in) on a copy of the test index, called
over HTTP the way a browser or a script would. Roles are enforced in the handlers: a reader's direct calls to the
write events are refused and the index does not change."""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from conftest import CARD_QUESTION, ROOT, SEED_ID, copy_index
from gradio_client import Client
from serving import PASSWORDS, Running, ask, event_names, fn_index, gradio_call, gradio_run, metric, users_file

from assistant.ports import free_port
from assistant.serve import users
from assistant.serve.settings import Settings

pytestmark = [pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]
NEW_ARTICLE = b"Goats return to the Welsh hills\nFarmers in Snowdonia released 300 goats onto the hills this spring.\n"


@pytest.fixture(scope="module")
def team(tmp_path_factory, built_index):
    folder = tmp_path_factory.mktemp("team")
    settings = Settings(index=str(copy_index(built_index, folder / "index")), users=str(users_file(folder)))
    with Running(settings) as running:
        yield running


def state(running: Running) -> tuple[int, list[str]]:
    a = running.served.assistant
    return a.stats()["generation"], sorted(x["id"] for x in a.articles())


def upload(client: httpx.Client, name: str, content: bytes) -> dict:
    sent = client.post("/gradio_api/upload", files=[("files", (name, content, "text/plain"))])
    sent.raise_for_status()
    files = [{"path": sent.json()[0], "orig_name": name, "meta": {"_type": "gradio.FileData"}}]
    return gradio_call(client, fn_index(client, "upload"), [files])


def remove(client: httpx.Client, article_id: str) -> dict:
    session = secrets.token_hex(8)
    gradio_run(client, fn_index(client, "listing_1"), [""], session)  # as the page does: fills the dropdown's choices
    return gradio_call(client, fn_index(client, "remove"), [article_id], session)


# ---- sign-in --------------------------------------------------------------------------------------
def test_nothing_answers_without_signing_in(team):
    anonymous = team.client()
    assert anonymous.post("/gradio_api/call/ask", json={"data": [CARD_QUESTION, [], None]}).status_code == 401
    assert anonymous.get("/config").status_code == 401
    assert anonymous.post("/gradio_api/upload", files=[("files", ("a.txt", b"x"))]).status_code == 401


def test_a_wrong_password_or_unknown_user_is_refused(team):
    c = team.client()
    assert c.post("/login", data={"username": "rita", "password": "not-her-password"}).status_code == 400
    assert c.post("/login", data={"username": "nobody", "password": PASSWORDS["rita"]}).status_code == 400
    assert c.get("/config").status_code == 401


# ---- roles ----------------------------------------------------------------------------------------
def test_a_reader_asks_through_the_api_and_gradio_client(team):
    result = ask(team.client("rita"), CARD_QUESTION)
    assert result["event"] == "complete" and "lacks a military base near Libya" in result["data"][0]["answer"]
    with_client = Client(team.url, auth=("rita", PASSWORDS["rita"]), verbose=False)
    assert not with_client.predict("Who gave Haftar his drones?", [], api_name="/ask")["refused"]


def test_a_reader_cannot_upload_or_remove_even_by_calling_the_events(team):
    before = state(team)
    reader = team.client("rita")
    removed = remove(reader, SEED_ID)
    uploaded = upload(reader, "goats.txt", NEW_ARTICLE)
    for result in (removed, uploaded):
        assert result["success"] and "Only editors can add or remove articles; rita is signed in as reader" \
            in result["output"]["data"][0].replace("\\", "")
    fetched = gradio_call(reader, fn_index(reader, "fetch"), ["http://127.0.0.1:9/feed.xml", False])
    assert "Only editors" in fetched["output"]["data"][0]
    assert state(team) == before
    denied = [json.loads(line) for line in team.lines if '"denied"' in line]
    assert {(d["user"], d["action"]) for d in denied} >= {("rita", "remove"), ("rita", "upload"), ("rita", "fetch")}
    assert metric(team.client().get("/metrics").text, "assistant_writes_denied_total") >= 3


def test_an_editor_uploads_and_removes(team):
    editor = team.client("ed")
    generation, ids = state(team)
    added = upload(editor, "goats.txt", NEW_ARTICLE)
    assert "1 new" in added["output"]["data"][0]
    assert "goats" in json.dumps(added["output"]["data"][3])  # the table sent back (after the cleared filter) lists it
    assert "goats" in state(team)[1]
    gone = remove(editor, "goats")
    assert "removed goats" in gone["output"]["data"][0].replace("\\", "")
    assert state(team) == (generation + 2, ids)


def test_the_upload_route_takes_files_up_to_5_mb(team):
    from assistant.ui.sources import MAX_UPLOAD_BYTES

    editor = team.client("ed")
    head = b"Harbour report\nThe harbour reopened on Monday after the storm."
    at_limit = head + b" " * (MAX_UPLOAD_BYTES - len(head))
    assert editor.post("/gradio_api/upload", files=[("files", ("at-limit.txt", at_limit))]).status_code == 200
    over = editor.post("/gradio_api/upload", files=[("files", ("over.txt", at_limit + b" "))])
    assert over.status_code == 413, over.text


def test_a_user_removed_from_the_file_loses_access_at_once(team, tmp_path):
    path = team.served.settings.users
    users.add(path, "temp", "editor", "temporary-pass")
    session = team.client("temp", "temporary-pass")
    assert ask(session, CARD_QUESTION)["event"] == "complete"
    users.remove(path, "temp")
    refused = ask(session, CARD_QUESTION)
    assert refused["event"] == "error" and "no role on this server" in json.dumps(refused["data"])


# ---- operations -----------------------------------------------------------------------------------
def test_healthz_and_metrics_answer_and_the_counters_move(team):
    anonymous = team.client()
    health = anonymous.get("/healthz")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok" and body["articles"] == len(state(team)[1]) and body["generation"] >= 1
    before = anonymous.get("/metrics")
    assert before.headers["content-type"].startswith("text/plain; version=0.0.4")
    reader = team.client("rita")
    ask(reader, CARD_QUESTION)
    ask(reader, "What is the best pizza recipe in Naples?")
    after = anonymous.get("/metrics").text
    for name, delta in [("assistant_questions_total", 2), ("assistant_refusals_total", 1),
                        ("assistant_answer_seconds_count", 2)]:
        assert metric(after, name) == metric(before.text, name) + delta, name
    assert metric(after, 'assistant_answer_seconds_bucket{le="+Inf"}') == metric(after, "assistant_questions_total")
    assert metric(after, "assistant_index_generation") == body["generation"]


def test_one_json_line_per_question_without_the_question_text(team):
    ask(team.client("rita"), "Who sends Haftar mercenaries?")
    line = json.loads([x for x in team.lines if '"question"' in x][-1])
    assert set(line) == {"time", "event", "user", "seconds", "refused", "citations", "error"}
    assert line["user"] == "rita" and line["citations"] >= 1 and line["refused"] is False
    assert "mercenaries" not in json.dumps(team.lines)


# ---- read-only mode -------------------------------------------------------------------------------
def test_read_only_mode_has_no_write_path(tmp_path, built_index):
    """Also behind a proxy at /news: the page's own links carry the prefix, /healthz stays at the root."""
    index = copy_index(built_index, tmp_path / "index")
    files = contents(index)
    with Running(Settings(index=str(index), read_only=True, log_questions=True, root_path="/news")) as running:
        c = running.client()
        assert c.get("/config").json()["root"].endswith("/news") and c.get("/healthz").status_code == 200
        assert not {"upload", "remove", "fetch", "fetch_1"} & event_names(c)
        assert "listing" in event_names(c)
        assert c.post("/gradio_api/upload", files=[("files", ("a.txt", NEW_ARTICLE))]).status_code == 403
        assert ask(c, CARD_QUESTION)["event"] == "complete"
        assert "Why won't Turkey" in running.lines[-1]  # --log-questions
        before = state(running)
    assert contents(index) == files  # not a byte written, no file made
    assert SEED_ID in before[1]


def contents(folder: Path) -> dict[str, str]:
    """Every file's hash; an empty SQLite -wal/-shm file (which SQLite removes when its last reader closes) aside."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()
            if p.is_file() and not (p.name.endswith(("-wal", "-shm")) and p.stat().st_size == 0)}


# ---- the command line -----------------------------------------------------------------------------
def serve_command(*args: str, env: dict | None = None, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "assistant", "serve", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, **kw)


def test_binding_beyond_loopback_without_users_is_refused_with_the_fix(tmp_path):
    proc = serve_command("--index", str(tmp_path / "none"), "--host", "0.0.0.0")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "refusing to serve on 0.0.0.0 without sign-in" in err and "assistant user add" in err
    assert not (tmp_path / "none").exists()


SLOW = """
import os, sys, time
from assistant.assistant import Assistant
answer = Assistant.ask
def slow(self, *args, **kwargs):
    time.sleep(float(os.environ["SLOW_ASK"]))
    return answer(self, *args, **kwargs)
Assistant.ask = slow
from assistant.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_sigterm_during_a_question_lets_it_finish(tmp_path, built_index):
    """A question that takes 4 s is running when SIGTERM comes: it is answered, new ones are turned away, then the
    server exits 0."""
    index = copy_index(built_index, tmp_path / "index")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SLOW, "serve", "--index", str(index), "--port", str(port)],
                            cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT), "SLOW_ASK": "4"})
    try:
        c = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.poll() else ""
            try:
                if c.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        result: dict = {}
        asking = threading.Thread(target=lambda: result.update(ask(c, CARD_QUESTION)))
        asking.start()
        while metric(c.get("/metrics").text, "assistant_in_flight") < 1:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert c.get("/healthz").status_code == 503
        assert c.post("/gradio_api/call/ask", json={"data": [CARD_QUESTION, [], None]}).status_code == 503
        asking.join(60)
        assert result["event"] == "complete" and "lacks a military base near Libya" in result["data"][0]["answer"]
        assert proc.wait(30) == 0
        err = proc.stderr.read()
        assert '"event": "question"' in err and "finishing 1 running" in err
    finally:
        if proc.poll() is None:
            proc.kill()
