"""How much of a question a sentence holds: the share of the question's idf-weighted terms found in it."""
from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache

from .sentences import sentence_spans
from .tokens import tokenize


def coverage(terms: frozenset[str] | set[str], weights: Mapping[str, float]) -> float:
    """Share of the question's term weight (`weights`: term -> idf × weight) that `terms` contain."""
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    return sum(w for t, w in weights.items() if t in terms) / total


@lru_cache(maxsize=20_000)
def sentence_terms(text: str, spans: str | None = None) -> tuple[frozenset[str], ...]:
    """The terms of each sentence of a chunk; `spans` as stored at index time (JSON), else split here."""
    cuts = json.loads(spans) if spans else sentence_spans(text)
    return tuple(frozenset(t) for t in tokenize([text[s:e] for s, e in cuts]))


def best_sentence_coverage(text: str, weights: Mapping[str, float], spans: str | None = None) -> float:
    """`coverage` of the passage's best sentence."""
    return max((coverage(terms, weights) for terms in sentence_terms(text, spans)), default=0.0)
