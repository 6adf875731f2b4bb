"""Fetching web pages and feeds for the user's own `index`/`watch` commands (never at start-up or query time).

Rules: a clear User-Agent, a timeout, a size cap (the body is streamed and cut off), a politeness delay per
host, redirects followed by hand (http/https only, at most `max_redirects`), and for pages only HTML content
types. Every failure is a `FetchError` (an `InputError`) naming the URL: one item fails, nothing crashes.
"""
from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

from ..errors import InputError

USER_AGENT = "news-assistant/0.1 (+local indexing)"
MAX_BYTES = 10 * 2**20
TIMEOUT = 15.0
DELAY = 1.0  # seconds between two requests to the same host
MAX_REDIRECTS = 5
HTML_TYPES = ("text/html", "application/xhtml+xml")
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml",
              "text/xml", "application/feed+json", "text/plain", "text/html", "application/octet-stream")


class FetchError(InputError):
    """A URL that could not be fetched (or was refused); the message names it."""


def is_url(value: object) -> bool:
    return isinstance(value, str) and value.lower().startswith(("http://", "https://"))


@dataclass
class Response:
    url: str  # after redirects
    status: int
    content: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    def text(self) -> str:
        """The body decoded with the declared charset, else UTF-8 (with replacement)."""
        charset = None
        for part in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset":
                charset = value.strip("\"' ")
        if charset is None:
            try:
                return self.content.decode("utf-8")
            except UnicodeDecodeError:  # no declared charset and not UTF-8: the page's <meta charset>, else cp1252
                m = re.search(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_\-]+)""", self.content[:4096], re.I)
                charset = m.group(1).decode("ascii") if m else "cp1252"
        try:
            return self.content.decode(charset, errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")


class Fetcher:
    """One HTTP client with the rules above; safe to share between threads (the delay is per host)."""

    def __init__(self, timeout: float = TIMEOUT, max_bytes: int = MAX_BYTES, delay: float = DELAY,
                 max_redirects: int = MAX_REDIRECTS, user_agent: str = USER_AGENT,
                 sleep: Callable[[float], None] = time.sleep):
        self.timeout, self.max_bytes, self.delay, self.max_redirects = timeout, max_bytes, delay, max_redirects
        self.user_agent = user_agent
        self._sleep = sleep
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=False,
                                    headers={"User-Agent": user_agent})

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _polite(self, host: str) -> None:
        with self._lock:
            wait = self._last.get(host, -1e9) + self.delay - time.monotonic()
            if wait > 0:
                self._sleep(wait)
            self._last[host] = time.monotonic()

    def get(self, url: str, kind: str = "page", etag: str | None = None,
            last_modified: str | None = None) -> Response:
        """GET `url` (`kind` "page": HTML only; "feed": any XML/text). A 304 is returned, not raised."""
        if not is_url(url):
            raise FetchError(f"{url}: only http:// and https:// URLs can be fetched")
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        for _ in range(self.max_redirects + 1):
            parts = urlsplit(current)
            if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
                raise FetchError(f"{url}: redirected to {current[:200]!r}, which is not an http(s) URL; refused")
            self._polite(parts.hostname)
            try:
                with self._client.stream("GET", current, headers=headers) as r:
                    if r.status_code == 304:
                        return Response(str(r.url), 304, b"", "", dict(r.headers))
                    if r.status_code in (301, 302, 303, 307, 308):
                        location = r.headers.get("location")
                        if not location:
                            raise FetchError(f"{url}: redirect without a Location header")
                        current = urljoin(current, location)
                        continue
                    if r.status_code >= 400:
                        raise FetchError(f"{url}: HTTP {r.status_code} {r.reason_phrase}")
                    ctype = r.headers.get("content-type", "").split(";")[0].strip().lower()
                    allowed = HTML_TYPES if kind == "page" else FEED_TYPES + HTML_TYPES
                    if ctype and ctype not in allowed and not (kind == "feed" and ctype.endswith("+xml")):
                        raise FetchError(f"{url}: content type {ctype!r} is not "
                                         f"{'an HTML page' if kind == 'page' else 'a feed'}; refused")
                    declared = r.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > self.max_bytes:
                        raise FetchError(f"{url}: larger than {self.max_bytes // 2**20} MB; refused")
                    body = bytearray()
                    deadline = time.monotonic() + 4 * self.timeout  # a server that drips bytes forever
                    for part in r.iter_bytes():
                        body += part
                        if time.monotonic() > deadline:
                            raise FetchError(f"{url}: still downloading after {4 * self.timeout:g} s; refused")
                        if len(body) > self.max_bytes:
                            raise FetchError(f"{url}: larger than {self.max_bytes // 2**20} MB; cut off and refused")
                    return Response(str(r.url), r.status_code, bytes(body), ctype, dict(r.headers))
            except httpx.TimeoutException as exc:
                raise FetchError(f"{url}: no answer within {self.timeout:g} s") from exc
            except httpx.HTTPError as exc:
                raise FetchError(f"{url}: {type(exc).__name__}: {exc}") from exc
        raise FetchError(f"{url}: more than {self.max_redirects} redirects; refused")
