"""A Ray cluster on this machine started the way `ray start --head` starts one on a head node, so that tests and
benchmarks drive `--ray HOST:PORT` exactly as a multi-machine run does: a driver joining by address, token
authentication on (its own token, never ~/.ray/auth_token), its own temp folder, stopped with all its processes."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import AssistantError
from ..ports import free_port
from .ray_runtime import TEST_DIR, token_env, worker_env

READY = "Ray runtime started"


def driver_env(token: str | None = None) -> dict[str, str]:
    """What a driver and the head share: token authentication with one token (Ray reads RAY_AUTH_MODE when it is
    imported, so a process that joins by address must have it before `import ray`)."""
    return token_env(token)


@contextmanager
def local_head(cpus: int, token: str | None = None, timeout: float = 60) -> Iterator[tuple[str, dict[str, str]]]:
    """Start `ray start --head --block` with `cpus` CPUs; yield (its GCS address, the environment a driver needs)."""
    ray = Path(sys.executable).with_name("ray")
    if not ray.exists():
        raise AssistantError(f"no `ray` command beside {sys.executable}: pip install 'news-assistant[ray]'")
    folder = tempfile.mkdtemp(prefix="ray")  # short: Ray's socket paths live under it
    env = {**os.environ, **worker_env(), **driver_env(token),
           "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0"}  # stop at once (it drains 30 s for Serve by default)
    for own in ("RAY_ADDRESS", TEST_DIR):  # another runtime's address; the tests' actor hooks are for their runtime
        env.pop(own, None)
    port = free_port()
    log = Path(folder, "head.log")
    cmd = [str(ray), "start", "--head", "--block", f"--port={port}",
           f"--num-cpus={cpus}", "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={folder}"]
    head = None
    try:
        with open(log, "w") as out:
            head = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while READY not in log.read_text(errors="replace"):
            if head.poll() is not None or time.monotonic() > deadline:
                raise AssistantError(f"`ray start --head` did not start: {log.read_text(errors='replace')[-1500:]}")
            time.sleep(0.1)
        yield f"127.0.0.1:{port}", env
    finally:
        if head is not None:
            _stop(head)
        shutil.rmtree(folder, ignore_errors=True)


def _stop(head: subprocess.Popen) -> None:
    """SIGTERM the head (it stops the processes it started), then SIGKILL whatever of its session is left: actor
    workers have process groups of their own."""
    if head.poll() is None:
        head.send_signal(signal.SIGTERM)
        try:
            head.wait(30)
        except subprocess.TimeoutExpired:
            head.kill()
            head.wait()
    for pid in _session(head.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _session(sid: int) -> list[int]:
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path("/proc", entry, "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid:
            found.append(int(entry))
    return found
