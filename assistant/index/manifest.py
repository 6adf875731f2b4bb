"""What an index was built with; opening it with anything else would silently mix vector spaces."""
from __future__ import annotations

import json
from pathlib import Path

from ..atomic import write_atomic
from ..errors import IndexMismatchError

FORMAT_VERSION = 1
BUILD_KEYS = ("format_version", "model", "encoder", "dim", "chunking")


def mismatches(stored: dict, wanted: dict) -> list[str]:
    return [f"{k}: index has {stored.get(k)!r}, asked for {wanted.get(k)!r}"
            for k in BUILD_KEYS if k in wanted and wanted[k] is not None and stored.get(k) != wanted[k]]


def check_compatible(stored: dict, wanted: dict, path: Path) -> None:
    if stored.get("format_version", FORMAT_VERSION) > FORMAT_VERSION:
        raise IndexMismatchError(f"{path} was written by a newer version (format {stored['format_version']}); upgrade the package")
    problems = mismatches(stored, wanted)
    if problems:
        raise IndexMismatchError(
            f"The index at {path} was built with other settings ({'; '.join(problems)}). "
            f"Open it without overriding them, or rebuild it: assistant index --rebuild --index {path} PATH ...")


def readable(stored: dict) -> dict:
    """The stored manifest as `manifest.json` shows it: without the file checksums (they live in the database)."""
    return {k: v for k, v in stored.items() if k != "files"}


def write(path: Path, manifest: dict) -> None:
    write_atomic(path, lambda fh: fh.write(json.dumps(readable(manifest), indent=2, sort_keys=True).encode()))


def read(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def read_stored(store) -> dict | None:
    """The authoritative manifest, committed in the same SQLite transaction as the rows it describes."""
    raw = store.meta("manifest")
    return json.loads(raw) if raw else None
