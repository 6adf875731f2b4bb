"""A free TCP port for a server this process starts (the web app, the llama.cpp server, a Ray head)."""
from __future__ import annotations

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS reports free on `host` now (another process may still take it before the server binds)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])
