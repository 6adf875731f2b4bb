"""Finding passages: dense + BM25 candidates, fused, rescored by their best sentence, filtered, diversified."""
from .hybrid import MODES, Weights, search
from .query import MAX_QUERY_CHARS, check_query

__all__ = ["MODES", "MAX_QUERY_CHARS", "Weights", "check_query", "search"]
