"""Loaders that turn .txt/.md, .html and .jsonl files (or folders of them) into cleaned `Article`s."""
from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..types import Article
from ..validate import normalize_date
from .cleaning import clean_text, derive_title, looks_like_title, repair_unicode
from .walk import HTML_SUFFIXES, JSONL_SUFFIXES, SUFFIXES, Found, find, is_qa_file  # noqa: F401 (re-exported)

MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_ARTICLE_CHARS = 2_000_000  # `--max-article-chars`: longer articles are refused (~2,500 passages, minutes to embed)
WARN_ARTICLE_CHARS = 200_000  # longer ones are indexed with a warning
log = logging.getLogger(__name__)


@dataclass
class Loaded:
    """What a run read: the articles, one error per file or row refused, warnings, and what was skipped unread."""

    articles: list[Article] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    found: Found = field(default_factory=Found)


def load_report(paths: Iterable[str | os.PathLike], max_chars: int | None = None) -> Loaded:
    """Load every file found under `paths`: bad files and rows become errors, a second article with an id already
    read is skipped with a warning naming both sources, and an article over `max_chars` characters is refused."""
    limit = MAX_ARTICLE_CHARS if max_chars is None else max_chars
    out = Loaded(found=find(paths))
    sources: dict[str, str] = {}
    for path, art_id in out.found.files:
        origins: list[str] = []
        try:
            articles = load_file(path, id=art_id, errors=out.errors, origins=origins)
        except InputError as exc:
            out.errors.append(str(exc))
            continue
        for n, article in enumerate(articles):
            where = origins[n] if len(origins) == len(articles) else str(path)
            if len(article.text) > limit:
                out.errors.append(f"{where}: the article is {len(article.text):,} characters long, over the limit "
                                  f"of {limit:,}; split it, or raise the limit with --max-article-chars")
            elif article.id in sources:
                out.warnings.append(f"{where}: duplicate id {article.id!r} (already read from {sources[article.id]}); "
                                    "skipped this one: give one of them another id")
            else:
                if len(article.text) > WARN_ARTICLE_CHARS:
                    out.warnings.append(f"{where}: a long article ({len(article.text):,} characters, about "
                                        f"{len(article.text) // 800:,} passages to embed); this takes a while")
                sources[article.id] = where
                out.articles.append(article)
    return out


def make_article(id: object, title: object, text: object, where: str, date: object = None,
                 source: object = None, url: object = None) -> Article:
    """Validate and clean one article; every loader ends here."""
    if not isinstance(text, str):
        raise InputError(f"{where}: 'text' must be a string")
    id, title, text, source, url = (_repaired(v, name, where) for v, name in
                                    ((id, "id"), (title, "title"), (text, "text"), (source, "source"), (url, "url")))
    for value, name in ((id, "id"), (title, "title"), (text, "text"), (source, "source"), (url, "url")):
        if isinstance(value, str) and "\x00" in value:
            raise InputError(f"{where}: the {name} contains a NUL character")
    body = clean_text(str(text))
    if not body:
        raise InputError(f"{where}: the article has no text")
    title = clean_text(str(title or "")).replace("\n", " ") or derive_title(body)
    art_id = str(id).strip() if id is not None else ""
    art_id = art_id or hashlib.sha1(body.encode()).hexdigest()[:16]
    iso = _metadata_date(date, where) or _text_date(body, url)
    return Article(id=art_id, title=title, text=body, date=iso,
                   source=str(source) if source else None, url=str(url) if url else None)


def _metadata_date(value: object, where: str) -> str | None:
    """The row's or page's own date as ISO; one with noise after a full date is read by that date, as the text is
    cleaned of scrape noise, while a value that holds no full date ("31/31/2019", "yesterday") stays an error."""
    try:
        return normalize_date(value, where)
    except InputError:
        from .dates import leading_date

        if not isinstance(value, str) or (found := leading_date(value)) is None:
            raise
        log.debug("%s: date %r read as %s", where, value[:60], found)
        return found


def _text_date(body: str, url: object) -> str | None:
    """A date the text gives itself (Reuters header, dateline with a year from the URL); see `dates.py`."""
    from .dates import text_date, year_hint

    return text_date(body, year_hint(url))


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


def load_text(path: Path, data: str, id: str | None = None) -> list[Article]:
    lines = data.strip().split("\n", 1)
    title = ""
    if len(lines) == 2 and looks_like_title(clean_text(lines[0])) and clean_text(lines[1]):
        title, data = lines[0].lstrip("# "), lines[1]
    return [make_article(id or path.stem, title, data, str(path))]


