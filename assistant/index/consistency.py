"""The cheap consistency checks every write runs first (and `check` too): row counts against vectors and BM25 rows,
chunks whose article row is gone, the committed manifest's counts. A full check is `check.py`."""
from __future__ import annotations

from . import manifest as mf
from .store import Store


def cheap(store: Store, vectors: int, bm25_rows: int) -> list[str]:
    """Problems found in a few milliseconds, even at 100k chunks, given the published generation's number of
    vectors and BM25 rows; [] when the counts agree."""
    counts = store.counts()
    problems = []
    if vectors != counts["chunks"]:
        problems.append(f"FAISS holds {vectors} vectors but SQLite {counts['chunks']} chunks")
    if bm25_rows != counts["chunks"]:
        problems.append(f"BM25 holds {bm25_rows} rows but SQLite {counts['chunks']} chunks")
    orphans = store.query("SELECT COUNT(*) FROM chunks WHERE article_id NOT IN (SELECT id FROM articles)")[0][0]
    if orphans:
        problems.append(f"{orphans} chunk(s) whose article row is gone")
    try:
        stored = mf.read_stored(store) or {}
    except ValueError:
        return [*problems, "the manifest row is not valid JSON"]
    for key in ("articles", "chunks"):
        if key in stored and stored[key] != counts[key]:
            problems.append(f"the manifest says {stored[key]} {key}, the database holds {counts[key]}")
    return problems
