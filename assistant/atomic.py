"""Whole-file writes that a crash can never leave half done: a temp file beside the target, fsynced, renamed in."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def replacing(target: Path, mode: int = 0o644) -> Iterator[Path]:
    """A temp path beside `target` to fill; on success it replaces `target`, on any failure it is removed.

    Readers see the old file or the new one, never a mix. A hard link put at the temp path keeps its source's mode;
    a file made here gets `mode`: 0644 by default (mkstemp makes 0600, and a shared model cache must stay
    readable), 0600 for secrets such as password hashes.
    """
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        if os.path.isfile(tmp):
            fsync(Path(tmp))
            if os.stat(tmp).st_nlink == 1:
                os.chmod(tmp, mode)
        os.replace(tmp, target)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def write_atomic(target: Path, write: Callable[[BinaryIO], object], mode: int = 0o644) -> None:
    """Write `target` through `write(fh)` (a binary file object), atomically."""
    with replacing(target, mode) as tmp:
        with open(tmp, "wb") as fh:
            write(fh)


def fsync(*paths: Path) -> None:
    """fsync files and folders (a folder's entries: new names, renames), so a power loss cannot undo them."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
