"""The Ray runtime a run uses: a cluster joined by its address, or a small local one started and stopped here;
what its driver and workers need in their environment (the package importable, telemetry off, token authentication).
"""
from __future__ import annotations

import logging
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from ..errors import AssistantError, InputError
from ..offline import FORCED

PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
# tests: each actor call records its pid in this folder and waits the seconds its `delay` file says (to kill one)
TEST_DIR = "ASSISTANT_RAY_TEST_DIR"


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


def token_env(token: str | None = None) -> dict[str, str]:
    """Token authentication with `token` (a new random one by default), as a driver and its cluster share it."""
    return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token or secrets.token_hex(16)}


def local_auth() -> None:
    """A local runtime's token authentication, with a token of its own held in this process's environment (its
    workers inherit it). Left to itself, Ray 2.60 writes a new token to ~/.ray/auth_token, which later drivers on
    the machine then present to every cluster, and warns about it on every run. Ray reads the mode when it is
    imported, so this applies only before that, and never over the user's own RAY_AUTH_MODE or token."""
    if "ray" not in sys.modules and "RAY_AUTH_MODE" not in os.environ:
        os.environ.update(token_env(os.environ.get("RAY_AUTH_TOKEN")))


def start(address: str | None = None, num_cpus: int | None = None) -> bool:
    """Connect to the cluster at `address` ("auto": the one on this machine; "host:port": its head's GCS) or start a
    small local runtime; True if this call started or joined it."""
    if not address:
        local_auth()
    ray = require_ray()
    if ray.is_initialized():
        return False
    if address:
        connect(ray, address)
        return True
    # A local runtime: its workers inherit this environment (no runtime_env agent round trip per worker), and it
    # listens on 127.0.0.1 only: Ray would otherwise pick the address of the default route's interface.
    os.environ.update(worker_env())
    from ray._private import ray_constants

    ray_constants.ENABLE_RAY_CLUSTER = False  # services.get_node_ip_address() then answers 127.0.0.1
    ray.init(num_cpus=num_cpus or os.cpu_count() or 1, object_store_memory=256 * 2**20, include_dashboard=False,
             log_to_driver=False, logging_level=logging.WARNING)
    return True


NO_CLIENT = ("Ray Data does not run over Ray Client (ray://: its streaming executor needs a driver inside the "
             "cluster). Run the command on a cluster node with --ray auto, or give the head's GCS address, --ray "
             "HOST:6379, from a machine the workers can reach")


def check_address(address: str) -> str:
    """`address` if a driver can join a cluster by it, else an `InputError` saying what to give instead."""
    if address.startswith("ray://"):
        raise InputError(f"{address}: {NO_CLIENT}")
    return address


def connect(ray: Any, address: str) -> None:
    """Join a running cluster as its driver; what Ray needs of a driver, said as an error naming the fix."""
    check_address(address)
    # No runtime_env: the package is installed on every node and sets its offline variables when it is imported, and
    # a job's own runtime_env goes through each node's runtime-env agent for every worker the job starts (0.6 s of a
    # 500-article job on a running 2-CPU cluster, jobs with and without it taking turns).
    try:
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
    except (ConnectionError, RuntimeError, ValueError, ray.exceptions.AuthenticationError) as exc:
        hint = "" if address == "auto" else (
            "; a cluster whose head `ray start --head` started with a token (~/.ray/auth_token or RAY_AUTH_TOKEN) "
            "has token authentication on, and a driver given its address joins it only with RAY_AUTH_MODE=token "
            "set and the same token in RAY_AUTH_TOKEN or ~/.ray/auth_token")
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise AssistantError(f"cannot join the Ray cluster at {address}: {first} (is `ray start --head` running "
                             f"there? `ray status --address {address}` checks){hint}") from exc


def cluster_cpus() -> int:
    ray = require_ray()
    return max(1, int(ray.cluster_resources().get("CPU", 1)))
