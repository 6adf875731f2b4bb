"""Token-sized, sentence-aware chunks whose offsets point back into the article text."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Iterable

from langchain_text_splitters import RecursiveCharacterTextSplitter

from .types import Article, Chunk

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
    from .embeddings import tokenizer

    return RecursiveCharacterTextSplitter.from_huggingface_tokenizer(
        tokenizer(), chunk_size=settings.size, chunk_overlap=settings.overlap,
        separators=SEPARATORS, keep_separator="end", strip_whitespace=True,
    )


def locate(text: str, pieces: Iterable[str]) -> list[tuple[int, int]]:
    """Offsets of consecutive, possibly overlapping pieces, searched in order so repeated passages map right."""
    spans: list[tuple[int, int]] = []
    cursor = 0
    for piece in pieces:
        start = text.find(piece, cursor)
        if start < 0:
            raise ValueError(f"chunk not found in article text: {piece[:60]!r}")
        spans.append((start, start + len(piece)))
        cursor = start + 1
    return spans


def chunk_article(article: Article, settings: ChunkSettings = ChunkSettings()) -> list[Chunk]:
    pieces = [p for p in splitter(settings).split_text(article.text) if p.strip()]
    return [
        Chunk(article.id, i, start, end, article.text[start:end])
        for i, (start, end) in enumerate(locate(article.text, pieces))
    ]


def chunk_articles(articles: Iterable[Article], settings: ChunkSettings = ChunkSettings()) -> list[Chunk]:
    """The batch form of `chunk_article`: the stage a distributed runner maps over article batches."""
    return [c for a in articles for c in chunk_article(a, settings)]


def embedding_text(chunk: Chunk, title: str, settings: ChunkSettings) -> str:
    """What the encoder sees: the chunk, optionally preceded by its headline for context."""
    return f"{title}\n{chunk.text}" if settings.title_prefix and title else chunk.text
