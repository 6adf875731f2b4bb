"""The files of an index folder: which belong to a generation, and which a crashed or older write left behind."""
from __future__ import annotations

from pathlib import Path

DB_NAME = "index.sqlite"
MANIFEST = "manifest.json"
LOCK = "write.lock"
GENERATION_PREFIXES = ("vectors-", "bm25-")


def vectors_file(folder: Path, gen: int) -> Path:
    return folder / f"vectors-{gen:06d}.faiss"


def bm25_folder(folder: Path, gen: int) -> Path:
    return folder / f"bm25-{gen:06d}"


def generation_names(gen: int) -> set[str]:
    """Names of the files and folders one generation consists of."""
    vectors = vectors_file(Path(), gen)
    return {vectors.name, vectors.with_suffix(".ids.npy").name, bm25_folder(Path(), gen).name}


def is_stale(name: str, keep: int) -> bool:
    """A file of another generation than `keep`, or a temp file of an interrupted write."""
    if name.startswith(GENERATION_PREFIXES):
        return name not in generation_names(keep)
    return name.startswith(MANIFEST) and name.endswith(".tmp")


def stale(folder: Path, keep: int) -> list[Path]:
    """What readers ignore and the next write removes, given the published generation `keep`."""
    return sorted(p for p in folder.iterdir() if is_stale(p.name, keep))


def is_index_file(name: str) -> bool:
    """Whether `discard` may delete this name (it never touches anything else in the folder)."""
    return name.startswith((DB_NAME, *GENERATION_PREFIXES)) or name.startswith(MANIFEST)
