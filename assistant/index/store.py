"""SQLite rows for articles and chunks; one transaction per published index generation."""
from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote

from ..errors import IndexLockedError, WriteConflictError
from ..types import Article, Chunk

SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, text TEXT NOT NULL, date TEXT, source TEXT, url TEXT,
    hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY, article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL, text TEXT NOT NULL, sentences TEXT);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
CREATE INDEX IF NOT EXISTS articles_date ON articles(date);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# Added after format 3 without a format bump: an older database gets the table when opened for writing, and
# its articles get signatures at the next add (see Index._groups); until then each is its own story.
GROUPS_SCHEMA = """
CREATE TABLE IF NOT EXISTS minhash (
    article_id TEXT PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE, grp TEXT NOT NULL, sig BLOB);
CREATE INDEX IF NOT EXISTS minhash_grp ON minhash(grp);
"""


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """`mode=ro`; where even the -wal/-shm files cannot be created (a read-only folder), `immutable=1`."""
    uri = f"file:{quote(str(path.resolve()))}"
    for options in ("mode=ro", "mode=ro&immutable=1"):
        conn = sqlite3.connect(f"{uri}?{options}", uri=True, check_same_thread=False, isolation_level=None, timeout=30)
        try:
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError:
            conn.close()
            if "immutable" in options:
                raise
    raise AssertionError("unreachable")


class ChunkRow(NamedTuple):
    """A chunk with its article's metadata, as search reads it; `sentences` is its spans as JSON (None: split when read)."""

    id: int
    article_id: str
    idx: int
    start: int
    end: int
    text: str
    title: str
    date: str | None
    source: str | None
    url: str | None
    sentences: str | None


COLUMNS = {"id": "c.id", "article_id": "c.article_id", "idx": "c.idx", "start": "c.start", "end": "c.end",
           "text": "c.text", "title": "a.title", "date": "a.date", "source": "a.source", "url": "a.url",
           "sentences": "c.sentences"}
assert tuple(COLUMNS) == ChunkRow._fields


