"""Scrape-noise removal. The cleaned text becomes the article's canonical text: every offset refers to it."""
from __future__ import annotations

import re
import unicodedata

_ID_TOKEN = re.compile(
    r"^(?:\d{8,}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{24,})$", re.I
)
# Whole lines that players, share bars and ad slots leave behind in scraped articles.
_NOISE_LINES = {
    "video", "watch", "watch video", "play video", "advertisement", "ad", "sponsored",
    "read more", "share", "share this", "share this article", "click here", "photo", "image",
    "related", "related articles", "subscribe", "loading", "loading...", "skip advertisement",
}
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_BLANK_RUN = re.compile(r"\n{3,}")
# A str holds a surrogate code point only when it was made from broken bytes (a JSON "\\ud83d" escape, a
# surrogate-escaped argv): no encoder, tokenizer or database accepts one.
_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def repair_unicode(text: str) -> tuple[str, int]:
    """`text` with each lone surrogate replaced by U+FFFD, and how many there were."""
    return _SURROGATE.subn(REPLACEMENT, text)


def has_broken_unicode(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def is_noise_line(line: str) -> bool:
    """A line of embed ids (``6116515044001 0aac6257-...``) or a bare widget label (``video``)."""
    stripped = line.strip()
    if not stripped:
        return False
    if stripped.lower().rstrip(":") in _NOISE_LINES:
        return True
    tokens = stripped.split()
    return all(_ID_TOKEN.match(t) for t in tokens)


def clean_text(text: str) -> str:
    """Normalise Unicode and whitespace and drop noise lines, keeping every sentence as written."""
    text = unicodedata.normalize("NFC", repair_unicode(text)[0]).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text.translate(_ZERO_WIDTH))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    kept = [line for line in lines if not is_noise_line(line)]
    return _BLANK_RUN.sub("\n\n", "\n".join(kept)).strip()


def looks_like_title(line: str) -> bool:
    """Headlines are short and do not end like a sentence."""
    words = line.split()
    return 0 < len(words) <= 16 and len(line) <= 150 and not line.rstrip().endswith((".", ",", ";", ":"))


def derive_title(text: str, limit: int = 80) -> str:
    """A readable stand-in title: the opening words of the article."""
    first = text.strip().split("\n", 1)[0]
    if len(first) <= limit:
        return first
    cut = first[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"
