"""Answers questions about news articles, citing the exact passages each answer rests on."""
from . import offline  # noqa: F401  (first: before any library that could phone home is imported)
from .assistant import Assistant
from .errors import (
           AssistantError,
           IndexLockedError,
           IndexMismatchError,
           InputError,
           ModelMissingError,
)
from .types import Answer, Article, Chunk, Citation, Passage

__all__ = ["Assistant", "Article", "Chunk", "Passage", "Answer", "Citation", "AssistantError", "InputError",
           "IndexMismatchError", "IndexLockedError", "ModelMissingError"]
