"""A web page (HTML string) as a validated, cleaned `Article` (see `web.py` for the extraction)."""
from __future__ import annotations

from ..types import Article
from .loaders import make_article
from .web import page_fields


def page_article(html: str, where: str, url: str | None = None, id: str | None = None,
                 fallback: Article | None = None) -> Article:
    return make_article(**page_fields(html, where, url=url, id=id, fallback=fallback))
