"""Integrity check of an index: vectors, rows, manifest and offsets agree."""
from __future__ import annotations

from . import manifest as mf
from .index import Index


def check(index: Index) -> list[str]:
    problems: list[str] = []
    snap = index.refresh()
    counts = index.store.counts()
    if len(snap.vectors) != counts["chunks"]:
        problems.append(f"FAISS holds {len(snap.vectors)} vectors but SQLite {counts['chunks']} chunks")
    if snap.vectors.index.ntotal != len(snap.vectors.ids):
        problems.append("FAISS index and its id list differ in length")
    db_ids = {r[0] for r in index.store.query("SELECT id FROM chunks")}
    if set(snap.vectors.ids.tolist()) != db_ids:
        problems.append("FAISS ids do not match chunk ids")
    if len(snap.lexical.ids) != counts["chunks"] or set(snap.lexical.ids.tolist()) != db_ids:
        problems.append("BM25 rows do not match chunk ids")
    stored = mf.read_stored(index.store)
    if snap.generation and not stored:
        problems.append("manifest missing from the database")
    elif stored:
        for key in ("articles", "chunks"):
            if stored.get(key) != counts[key]:
                problems.append(f"manifest says {stored.get(key)} {key}, the database holds {counts[key]}")
        if stored.get("generation") != snap.generation:
            problems.append(f"manifest generation {stored.get('generation')} != published {snap.generation}")
    bad = index.store.query("SELECT c.id FROM chunks c JOIN articles a ON a.id = c.article_id "
                            "WHERE substr(a.text, c.start + 1, c.end - c.start) != c.text")
    if bad:
        problems.append(f"{len(bad)} chunk(s) whose offsets do not match their article text")
    return problems