def load_html(path: Path, data: str, id: str | None = None) -> list[Article]:
    from .web import page_fields  # trafilatura + htmldate; the old extractor is its fallback

    return [make_article(**page_fields(data, str(path), id=id or path.stem))]


def load_jsonl(path: Path, data: str, errors: list[str] | None = None,
               origins: list[str] | None = None) -> list[Article]:
    """The file's articles; a bad row raises, or with `errors` is reported there (with its line) and skipped.
    `origins` receives `FILE:LINE` of each article loaded."""
    articles = []
    for where, item in jsonl_rows(path, data):
        if isinstance(item, InputError):
            if errors is None:
                raise item
            errors.append(str(item))
            continue
        articles.append(item)
        if origins is not None:
            origins.append(where)
    return articles


def jsonl_rows(path: Path, data: str) -> Iterator[tuple[str, Article | InputError]]:
    """Each non-blank row's `FILE:LINE` and its article, or the error that row gives, one at a time."""
    for no, line in enumerate(data.split("\n"), 1):
        if line.strip():
            try:
                yield f"{path}:{no}", _row(line, f"{path}:{no}")
            except InputError as exc:
                yield f"{path}:{no}", exc


def _row(line: str, where: str) -> Article:
    try:
        row = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        raise InputError(f"{where}: invalid JSON ({reason})") from exc
    if not isinstance(row, dict):
        raise InputError(f"{where}: each line must be a JSON object")
    return make_article(row.get("id"), row.get("title"), row.get("text"), where,
                        row.get("date"), row.get("source"), row.get("url"))


def load_file(path: str | Path, name: str | None = None, id: str | None = None,
              errors: list[str] | None = None, origins: list[str] | None = None) -> list[Article]:
    """Articles of one file; `name` overrides the name used for type and id (uploads), `id` the id of a text or
    HTML file's article; with `errors`, bad JSONL rows are reported there and the others loaded (`origins`: the
    `FILE:LINE` of each JSONL article)."""
    path = Path(path)
    shown = Path(name) if name else path
    try:
        check_file(shown, path.stat().st_size)  # before reading: an unsupported or huge file is never read
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{shown}: cannot read ({exc.strerror})") from exc
    return load_bytes(shown, raw, id, errors, origins)


def check_file(shown: Path, size: int) -> str:
    """The file's suffix, or an `InputError` when it is not an article file or is too large."""
    suffix = shown.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"{shown}: unsupported file type {suffix or '(none)'}; use {', '.join(sorted(SUFFIXES))}")
    if size > MAX_FILE_BYTES:
        raise InputError(f"{shown}: larger than {MAX_FILE_BYTES // 2**20} MB")
    return suffix


def load_bytes(shown: Path, raw: bytes, id: str | None = None, errors: list[str] | None = None,
               origins: list[str] | None = None) -> list[Article]:
    """Articles of one file's bytes, typed and named by `shown`."""
    suffix, data = _decoded(shown, raw)
    if suffix in JSONL_SUFFIXES:
        return load_jsonl(shown, data, errors, origins)
    return load_html(shown, data, id) if suffix in HTML_SUFFIXES else load_text(shown, data, id)


def iter_bytes(shown: Path, raw: bytes, id: str | None = None) -> Iterator[Article | InputError]:
    """`load_bytes` one article at a time, a bad JSONL row as its error (what a distributed reader calls per file:
    it passes a big file's first articles on while it cleans the rest). A file that cannot be read at all raises."""
    suffix, data = _decoded(shown, raw)
    if suffix in JSONL_SUFFIXES:
        yield from (item for _, item in jsonl_rows(shown, data))
    else:
        yield from load_html(shown, data, id) if suffix in HTML_SUFFIXES else load_text(shown, data, id)


def _decoded(shown: Path, raw: bytes) -> tuple[str, str]:
    suffix = check_file(shown, len(raw))
    data = decode(raw, str(shown))
    if not data.strip():
        raise InputError(f"{shown}: the file is empty")
    return suffix, data


def load_paths(paths: Iterable[str | os.PathLike], max_chars: int | None = None) -> tuple[list[Article], list[str]]:
    """All articles that load, and one error message per file (or JSONL row) that does not."""
    loaded = load_report(paths, max_chars)
    return loaded.articles, loaded.errors
