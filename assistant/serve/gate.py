"""Requests refused before Gradio sees them: new work while the server drains for a shutdown, and any file upload
on a read-only server (there the upload route is a write path with nothing behind it)."""
from __future__ import annotations

import json
from typing import Any

NEW_WORK = ("/gradio_api/queue/join", "/gradio_api/call/", "/gradio_api/api/")
UPLOAD = "/gradio_api/upload"


class Gate:
    """Pure ASGI (no response buffering), so Gradio's event streams pass through untouched."""

    def __init__(self, app: Any, ops: Any, writable: bool):
        self.app = app
        self.ops = ops
        self.writable = writable

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            path = scope["path"].rstrip("/")
            if not self.writable and path.endswith(UPLOAD):
                return await _refuse(send, 403, "this server is read-only: nothing can be uploaded")
            if self.ops.draining and any(part in path + "/" for part in NEW_WORK):
                return await _refuse(send, 503, "the server is shutting down; try again in a moment")
        await self.app(scope, receive, send)


async def _refuse(send: Any, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
