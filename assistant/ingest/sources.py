"""What a user can name to index: files, folders, http(s) URLs of pages, and (with `feed=True`) feeds.

Every item that fails gives one error message; the others still load (the caller decides whether to add).
"""
from __future__ import annotations

import os
from collections.abc import Iterable

from ..errors import InputError
from ..types import Article
from .fetch import Fetcher, is_url
from .loaders import Loaded


def load_url(url: str, fetcher: Fetcher) -> Article:
    """One web page, fetched under the fetch rules, as an `Article`."""
    from .pages import page_article
    from .web import url_id

    r = fetcher.get(url, kind="page")
    return page_article(r.text(), url, url=url, id=url_id(url))


def load_sources(items: Iterable[str | os.PathLike], feed: bool = False,
                 fetcher: Fetcher | None = None) -> tuple[list[Article], list[str]]:
    """Articles from files/folders, page URLs and (with `feed`) feed URLs or files; one error per failed item."""
    from .loaders import load_paths

    items = list(items)
    articles: list[Article] = []
    errors: list[str] = []
    own = fetcher is None and (feed or any(is_url(str(i)) for i in items))
    fetch = fetcher or (Fetcher() if own else None)
    try:
        for item in items:
            name = str(item)
            try:
                if feed:
                    from .feeds import load_feed

                    assert fetch is not None
                    found, problems, _ = load_feed(name, fetch)
                    articles += found
                    errors += problems
                elif is_url(name):
                    assert fetch is not None
                    articles.append(load_url(name, fetch))
                else:
                    found, problems = load_paths([item])
                    articles += found
                    errors += problems
            except InputError as exc:
                errors.append(str(exc))
    finally:
        if own and fetch is not None:
            fetch.close()
    return articles, errors


def load_run(items: Iterable[str | os.PathLike], feed: bool = False, fetcher: Fetcher | None = None,
             max_chars: int | None = None) -> Loaded:
    """One indexing run's articles: local files and folders with the run report (ids, skips, duplicates, size
    limit), then page URLs and (with `feed`) feeds through the fetcher; their errors join the report's."""
    from .loaders import load_report

    items = list(items)
    remote = [i for i in items if feed or is_url(str(i))]
    loaded = load_report([i for i in items if i not in remote], max_chars)
    if remote:
        found, errors = load_sources(remote, feed=feed, fetcher=fetcher)
        loaded.articles += found
        loaded.errors += errors
    return loaded
