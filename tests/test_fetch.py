"""The fetch rules against a real loopback HTTP server: every refusal is an error naming the URL."""
from __future__ import annotations

import time

import pytest

from assistant.ingest.fetch import USER_AGENT, Fetcher, FetchError


def test_page_is_fetched_with_the_user_agent(server, fetcher):
    r = fetcher.get(server.url("/news/ferry.html"))
    assert r.status == 200 and b"Ferry crews walked off the job" in r.content
    assert "Ferry crews" in r.text()
    assert server.requests[-1][1]["User-Agent"] == USER_AGENT == "news-assistant/0.1 (+local indexing)"


def test_http_redirect_is_followed(server, fetcher):
    r = fetcher.get(server.url("/moved"))
    assert r.url == server.url("/news/ferry.html")


@pytest.mark.parametrize("path, message", [
    ("/missing", "HTTP 404"),
    ("/hang", "no answer within 0.5 s"),
    ("/big", "larger than 10 MB"),
    ("/big-declared", "larger than 10 MB"),
    ("/loop", "more than 5 redirects"),
    ("/to-file", "not an http(s) URL"),
    ("/to-ftp", "not an http(s) URL"),
    ("/report.pdf", "'application/pdf' is not an HTML page"),
    ("/data.json", "is not an HTML page"),
])
def test_refusals(server, fetcher, path, message):
    started = time.monotonic()
    with pytest.raises(FetchError) as err:
        fetcher.get(server.url(path))
    assert message in str(err.value) and server.url(path) in str(err.value)
    assert time.monotonic() - started < 10


def test_redirect_loop_stops_after_five_hops(server, fetcher):
    before = len(server.requests)
    with pytest.raises(FetchError):
        fetcher.get(server.url("/loop"))
    assert len(server.requests) - before == 6  # the first request and 5 redirects


def test_other_schemes_are_refused_without_a_request(fetcher):
    for url in ("file:///etc/passwd", "ftp://example.org/x", "javascript:alert(1)"):
        with pytest.raises(FetchError, match="only http"):
            fetcher.get(url)


def test_politeness_delay_per_host(server):
    slept: list[float] = []
    with Fetcher(timeout=2, delay=0.5, sleep=slept.append) as f:
        f.get(server.url("/news/ferry.html"))
        f.get(server.url("/news/ferry.html"))
    assert len(slept) == 1 and 0 < slept[0] <= 0.5


def test_feed_kind_accepts_xml(server, fetcher):
    r = fetcher.get(server.url("/feed.rss"), kind="feed")
    assert r.content.startswith(b"<?xml")
    with pytest.raises(FetchError, match="not a feed"):
        fetcher.get(server.url("/report.pdf"), kind="feed")


def test_conditional_get(server, fetcher):
    first = fetcher.get(server.url("/feed.atom"), kind="feed")
    again = fetcher.get(server.url("/feed.atom"), kind="feed", etag=first.headers["etag"])
    assert again.not_modified and server.requests[-1][1]["If-None-Match"] == first.headers["etag"]
