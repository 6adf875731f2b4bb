"""Loaders that turn .txt/.md, .html and .jsonl files (or folders of them) into cleaned `Article`s."""
from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import InputError
from ..types import Article
from .cleaning import clean_text, derive_title, looks_like_title, repair_unicode

TEXT_SUFFIXES = {".txt", ".md", ".text", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES
MAX_FILE_BYTES = 200 * 1024 * 1024
log = logging.getLogger(__name__)


def normalize_date(value: object, where: str) -> str | None:
    """ISO `YYYY-MM-DD`, so date filters compare as strings."""
    if value in (None, ""):
        return None
    from datetime import datetime

    from dateutil import parser

    try:  # a missing month or day is the first, not today's: "2019-12" is 2019-12-01 whenever it is read
        default = datetime(datetime.now().year, 1, 1)
        return parser.parse(str(value), fuzzy=False, default=default).date().isoformat()
    except (ValueError, OverflowError, TypeError) as exc:
        raise InputError(f"{where}: invalid date {str(value)[:40]!r} (use ISO format, e.g. 2019-12-26)") from exc


def make_article(id: object, title: object, text: object, where: str, date: object = None,
                 source: object = None, url: object = None) -> Article:
    """Validate and clean one article; every loader ends here."""
    if not isinstance(text, str):
        raise InputError(f"{where}: 'text' must be a string")
    id, title, text, source, url = (_repaired(v, name, where) for v, name in
                                    ((id, "id"), (title, "title"), (text, "text"), (source, "source"), (url, "url")))
    body = clean_text(str(text))
    if not body:
        raise InputError(f"{where}: the article has no text")
    title = clean_text(str(title or "")).replace("\n", " ") or derive_title(body)
    art_id = str(id).strip() if id is not None else ""
    art_id = art_id or hashlib.sha1(body.encode()).hexdigest()[:16]
    return Article(id=art_id, title=title, text=body, date=normalize_date(date, where),
                   source=str(source) if source else None, url=str(url) if url else None)


def _repaired(value: object, name: str, where: str) -> object:
    """A string field with broken characters (lone surrogates) repaired, and a warning naming the row."""
    if not isinstance(value, str):
        return value
    fixed, n = repair_unicode(value)
    if n:
        log.warning("%s: replaced %d broken character(s) in %r with U+FFFD", where, n, name)
    return fixed


def decode(data: bytes, where: str) -> str:
    """UTF-8 (with or without BOM) or UTF-16 with BOM; anything else is refused, not guessed."""
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{where}: looks like a binary file, not text")
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{where}: not valid UTF-8 (byte {exc.start}); re-save the file as UTF-8") from exc


def load_text(path: Path, data: str) -> list[Article]:
    lines = data.strip().split("\n", 1)
    title = ""
    if len(lines) == 2 and looks_like_title(clean_text(lines[0])) and clean_text(lines[1]):
        title, data = lines[0].lstrip("# "), lines[1]
    return [make_article(path.stem, title, data, str(path))]


def load_html(path: Path, data: str) -> list[Article]:
    from .html import extract

    title, text, date = extract(data)
    return [make_article(path.stem, title, text, str(path), date=date)]


def load_jsonl(path: Path, data: str) -> list[Article]:
    articles = []
    for no, line in enumerate(data.split("\n"), 1):
        if not line.strip():
            continue
        where = f"{path}:{no}"
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            raise InputError(f"{where}: invalid JSON ({reason})") from exc
        if not isinstance(row, dict):
            raise InputError(f"{where}: each line must be a JSON object")
        articles.append(make_article(row.get("id"), row.get("title"), row.get("text"), where,
                                     row.get("date"), row.get("source"), row.get("url")))
    return articles


def load_file(path: str | Path, name: str | None = None) -> list[Article]:
    """Articles of one file; `name` overrides the name used for type and id (uploads)."""
    path = Path(path)
    shown = Path(name) if name else path
    suffix = shown.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"{shown}: unsupported file type {suffix or '(none)'}; use {', '.join(sorted(SUFFIXES))}")
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InputError(f"{shown}: larger than {MAX_FILE_BYTES // 2**20} MB")
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{shown}: cannot read ({exc.strerror})") from exc
    return load_bytes(shown, raw)


def load_bytes(shown: Path, raw: bytes) -> list[Article]:
    """Articles of one file's bytes, typed and named by `shown` (what a distributed reader calls per file)."""
    suffix = shown.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"{shown}: unsupported file type {suffix or '(none)'}; use {', '.join(sorted(SUFFIXES))}")
    if len(raw) > MAX_FILE_BYTES:
        raise InputError(f"{shown}: larger than {MAX_FILE_BYTES // 2**20} MB")
    data = decode(raw, str(shown))
    if not data.strip():
        raise InputError(f"{shown}: the file is empty")
    if suffix in JSONL_SUFFIXES:
        return load_jsonl(shown, data)
    if suffix in HTML_SUFFIXES:
        return load_html(shown, data)
    return load_text(shown, data)


def is_qa_file(path: Path) -> bool:
    """A Q&A set (`{"question": ...}` lines) kept beside the articles, as `seeds/qa.jsonl` is."""
    if path.suffix.lower() not in JSONL_SUFFIXES:
        return False
    try:
        with open(path, encoding="utf-8") as fh:
            first = next((line for line in fh if line.strip()), "")
        row = json.loads(first)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return False
    return isinstance(row, dict) and "question" in row and "text" not in row


def iter_files(paths: Iterable[str | os.PathLike]) -> Iterator[Path]:
    """Files named directly, and article files found under folders (sorted; hidden files and Q&A sets skipped)."""
    for p in map(Path, paths):
        if p.is_dir():
            yield from sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUFFIXES
                              and not any(part.startswith(".") for part in f.relative_to(p).parts)
                              and not is_qa_file(f))
        elif p.exists():
            yield p
        else:
            raise InputError(f"{p}: no such file or folder")


def load_paths(paths: Iterable[str | os.PathLike]) -> tuple[list[Article], list[str]]:
    """All articles that load, and one error message per file that does not."""
    articles: list[Article] = []
    errors: list[str] = []
    for f in iter_files(paths):
        try:
            articles.extend(load_file(f))
        except InputError as exc:
            errors.append(str(exc))
    return articles, errors
