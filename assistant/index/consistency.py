"""The cheap consistency checks every write runs first (and `check` too): row counts against vectors and BM25 rows,
chunks whose article row is gone, the committed manifest's counts. A full check is `check.py`."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import manifest as mf

if TYPE_CHECKING:
    from .index import Index


def cheap(index: Index) -> list[str]:
    """Problems found in a few milliseconds, even at 100k chunks; [] when the counts agree."""
    snap = index.snapshot
    counts = index.store.counts()
    problems = []
    if len(snap.vectors) != counts["chunks"]:
        problems.append(f"FAISS holds {len(snap.vectors)} vectors but SQLite {counts['chunks']} chunks")
    if len(snap.lexical.ids) != counts["chunks"]:
        problems.append(f"BM25 holds {len(snap.lexical.ids)} rows but SQLite {counts['chunks']} chunks")
    orphans = index.store.query("SELECT COUNT(*) FROM chunks WHERE article_id NOT IN (SELECT id FROM articles)")[0][0]
    if orphans:
        problems.append(f"{orphans} chunk(s) whose article row is gone")
    try:
        stored = mf.read_stored(index.store) or {}
    except ValueError:
        return [*problems, "the manifest row is not valid JSON"]
    for key in ("articles", "chunks"):
        if key in stored and stored[key] != counts[key]:
            problems.append(f"the manifest says {stored[key]} {key}, the database holds {counts[key]}")
    return problems