class Store:
    def __init__(self, path: Path, read_only: bool = False):
        self.path = path
        self.read_only = read_only
        self.lock = threading.Lock()
        if read_only:
            self.conn = _connect_read_only(path)
            self.row_sql = ", ".join({**COLUMNS, "sentences": "c.sentences" if self._has_sentences() else "NULL"}.values())
            self.has_groups = self._has_groups()
            return
        self.conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.executescript(SCHEMA)
        self._add_sentences_column()
        self.has_groups = self._add_groups_table()

    def _add_groups_table(self) -> bool:
        """The `minhash` table (story groups); False when a read-only older database lacks it."""
        try:
            self.conn.executescript(GROUPS_SCHEMA)
        except sqlite3.OperationalError:
            pass
        return self._has_groups()

    def _has_groups(self) -> bool:
        return bool(self.conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='minhash'").fetchone())

    def _add_sentences_column(self) -> None:
        """Databases written before sentence spans were stored get the column (NULL: spans computed when read)."""
        self.row_sql = ", ".join(COLUMNS.values())
        if self._has_sentences():
            return
        try:
            self.conn.execute("ALTER TABLE chunks ADD COLUMN sentences TEXT")
        except sqlite3.OperationalError as exc:
            if self._has_sentences():  # another process added it meanwhile
                return
            if "readonly" not in str(exc).replace(" ", "").lower():  # locked past the timeout: say so
                raise IndexLockedError(f"{self.path} is locked by another process ({exc}); try again") from exc
            # read-only: spans are computed when read
            self.row_sql = ", ".join({**COLUMNS, "sentences": "NULL"}.values())

    def _has_sentences(self) -> bool:
        return "sentences" in {r[1] for r in self.conn.execute("PRAGMA table_info(chunks)")}

    def query(self, sql: str, params: Sequence = ()) -> list[tuple]:
        with self.lock:
            return self.conn.execute(sql, params).fetchall()

    def meta(self, key: str, default: str | None = None) -> str | None:
        rows = self.query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else default

    def hashes(self, ids: Iterable[str]) -> dict[str, str]:
        ids = list(ids)
        out: dict[str, str] = {}
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            out.update(self.query(f"SELECT id, hash FROM articles WHERE id IN ({','.join('?' * len(part))})", part))
        return out

    def all_hashes(self) -> dict[str, str]:
        """Every stored article's content hash, by id (what a distributed run compares against on its workers)."""
        return dict(self.query("SELECT id, hash FROM articles", []))

    def chunk_ids(self, article_ids: Iterable[str]) -> list[int]:
        ids = list(article_ids)
        out: list[int] = []
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            out += [r[0] for r in self.query(f"SELECT id FROM chunks WHERE article_id IN ({','.join('?' * len(part))})", part)]
        return out

    def next_chunk_id(self) -> int:
        """Chunk ids are never reused, so a search that began before a remove cannot mistake a new chunk for it."""
        highest = self.query("SELECT COALESCE(MAX(id), -1) FROM chunks")[0][0]
        return max(highest + 1, int(self.meta("next_chunk_id") or "0"))

    def commit(self, remove: Sequence[str], articles: Sequence[tuple[Article, str]],
               chunks: Sequence[tuple[int, Chunk, str]], meta: dict[str, object],
               expect_generation: int | None = None,
               groups: Sequence[tuple[str, str, bytes | None]] = ()) -> None:
        """Replace articles and their chunks (id, chunk, sentence spans as JSON) and record the new generation,
        all or nothing. With `expect_generation`, only if the database still names that generation (checked in the
        same transaction), else `WriteConflictError` and nothing is written."""
        with self.lock:
            cur = self.conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                if expect_generation is not None:
                    found = cur.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
                    if int(found[0] if found else 0) != expect_generation:
                        raise WriteConflictError(
                            f"another writer published generation {found[0] if found else 0} while this one was "
                            f"writing on generation {expect_generation} (was write.lock removed?); this write was "
                            "not published: run it again")
                cur.executemany("DELETE FROM articles WHERE id = ?", [(i,) for i in remove])
                cur.executemany(
                    "INSERT INTO articles (id, title, text, date, source, url, hash) VALUES (?,?,?,?,?,?,?)",
                    [(a.id, a.title, a.text, a.date, a.source, a.url, h) for a, h in articles])
                cur.executemany("INSERT OR REPLACE INTO minhash (article_id, grp, sig) VALUES (?,?,?)", groups)
                cur.executemany(
                    "INSERT INTO chunks (id, article_id, idx, start, end, text, sentences) VALUES (?,?,?,?,?,?,?)",
                    [(cid, c.article_id, c.index, c.start, c.end, c.text, spans) for cid, c, spans in chunks])
                cur.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                [(k, v if isinstance(v, str) else json.dumps(v)) for k, v in meta.items()])
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise

    def rows(self, chunk_ids: Sequence[int]) -> dict[int, ChunkRow]:
        """Chunk rows joined with their article's metadata, keyed by chunk id."""
        if not chunk_ids:
            return {}
        marks = ",".join("?" * len(chunk_ids))
        rows = self.query(f"SELECT {self.row_sql} FROM chunks c JOIN articles a ON a.id = c.article_id WHERE c.id IN ({marks})",
                          list(chunk_ids))
        return {r[0]: ChunkRow(*r) for r in rows}

    def chunk_texts(self, chunk_ids: Sequence[int]) -> list[str]:
        """Title and text of the given chunks, as BM25 indexes them."""
        out: list[str] = []
        for i in range(0, len(chunk_ids), 500):
            part = list(chunk_ids[i:i + 500])
            out += [r[0] for r in self.query(
                f"SELECT a.title || '\n' || c.text FROM chunks c JOIN articles a ON a.id = c.article_id "
                f"WHERE c.id IN ({','.join('?' * len(part))})", part)]
        return out

    def all_chunk_texts(self) -> tuple[list[int], list[str]]:
        rows = self.query("SELECT c.id, a.title || '\n' || c.text FROM chunks c JOIN articles a ON a.id = c.article_id ORDER BY c.id")
        return [r[0] for r in rows], [r[1] for r in rows]

    def article(self, article_id: str) -> Article | None:
        rows = self.query("SELECT id, title, text, date, source, url FROM articles WHERE id = ?", (article_id,))
        return Article(*rows[0]) if rows else None

    def list_articles(self, match: str = "", limit: int | None = None) -> list[dict]:
        """Articles, the last added (or changed) first; `match`: only those whose id, title or source contains it
        (any case)."""
        where, params = _matching(match)
        rows = self.query("SELECT a.id, a.title, a.date, a.source, "
                          "(SELECT COUNT(*) FROM chunks c WHERE c.article_id = a.id), a.url FROM articles a"
                          f"{where} ORDER BY a.rowid DESC LIMIT ?", (*params, -1 if limit is None else limit))
        return [dict(zip(("id", "title", "date", "source", "chunks", "url"), r)) for r in rows]

    def count_articles(self, match: str = "") -> int:
        where, params = _matching(match)
        return self.query(f"SELECT COUNT(*) FROM articles a{where}", params)[0][0]

    def newest_date(self) -> str | None:
        """The latest article date in the index: what "latest", "this week" are relative to."""
        return self.query("SELECT MAX(date) FROM articles WHERE date IS NOT NULL AND date != ''")[0][0]

    def counts(self) -> dict[str, int]:
        return {"articles": self.query("SELECT COUNT(*) FROM articles")[0][0],
                "chunks": self.query("SELECT COUNT(*) FROM chunks")[0][0]}

    def row_fields(self) -> list[tuple[int, str, str | None, str | None]]:
        """(chunk id, article id, date, source) of every chunk: what search filters test."""
        return self.query("SELECT c.id, a.id, a.date, a.source FROM chunks c JOIN articles a ON a.id = c.article_id")

    def signatures(self) -> list[tuple[str, str, bytes | None]]:
        """(article id, story group, MinHash signature) of every grouped article, in the order they were added."""
        if not self.has_groups:
            return []
        return self.query("SELECT article_id, grp, sig FROM minhash ORDER BY rowid")

    def ungrouped(self, exclude: Iterable[str] = ()) -> list[tuple[str, str]]:
        """(id, text) of articles without a signature (indexed by an older version), oldest first."""
        if not self.has_groups:
            return []
        skip = set(exclude)
        rows = self.query("SELECT a.id, a.text FROM articles a LEFT JOIN minhash m ON m.article_id = a.id "
                          "WHERE m.article_id IS NULL ORDER BY a.rowid")
        return [r for r in rows if r[0] not in skip]

    def groups(self, article_ids: Sequence[str]) -> dict[str, list[tuple[str, str | None]]]:
        """For each article id: the other articles of its story, as (article id, source)."""
        ids = list(dict.fromkeys(article_ids))
        if not self.has_groups or not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.query(
            f"SELECT m.article_id, o.article_id, a.source FROM minhash m JOIN minhash o ON o.grp = m.grp "
            f"AND o.article_id != m.article_id JOIN articles a ON a.id = o.article_id WHERE m.article_id IN ({marks}) "
            "ORDER BY o.rowid", ids)
        out: dict[str, list[tuple[str, str | None]]] = {}
        for art, other, source in rows:
            out.setdefault(art, []).append((other, source))
        return out

    def close(self) -> None:
        self.conn.close()


def _matching(match: str) -> tuple[str, tuple[str, ...]]:
    """A WHERE clause for articles whose id, title or source contains `match` (LIKE, its wildcards escaped)."""
    if not match:
        return "", ()
    like = "%" + match.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return (" WHERE a.id LIKE ? ESCAPE '\\' OR a.title LIKE ? ESCAPE '\\' OR a.source LIKE ? ESCAPE '\\'",
            (like, like, like))
