"""Answers questions about news articles, citing the exact passages each answer rests on."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import offline  # noqa: F401  (first: before any library that could phone home is imported)
from .errors import (
           AssistantError,
           IndexLockedError,
           IndexMismatchError,
           InputError,
           ModelMissingError,
)
from .types import Answer, Article, Chunk, Citation, Passage

if TYPE_CHECKING:
    from .assistant import Assistant

__all__ = ["Assistant", "Article", "Chunk", "Passage", "Answer", "Citation", "AssistantError", "InputError",
           "IndexMismatchError", "IndexLockedError", "ModelMissingError"]


def __getattr__(name: str) -> object:
    """`Assistant` is imported on first use: an ingestion worker that only cleans, chunks and embeds does not load
    the index, search and answer stack (faiss, bm25s, the reader)."""
    if name == "Assistant":
        from .assistant import Assistant

        globals()["Assistant"] = Assistant
        return Assistant
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
