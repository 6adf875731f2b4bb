"""The real `assistant serve` server (uvicorn + FastAPI + Gradio) in a thread, and the HTTP calls a browser makes.

`gradio_call` speaks Gradio's queue protocol (POST queue/join, then the event stream of queue/data) with any
fn_index: what a user with the page's cookie could send by hand, hidden buttons or not.
"""
from __future__ import annotations

import dataclasses
import json
import secrets
import signal
import threading
import time
from pathlib import Path

import httpx

from assistant.serve import users
from assistant.serve.server import build, server_for
from assistant.serve.settings import Settings
from assistant.ui.app import free_port

PASSWORDS = {"ed": "editor-pass-1", "rita": "reader-pass-1"}


def users_file(folder: Path) -> Path:
    path = folder / "users.toml"
    users.add(path, "ed", "editor", PASSWORDS["ed"])
    users.add(path, "rita", "reader", PASSWORDS["rita"])
    return path


class Running:
    """`with Running(settings) as r:` serves until the block ends; `r.lines` holds the JSON log lines."""

    def __init__(self, settings: Settings):
        self.settings = dataclasses.replace(settings, port=free_port()) if settings.port == 7860 else settings
        self.lines: list[str] = []
        self.served = build(self.settings, write_line=self.lines.append)
        self.server = server_for(self.served)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.settings.port}"

    def __enter__(self) -> Running:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "the server did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.handle_exit(signal.SIGTERM, None)  # the graceful stop a signal starts
        self.thread.join(30)
        self.served.close()

    def client(self, user: str | None = None, password: str | None = None) -> httpx.Client:
        c = httpx.Client(base_url=self.url, timeout=120)
        if user:
            r = c.post("/login", data={"username": user, "password": password or PASSWORDS[user]})
            assert r.status_code == 200, r.text
        return c


def fn_index(client: httpx.Client, name: str) -> int:
    """The Blocks event of that function (e.g. "remove"), from the page's own config."""
    deps = client.get("/config").json()["dependencies"]
    return next(i for i, d in enumerate(deps) if d.get("api_name") == name)


def event_names(client: httpx.Client) -> set[str]:
    return {d.get("api_name") for d in client.get("/config").json()["dependencies"]}


def gradio_call(client: httpx.Client, fn: int, data: list, session: str | None = None) -> dict:
    """One event through the queue, as the browser sends it; the final message (`output`, `success`)."""
    session = session or secrets.token_hex(8)
    joined = client.post("/gradio_api/queue/join", json={"data": data, "event_data": None, "fn_index": fn,
                                                           "trigger_id": None, "session_hash": session})
    joined.raise_for_status()
    with client.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed":
                    return message
    raise AssertionError("the event stream ended without a result")


def gradio_run(client: httpx.Client, fn: int, data: list, session: str) -> dict:
    """One unqueued event (the Sources listing), which fills this session's dropdown choices."""
    r = client.post("/gradio_api/run/predict", json={"data": data, "event_data": None, "fn_index": fn,
                                                      "trigger_id": None, "session_hash": session})
    r.raise_for_status()
    return r.json()


def ask(client: httpx.Client, question: str) -> dict:
    """The public REST API: POST /call/ask, then its event stream."""
    r = client.post("/gradio_api/call/ask", json={"data": [question, [], None]})
    r.raise_for_status()
    event = r.json()["event_id"]
    with client.stream("GET", f"/gradio_api/call/ask/{event}") as stream:
        kind = None
        for line in stream.iter_lines():
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:") and kind in ("complete", "error"):
                return {"event": kind, "data": json.loads(line[5:])}
    raise AssertionError("the event stream ended without a result")


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{name} not in /metrics")
