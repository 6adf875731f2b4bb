"""The one stateful stage: FAISS vectors, BM25 and SQLite rows in a folder, published as atomic generations."""
from .index import AddResult, Index, Snapshot, discard, exists
from .store import ChunkRow

__all__ = ["AddResult", "ChunkRow", "Index", "Snapshot", "discard", "exists"]
