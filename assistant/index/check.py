"""Integrity check of an index: vectors, rows, manifest and offsets agree."""
from __future__ import annotations

import logging
import os

from ..errors import AssistantError
from . import checksums, consistency, files
from . import manifest as mf
from .index import Index, Snapshot, rebuild_hint

log = logging.getLogger(__name__)


def check(index: Index) -> list[str]:
    """Every problem found, each followed by its fix."""
    try:
        snap = index.refresh()
    except AssistantError as exc:
        return [str(exc)]
    problems = [f"{p}; fix: {rebuild_hint(index.path)}" for p in _problems(index, snap)]
    log.info("checked %s: %d problem(s)", index.path, len(problems),
             extra={"event": "check", "index": str(index.path), "problems": len(problems),
                    "generation": snap.generation})
    return problems


def _problems(index: Index, snap: Snapshot) -> list[str]:
    problems = consistency.cheap(index.store, len(snap.vectors), len(snap.lexical.ids))
    recorded = _recorded(index, snap)
    if recorded:
        problems += [f"generation {snap.generation}: {p}" for p in checksums.verify(index.path, recorded, full=True)]
    integrity = [r[0] for r in index.store.query("PRAGMA quick_check")]
    if integrity != ["ok"]:
        problems.append(f"SQLite integrity check failed: {'; '.join(map(str, integrity[:5]))}")
    if snap.vectors.index.ntotal != len(snap.vectors.ids):
        problems.append("FAISS index and its id list differ in length")
    db_ids = {r[0] for r in index.store.query("SELECT id FROM chunks")}
    if set(snap.vectors.ids.tolist()) != db_ids:
        problems.append("FAISS ids do not match chunk ids (chunk rows deleted or added by hand?)")
    if set(snap.lexical.ids.tolist()) != db_ids:
        problems.append("BM25 rows do not match chunk ids")
    lex = snap.lexical
    if lex.updatable and (len(lex.offsets) != len(lex.ids) + 1 or int(lex.offsets[-1]) != len(lex.tokens)):
        problems.append("BM25 token ids do not match its rows")
    try:
        stored = mf.read_stored(index.store)
    except ValueError:
        stored = None  # reported by consistency.cheap
    if snap.generation and not stored:
        problems.append("manifest missing from the database")
    elif stored and stored.get("generation") != snap.generation:
        problems.append(f"manifest generation {stored.get('generation')} != published {snap.generation}")
    bad = index.store.query("SELECT c.id FROM chunks c JOIN articles a ON a.id = c.article_id "
                            "WHERE substr(a.text, c.start + 1, c.end - c.start) != c.text")
    if bad:
        problems.append(f"{len(bad)} chunk(s) whose offsets do not match their article text (text edited by hand?)")
    return problems


def leftovers(index: Index) -> list[str]:
    """Files a crashed or interrupted writer left behind: harmless (readers ignore them), removed by the next write."""
    return [p.name for p in files.stale(index.path, index.generation_on_disk())]


def _recorded(index: Index, snap: Snapshot) -> dict | None:
    try:
        stored = mf.read_stored(index.store) or {}
    except ValueError:
        return None
    return stored.get("files") if stored.get("generation") == snap.generation else None


def unverified(index: Index) -> bool:
    """A published generation without stored checksums (written by an older version): its files cannot be verified."""
    snap = index.snapshot
    return bool(snap.generation) and _recorded(index, snap) is None


def report(path: str | os.PathLike, encoder: str | None = None) -> tuple[list[str], list[str], list[str]]:
    """(problems, leftover files, notes) of the index at `path`; an index that cannot be opened is a problem too."""
    try:
        index = Index(path, encoder=encoder, create=False)
    except AssistantError as exc:
        return [str(exc)], [], []
    try:
        problems, left = check(index), leftovers(index)
        notes = ["this index was written before file checksums were stored, so its FAISS and BM25 files cannot be "
                 "verified (the next add or remove stores them)"] if unverified(index) else []
        return problems, left, notes
    finally:
        index.close()


def check_path(path: str | os.PathLike, encoder: str | None = None) -> tuple[list[str], list[str]]:
    """(problems, leftover files) of the index at `path`; an index that cannot be opened is a problem too."""
    problems, left, _ = report(path, encoder)
    return problems, left
