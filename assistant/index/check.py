"""Integrity check of an index: vectors, rows, manifest and offsets agree."""
from __future__ import annotations

import logging
import os

from ..errors import AssistantError
from . import files
from . import manifest as mf
from .index import Index

log = logging.getLogger(__name__)


def check(index: Index) -> list[str]:
    problems: list[str] = []
    try:
        snap = index.refresh()
    except AssistantError as exc:
        return [str(exc)]
    integrity = [r[0] for r in index.store.query("PRAGMA quick_check")]
    if integrity != ["ok"]:
        problems.append(f"SQLite integrity check failed: {'; '.join(map(str, integrity[:5]))}")
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
    lex = snap.lexical
    if lex.updatable and (len(lex.offsets) != len(lex.ids) + 1 or int(lex.offsets[-1]) != len(lex.tokens)):
        problems.append("BM25 token ids do not match its rows")
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
    log.info("checked %s: %d problem(s)", index.path, len(problems),
             extra={"event": "check", "index": str(index.path), "problems": len(problems),
                    "generation": snap.generation, **counts})
    return problems


def leftovers(index: Index) -> list[str]:
    """Files a crashed or interrupted writer left behind: harmless (readers ignore them), removed by the next write."""
    return [p.name for p in files.stale(index.path, index.generation_on_disk())]


def check_path(path: str | os.PathLike, encoder: str | None = None) -> tuple[list[str], list[str]]:
    """(problems, leftover files) of the index at `path`; an index that cannot be opened is a problem too."""
    try:
        index = Index(path, encoder=encoder, create=False)
    except AssistantError as exc:
        return [str(exc)], []
    try:
        return check(index), leftovers(index)
    finally:
        index.close()
