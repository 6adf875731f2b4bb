"""Checksums of a generation's files, committed in the manifest row with the generation they describe.

`check` compares full SHA-256 hashes; opening compares sizes and a sampled hash (the whole file below
`FULL_BELOW` bytes, else `SAMPLES` blocks spread over it), cheap at any size. Indexes written before checksums
were stored have none: nothing to compare, which `check` says.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from . import files

BLOCK = 4096
SAMPLES = 64
FULL_BELOW = 4 * 2**20


def generation_files(folder: Path, gen: int) -> list[Path]:
    """Every file of generation `gen` (the BM25 folder's files one by one)."""
    out = []
    for name in sorted(files.generation_names(gen)):
        p = folder / name
        out += sorted(p.iterdir()) if p.is_dir() else [p]
    return out


def record(folder: Path, gen: int) -> dict[str, dict]:
    """{relative name: {"size", "sha256", "sampled"}} of the generation's files, as the manifest stores it."""
    out = {}
    for p in generation_files(folder, gen):
        out[p.relative_to(folder).as_posix()] = {"size": p.stat().st_size, "sha256": full_hash(p), "sampled": sampled_hash(p)}
    return out


def full_hash(path: str | os.PathLike) -> str:
    """SHA-256 of a whole file, read a MiB at a time."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(2**20):
            h.update(chunk)
    return h.hexdigest()


def sampled_hash(path: Path) -> str:
    size = path.stat().st_size
    if size <= FULL_BELOW:
        return full_hash(path)
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for i in range(SAMPLES):
            fh.seek((size - BLOCK) * i // (SAMPLES - 1))
            h.update(fh.read(BLOCK))
    return h.hexdigest()


def verify(folder: Path, recorded: dict[str, dict], full: bool) -> list[str]:
    """Files that are missing or whose size or hash differs from `recorded` (full: SHA-256 of the whole file)."""
    problems = []
    for name, want in sorted(recorded.items()):
        p = folder / name
        try:
            size = p.stat().st_size
            if size != want["size"]:
                problems.append(f"{name} has {size:,} bytes, {want['size']:,} were written")
            elif (full_hash(p) != want["sha256"]) if full else (sampled_hash(p) != want["sampled"]):
                problems.append(f"{name} does not match its {'checksum' if full else 'sampled checksum'}")
        except OSError as exc:
            problems.append(f"{name} cannot be read ({exc.strerror})")
    return problems
