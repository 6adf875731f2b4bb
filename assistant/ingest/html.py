"""Main text of an HTML page: no tags, scripts, navigation or boilerplate."""
from __future__ import annotations

import re

from bs4 import BeautifulSoup, NavigableString

_DROP = ["head", "title", "script", "style", "noscript", "template", "iframe", "svg", "nav", "header", "footer", "aside", "form", "button"]
_BLOCKS = ["p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "tr", "div", "section", "br"]


def extract(html: str) -> tuple[str, str, str | None]:
    """(title, text, date) where text keeps one paragraph per block element."""
    soup = BeautifulSoup(html, "html.parser")
    title = ""
    meta_title = soup.find("meta", attrs={"property": "og:title"})
    if meta_title and meta_title.get("content"):
        title = str(meta_title["content"])
    elif soup.title and soup.title.string:
        title = soup.title.string
    elif soup.h1:
        title = soup.h1.get_text(" ", strip=True)
    date = None
    for key, value in (("property", "article:published_time"), ("name", "date"), ("itemprop", "datePublished")):
        attrs: dict = {key: value}
        tag = soup.find("meta", attrs=attrs)
        if tag and tag.get("content"):
            date = str(tag["content"])
            break
    stamp = soup.find("time", attrs={"datetime": True})
    if date is None and stamp is not None:
        date = str(stamp["datetime"])
    for tag in soup(_DROP):
        tag.decompose()
    root = soup.find("article") or soup.find("main") or soup.body or soup
    for string in root.find_all(string=True):  # line breaks in the HTML source are spaces, except in <pre>
        if type(string) is NavigableString and string.find_parent("pre") is None:
            string.replace_with(re.sub(r"\s+", " ", string))
    for tag in root.find_all(_BLOCKS):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    text = root.get_text()
    return title.strip(), text, date
