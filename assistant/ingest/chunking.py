"""Token-sized, sentence-aware chunks whose offsets point back into the article text."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from ..types import Article, Chunk

if TYPE_CHECKING:  # imported when first used: langchain costs ~0.6 s at start-up, and searching never splits
    from langchain_text_splitters import RecursiveCharacterTextSplitter

_NON_SPACE = re.compile(r"\S")
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""]


@dataclass(frozen=True)
class ChunkSettings:
    """Sizes are in the embedding model's tokens; the title prefix is embedded, not stored in the chunk."""

    size: int = 200
    overlap: int = 40
    title_prefix: bool = True

    def to_dict(self) -> dict:
        return asdict(self)


@lru_cache(maxsize=8)
def splitter(settings: ChunkSettings) -> RecursiveCharacterTextSplitter:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    # Sized like `from_huggingface_tokenizer(tokenizer())` (len of `tokenize`), but through the Rust tokenizer
    # with a memo: the same counts, without transformers' per-call overhead (the top cost of indexing).
    return RecursiveCharacterTextSplitter(
        length_function=_token_count, chunk_size=settings.size, chunk_overlap=settings.overlap,
        separators=SEPARATORS, keep_separator="end", strip_whitespace=True,
    )


def locate(text: str, pieces: Iterable[str], overlap: int | None = None,
           length: Callable[[str], int] | None = None) -> list[tuple[int, int]]:
    """Offsets of consecutive, possibly overlapping pieces, searched in order so repeated passages map right.

    Each piece starts after the previous one's start, no later than the first non-space character after its
    end (the splitter drops only whitespace) and ends past it. When repeated text leaves several such places,
    the earliest whose overlap with the previous piece is at most `overlap` tokens is taken, as the splitter
    keeps the longest tail that fits in `overlap`.
    """
    spans: list[tuple[int, int]] = []
    for piece in pieces:
        if not spans:
            start = text.find(piece)
        else:
            start = _place(text, piece, *spans[-1], overlap, length)
        if start < 0:
            raise ValueError(f"chunk not found in article text: {piece[:60]!r}")
        spans.append((start, start + len(piece)))
    return spans


def _place(text: str, piece: str, prev_start: int, prev_end: int, overlap: int | None,
           length: Callable[[str], int] | None) -> int:
    after = _NON_SPACE.search(text, prev_end)
    limit = after.start() if after else len(text)
    found = []
    at = text.find(piece, prev_start + 1, limit + len(piece))
    while at >= 0:
        if at + len(piece) > prev_end:
            found.append(at)
        at = text.find(piece, at + 1, limit + len(piece))
    if not found:  # not where the splitter puts it: fall back to the next occurrence
        return text.find(piece, prev_start + 1)
    if len(found) == 1 or overlap is None or length is None:
        return found[0]
    return next((at for at in found if at >= prev_end or length(text[at:prev_end]) <= overlap), found[-1])


def chunk_article(article: Article, settings: ChunkSettings = ChunkSettings()) -> list[Chunk]:
    pieces = [p for p in splitter(settings).split_text(article.text) if p.strip()]
    spans = locate(article.text, pieces, settings.overlap, _token_count)
    return [Chunk(article.id, i, start, end, article.text[start:end]) for i, (start, end) in enumerate(spans)]


def chunk_articles(articles: Iterable[Article], settings: ChunkSettings = ChunkSettings()) -> list[Chunk]:
    """The batch form of `chunk_article`: the stage a distributed runner maps over article batches."""
    return [c for a in articles for c in chunk_article(a, settings)]


def _token_count(text: str) -> int:
    from ..encoders.base import token_count

    return token_count(text)


def fit_title(title: str, text: str) -> str:
    """The title, cut to the tokens left beside `text`, so the encoder never truncates the chunk itself."""
    from ..encoders.base import MAX_TOKENS, fast_tokenizer

    room = MAX_TOKENS - 2  # [CLS] and [SEP]
    if len(title) + len(text) <= room:  # a token covers at least one character
        return title
    room -= _token_count(text)
    if room <= 0:
        return ""
    offsets = fast_tokenizer().encode(title, add_special_tokens=False).offsets
    return title if len(offsets) <= room else title[:offsets[room - 1][1]].rstrip()


def embedding_text(chunk: Chunk, title: str, settings: ChunkSettings) -> str:
    """What the encoder sees: the chunk, optionally preceded by its headline (cut to fit) for context."""
    title = fit_title(title, chunk.text) if settings.title_prefix and title else ""
    return f"{title}\n{chunk.text}" if title else chunk.text
