"""The cross-process write lock of an index folder."""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from filelock import FileLock, Timeout

from ..errors import IndexLockedError, WriteConflictError
from .files import LOCK

log = logging.getLogger(__name__)
DEFAULT_LOCK_TIMEOUT = 600.0


def lock_timeout_default() -> float:
    """Seconds a writer waits for another one: `ASSISTANT_LOCK_TIMEOUT`, else 600."""
    raw = os.environ.get("ASSISTANT_LOCK_TIMEOUT", "").strip()
    if not raw:
        return DEFAULT_LOCK_TIMEOUT
    try:
        return float(raw)
    except ValueError:
        log.warning("ignoring ASSISTANT_LOCK_TIMEOUT=%r (not a number of seconds)", raw)
        return DEFAULT_LOCK_TIMEOUT


class WriteLock:
    """A held `write.lock` that can tell whether it is still the lock: a flock lives on the file, so when someone
    deletes the file, a second writer locks a new one and both would write. `verify` catches that."""

    def __init__(self, lock: FileLock, path: Path):
        self._lock, self.path = lock, path
        self._identity = self._stat()

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return st.st_dev, st.st_ino

    def verify(self) -> None:
        """`WriteConflictError` when the lock file was removed or replaced since it was taken."""
        if self._stat() != self._identity:
            raise WriteConflictError(
                f"the write lock {self.path} was removed while this process was writing, so another writer may "
                "have written at the same time; this write was not published. Never delete write.lock; run the "
                "command again (the index holds what the last complete write published)")

    def release(self) -> None:
        self._lock.release()


def acquire_write_lock(folder: Path, timeout: float) -> WriteLock:
    """The write lock of `folder`; `IndexLockedError` after `timeout` seconds."""
    lock = FileLock(str(folder / LOCK))
    try:
        lock.acquire(timeout=0)
        return WriteLock(lock, folder / LOCK)
    except Timeout:
        pass
    log.info("waiting up to %.0f s for the write lock: another process is writing %s", timeout, folder,
             extra={"event": "lock_wait", "index": str(folder), "timeout": timeout})
    started = time.monotonic()
    try:
        lock.acquire(timeout=timeout)
    except Timeout as exc:
        raise IndexLockedError(
            f"{folder} is being written by another process (lock {folder / LOCK}); waited {timeout:g} s. "
            "Wait for it to finish or stop it, or wait longer with --lock-timeout SECONDS "
            "(ASSISTANT_LOCK_TIMEOUT)") from exc
    log.info("got the write lock after %.1f s", time.monotonic() - started,
             extra={"event": "lock_acquired", "index": str(folder), "waited": round(time.monotonic() - started, 3)})
    return WriteLock(lock, folder / LOCK)
