"""Web pages to `Article`s: main text by trafilatura (no navigation, banners, comments or related links), title,
author, site name and canonical URL from its metadata, the publication date by htmldate (else a dateline).

Nothing here touches the network: pages arrive as strings (from a file or from `fetch.Fetcher`).
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import InputError
from ..types import Article
from .dates import text_date, year_hint

log = logging.getLogger(__name__)


@dataclass
class Page:
    title: str
    text: str
    date: str | None = None
    author: str | None = None
    site: str | None = None
    url: str | None = None


def extract_page(html: str, url: str | None = None) -> Page:
    """The page's main text and metadata; the old BeautifulSoup extractor only when trafilatura finds nothing."""
    import trafilatura

    doc = None
    try:
        doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False,
                                          include_tables=True, include_images=False, include_links=False,
                                          deduplicate=False)
    except Exception as exc:  # a parser failure on odd markup: fall back below
        log.debug("trafilatura failed on %s: %s", url, exc)
    meta = doc.as_dict() if doc is not None and hasattr(doc, "as_dict") else (doc or {})
    text = str(meta.get("text") or "")
    title = str(meta.get("title") or "")
    if not text.strip():
        from .html import extract

        old_title, text, _ = extract(html)
        title = title or old_title
    else:
        text = _paragraphs(text, title)
    canonical = meta.get("url") if _is_http(meta.get("url")) else None
    return Page(title=title.strip(), text=text, date=page_date(html, url, meta.get("date")),
                author=meta.get("author") or None, site=meta.get("sitename") or meta.get("hostname") or None,
                url=canonical or (url if _is_http(url) else None))


def _paragraphs(text: str, title: str) -> str:
    """One blank line between trafilatura's paragraphs; a first line repeating the headline is dropped."""
    lines = [line for line in text.split("\n") if line.strip()]
    if lines and title and lines[0].strip().casefold() == title.strip().casefold():
        lines = lines[1:]
    return "\n\n".join(lines)


def page_date(html: str, url: str | None = None, found: object = None) -> str | None:
    """Publication date from page metadata (htmldate; original, not last-modified), as ISO `YYYY-MM-DD`."""
    if "<" not in html:  # htmldate *downloads* a string that looks like a URL: give it markup only
        return None
    try:
        from htmldate import find_date

        date = find_date(html, extensive_search=False, original_date=True, outputformat="%Y-%m-%d")
    except Exception as exc:
        log.debug("htmldate failed on %s: %s", url, exc)
        date = None
    # trafilatura's own date (`found`) comes from htmldate's extensive search, which takes a footer's
    # "Copyright 2019" for 2019-01-01: a guess, so it is not used.
    return date or None


def _is_http(url: object) -> bool:
    return isinstance(url, str) and urlsplit(url).scheme.lower() in ("http", "https") and bool(urlsplit(url).netloc)


def page_fields(html: str, where: str, url: str | None = None, id: str | None = None,
                fallback: Article | None = None) -> dict:
    """`make_article` arguments for a page (`pages.page_article` makes the `Article`; the cleaned main text
    becomes `Article.text`): the date from the page, else a dateline (with the year from the URL or
    `fallback`'s date), else `fallback`'s. `fallback` (a feed entry) also provides title, source and date."""
    page = extract_page(html, url)
    if not page.text.strip():
        raise InputError(f"{where}: the page has no text (no article found in it)")
    fb = fallback or Article("", "", "")
    date = page.date or text_date(page.text, year_hint(fb.date, page.url, url)) or fb.date
    art_url = page.url or url or fb.url
    art_id = id or (url_id(art_url) if art_url else None)
    return {"id": art_id, "title": page.title or fb.title, "text": page.text, "where": where, "date": date,
            "source": fb.source or page.site, "url": art_url}


def url_id(url: str) -> str:
    """A stable article id for a URL: host plus a short hash of the URL without its fragment."""
    parts = urlsplit(url)
    host = (parts.hostname or "web").removeprefix("www.")
    return f"{host}-{hashlib.sha1(url.split('#', 1)[0].encode()).hexdigest()[:12]}"
