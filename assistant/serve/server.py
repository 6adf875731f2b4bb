"""`assistant serve` (and `python app.py`): the chat on uvicorn, Gradio's sign-in in front of it, /healthz and
/metrics beside it on the same port, and on SIGTERM a stop that lets running answers and writes finish."""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import gradio as gr
import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse

from ..assistant import Assistant
from ..errors import AssistantError
from ..ui.access import Access
from ..ui.app import CSS, Writers, build_app, open_assistant
from ..ui.sources import MAX_UPLOAD_BYTES
from .gate import Gate
from .metrics import CONTENT_TYPE
from .ops import Operations, _stderr
from .settings import Settings, add_arguments, check, is_loopback, resolve
from .users import Directory

log = logging.getLogger(__name__)
GRACE_SECONDS = 120.0  # the longest a SIGTERM waits for running answers and writes (a written answer can be slow)


@dataclass
class Served:
    app: FastAPI
    assistant: Assistant
    ops: Operations
    writers: Writers
    settings: Settings
    writable: bool
    gradio: gr.routes.App

    def end_streams(self) -> None:
        """End the pages' heartbeat streams, which would otherwise hold the shutdown (as Gradio's own close does)."""
        self.gradio.stop_event.set()

    def close(self) -> None:
        self.writers.close()
        self.assistant.close()


def build(settings: Settings, write_line: Callable[[str], None] = _stderr) -> Served:
    """Check the settings, open the index and put the app together (nothing listens yet)."""
    check(settings)
    directory = Directory(settings.users) if settings.users else None
    if settings.read_only:
        assistant = Assistant.open(settings.index, create=False, read_only=True)
    else:
        assistant = open_assistant(settings.index, settings.seeds)
    try:
        writable = not (settings.read_only or assistant.index.read_only)
        ops = Operations(assistant, settings.log_questions, write_line)
        access = Access(writable=writable, role_of=directory.role) if directory else Access(writable=writable)
        writers = Writers()
        demo = build_app(assistant, writers, access, ops.hooks())
        app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
        _ops_routes(app, ops)
        app.add_middleware(Gate, ops=ops, writable=writable)
        gr.mount_gradio_app(app, demo, path="/", auth=_sign_in(directory) if directory else None,
                            auth_message="Sign in with the name and password your editor gave you.",
                            root_path=settings.root_path or None, server_name=settings.host,
                            server_port=settings.port, css=CSS, ssr_mode=False, show_error=False,
                            max_file_size=MAX_UPLOAD_BYTES)
    except BaseException:
        assistant.close()
        raise
    gradio_app = next(a for a in (getattr(r, "app", None) for r in app.routes) if isinstance(a, gr.routes.App))
    return Served(app, assistant, ops, writers, settings, writable, gradio_app)


def _sign_in(directory: Directory) -> Callable:
    async def check_password(username: str, password: str) -> bool:
        return await asyncio.to_thread(directory.check, username, password)  # scrypt must not stall the event loop

    return check_password


def _ops_routes(app: FastAPI, ops: Operations) -> None:
    @app.get("/healthz")
    def healthz() -> JSONResponse:
        status, body = ops.health()
        return JSONResponse(body, status_code=status)

    @app.get("/metrics")
    def metrics() -> PlainTextResponse:
        return PlainTextResponse(ops.metrics_text(), media_type=CONTENT_TYPE)


class GracefulServer(uvicorn.Server):
    """First SIGTERM/SIGINT: refuse new questions, let the running ones and any write finish, then stop listening.
    A second signal stops at once (a write cut short leaves the previous index generation in force)."""

    def __init__(self, config: uvicorn.Config, served: Served):
        super().__init__(config)
        self.served = served
        self.ops = served.ops

    def handle_exit(self, sig: int, frame: object) -> None:
        if self.ops.draining:
            self.force_exit = self.should_exit = True
            return
        self.ops.draining = True
        log.warning("stopping: finishing %d running question(s) and write(s) first", self.ops.metrics.in_flight)
        threading.Thread(target=self._finish, daemon=True).start()

    def _finish(self) -> None:
        if not self.ops.drain(GRACE_SECONDS):
            log.warning("stopping although work is still running after %.0f s", GRACE_SECONDS)
        self.served.end_streams()
        self.should_exit = True


def server_for(served: Served) -> GracefulServer:
    s = served.settings
    config = uvicorn.Config(served.app, host=s.host, port=s.port, log_level="warning", access_log=False,
                            timeout_graceful_shutdown=5, lifespan="on")
    return GracefulServer(config, served)


def run(settings: Settings) -> int:
    """Serve until SIGTERM or Ctrl-C; 0 after a graceful stop."""
    served = build(settings)
    try:
        host = f"[{settings.host}]" if ":" in settings.host else settings.host
        behind = f" (public path {settings.root_path} behind the proxy)" if settings.root_path else ""
        print(f"serving http://{host}:{settings.port}{behind}: {_describe(served)}", file=sys.stderr, flush=True)
        server_for(served).run()
    finally:
        served.close()
    return 0


def _describe(served: Served) -> str:
    s = served.settings
    who = (f"sign-in with {s.users}" if s.users else
           "no sign-in (this machine only)" if is_loopback(s.host) else "no sign-in (anyone on the network)")
    return f"{who}; index {served.assistant.path}" + ("" if served.writable else ", read-only")


def main(argv: Sequence[str] | None = None) -> int:
    """`python app.py` / `make run`: `assistant serve` with seeds/ indexed into an empty index."""
    from .. import logs

    p = argparse.ArgumentParser(prog="app.py", description=__doc__)
    add_arguments(p)
    args = p.parse_args(argv)
    logs.setup(1)
    try:
        return run(resolve(vars(args), base=Settings(seeds="seeds")))
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
