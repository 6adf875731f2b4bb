"""RSS 0.9x/1.0/2.0 and Atom feeds (feedparser): every linked article, fetched, with the feed's date, source
(the feed's title) and summary used when the page lacks them or cannot be fetched.

feedparser is only ever given bytes, never a URL, so all fetching goes through `fetch.Fetcher` and its rules.
"""
from __future__ import annotations

import html
import json
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..atomic import write_atomic
from ..errors import InputError
from ..types import Article
from .fetch import Fetcher, FetchError, is_url
from .pages import page_article
from .web import url_id

log = logging.getLogger(__name__)
STATE_FILE = "feeds.json"


@dataclass
class Entry:
    key: str  # the item's id (guid), else its link: what `watch` remembers
    link: str | None
    title: str
    date: str | None
    summary: str


@dataclass
class Feed:
    title: str
    entries: list[Entry]
    url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False


def parse_feed(data: bytes, where: str) -> Feed:
    import feedparser

    parsed = feedparser.parse(data)
    if not parsed.get("version") and not parsed.entries:
        problem = parsed.get("bozo_exception")
        raise InputError(f"{where}: not an RSS or Atom feed{f' ({problem})' if problem else ''}")
    title = str(parsed.feed.get("title") or "").strip()
    entries = []
    for e in parsed.entries:
        link = e.get("link") or None
        key = str(e.get("id") or link or "")
        if not key:
            continue
        stamp = e.get("published_parsed") or e.get("updated_parsed") or e.get("created_parsed")
        date = time.strftime("%Y-%m-%d", stamp) if stamp else None
        summary = _plain(e.get("summary") or "")
        if not summary and e.get("content"):
            summary = _plain(e.content[0].get("value") or "")
        entries.append(Entry(key, str(link) if link else None, str(e.get("title") or "").strip(), date, summary))
    return Feed(title, entries)


def _plain(fragment: str) -> str:
    """A feed summary's HTML as text (paragraph breaks kept)."""
    text = re.sub(r"(?i)<\s*(br|/p|/div|/li)\b[^>]*>", "\n\n", fragment)
    text = re.sub(r"(?s)<(script|style)\b.*?</\1\s*>", " ", text)
    return html.unescape(re.sub(r"<[^>]+>", " ", text)).strip()


def read_feed(source: str, fetcher: Fetcher, etag: str | None = None, last_modified: str | None = None) -> Feed:
    """A feed from a URL (conditional GET with `etag`/`last_modified`) or a local file."""
    if is_url(source):
        r = fetcher.get(source, kind="feed", etag=etag, last_modified=last_modified)
        if r.not_modified:
            return Feed("", [], r.url, etag, last_modified, not_modified=True)
        feed = parse_feed(r.content, source)
        feed.url, feed.etag, feed.last_modified = r.url, r.headers.get("etag"), r.headers.get("last-modified")
        return feed
    try:
        data = Path(source).read_bytes()
    except OSError as exc:
        raise InputError(f"{source}: cannot read the feed ({exc.strerror})") from exc
    return parse_feed(data, source)


def entry_article(entry: Entry, feed: Feed, fetcher: Fetcher, where: str) -> tuple[Article, str | None]:
    """The entry's article (the linked page; its summary when the page fails) and the page's error, if any."""
    from .loaders import make_article

    source = feed.title or None
    fallback = Article("", entry.title, entry.summary, entry.date, source, entry.link)
    error = None
    if entry.link and is_url(entry.link):
        try:
            r = fetcher.get(entry.link, kind="page")
            return page_article(r.text(), f"{entry.link}", url=entry.link, id=url_id(entry.link),
                                fallback=fallback), None
        except InputError as exc:
            error = str(exc)
    elif entry.link:
        error = f"{where}: item {entry.title[:60]!r} links to {entry.link[:80]!r}, not an http(s) URL"
    if not entry.summary.strip():
        raise InputError(error or f"{where}: item {entry.title[:60]!r} has no link and no summary")
    art_id = url_id(entry.link) if entry.link and is_url(entry.link) else url_id("feed:" + entry.key)
    return make_article(art_id, entry.title, entry.summary, where, date=entry.date, source=source,
                        url=entry.link if entry.link and is_url(entry.link) else None), error


def load_feed(source: str, fetcher: Fetcher, skip: set[str] | frozenset[str] = frozenset(),
              feed: Feed | None = None) -> tuple[list[Article], list[str], list[str]]:
    """(articles, errors, keys of the entries that gave an article) for every entry not in `skip`.

    A page that fails but whose entry has a summary gives the summary's article and a note among the errors."""
    feed = feed or read_feed(source, fetcher)
    articles, errors, done = [], [], []
    for entry in feed.entries:
        if entry.key in skip:
            continue
        try:
            article, problem = entry_article(entry, feed, fetcher, source)
        except InputError as exc:
            errors.append(str(exc))
            continue
        if problem:
            errors.append(f"{problem} (indexed the feed's summary instead)")
        articles.append(article)
        done.append(entry.key)
    return articles, errors, done


# ---- watch -----------------------------------------------------------------------------------------------
@dataclass
class FeedState:
    etag: str | None = None
    last_modified: str | None = None
    seen: list[str] = field(default_factory=list)


def load_state(folder: Path) -> dict[str, FeedState]:
    path = Path(folder) / STATE_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable %s: %s", path, exc)
        return {}
    return {k: FeedState(v.get("etag"), v.get("last_modified"), list(v.get("seen") or []))
            for k, v in raw.items() if isinstance(v, dict)}


def save_state(folder: Path, state: dict[str, FeedState]) -> None:
    data = {k: {"etag": s.etag, "last_modified": s.last_modified, "seen": s.seen[-5000:]} for k, s in state.items()}
    payload = json.dumps(data, indent=1, ensure_ascii=False).encode()
    write_atomic(Path(folder) / STATE_FILE, lambda fh: fh.write(payload))


def parse_every(value: str) -> float:
    """"15m", "90s", "2h", "1d" or plain seconds, as seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", value or "")
    if not m:
        raise InputError(f"--every {value!r}: use a number with s, m, h or d, e.g. 15m")
    seconds = float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
    if seconds <= 0:
        raise InputError("--every must be positive")
    return seconds


@dataclass
class PollResult:
    feed: str
    new: int = 0
    not_modified: bool = False
    errors: list[str] = field(default_factory=list)


def poll(add, folder: Path, feeds: list[str], fetcher: Fetcher) -> list[PollResult]:
    """One round over `feeds`: new items only, added through `add(articles)`; the state file is updated after
    each feed's articles are in the index (so a crash re-reads, never loses, an item)."""
    state = load_state(folder)
    results = []
    for source in feeds:
        st = state.setdefault(source, FeedState())
        res = PollResult(source)
        try:
            feed = read_feed(source, fetcher, st.etag, st.last_modified)
            if feed.not_modified:
                res.not_modified = True
            else:
                seen = set(st.seen)
                articles, errors, done = load_feed(source, fetcher, skip=seen, feed=feed)
                res.errors += errors
                if articles:
                    add(articles)
                res.new = len(articles)
                st.seen += done
                st.etag, st.last_modified = feed.etag, feed.last_modified
                save_state(folder, state)
        except (InputError, FetchError) as exc:
            res.errors.append(str(exc))
        results.append(res)
    return results
