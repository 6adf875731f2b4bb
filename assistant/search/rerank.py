"""Passage reranking by the reader: the first few passages reordered by retrieval and reading together.

Retrieval ranks a passage by how much of the question it mentions and how close it is in meaning; the reader says
whether one of its sentences answers. The order is a logistic regression over both, fitted by
`benchmarks/rerank_study.py` on SQuAD `train` questions (README, "Reranking").
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..reader import Reader, ReaderInput
from ..text.sentences import sentence_spans
from ..text.terms import coverage, sentence_terms
from ..types import Passage


@dataclass(frozen=True)
class Rerank:
    """How many passages are read, how many sentences of each, and the fitted weights of
    (retrieval score, its gap to the first passage's, best reader logit, 1 / (1 + rank)) and a bias."""

    depth: int = 2
    per_passage: int = 1
    weights: tuple[float, float, float, float, float] = (1.085, 7.5, 0.537, 3.273, -3.277)


def reads(question: str, passages: Sequence[Passage], term_weights: Mapping[str, float],
          per_passage: int) -> tuple[list[ReaderInput], list[int]]:
    """What the reader reads of each passage: the `per_passage` sentences holding most of the question's
    idf-weighted terms (best first), each with the passage's title and the sentence before it, and its passage."""
    items: list[ReaderInput] = []
    owner: list[int] = []
    for i, p in enumerate(passages):
        spans = sentence_spans(p.text)
        terms = sentence_terms(p.text)
        for j in sorted(range(len(spans)), key=lambda j: (-coverage(terms[j], term_weights), j))[:per_passage]:
            before = p.text[spans[j - 1][0]:spans[j - 1][1]] if j else ""
            items.append(ReaderInput(question, p.text[spans[j][0]:spans[j][1]], p.title, before))
            owner.append(i)
    return items, owner


def best_logits(logits: Sequence[float] | np.ndarray, owner: Sequence[int], n: int) -> np.ndarray:
    """Each passage's best reader logit (-inf for a passage with no sentence)."""
    best = np.full(n, -np.inf)
    for i, logit in zip(owner, logits):
        best[i] = max(best[i], float(logit))
    return best


def features(scores: Sequence[float], best: np.ndarray) -> np.ndarray:
    """One row per passage: retrieval score, its gap to the first's, best reader logit (-20 when nothing was read:
    a hopeless passage), 1 / (1 + rank). What `fused` weighs and `benchmarks/rerank_study.py` fits on."""
    s = np.asarray(scores, dtype=np.float64)
    reading = np.where(np.isfinite(best), best, -20.0)
    return np.stack([s, s - s[0], reading, 1 / (1 + np.arange(len(s)))], 1)


def fused(scores: Sequence[float], best: np.ndarray, weights: Sequence[float]) -> np.ndarray:
    """The fitted combination each passage is ordered by."""
    return features(scores, best) @ np.asarray(weights[:4], dtype=np.float64) + weights[4]


def rerank(question: str, passages: Sequence[Passage], reader: Reader, term_weights: Mapping[str, float],
           tuning: Rerank = Rerank()) -> list[Passage]:
    """The first `tuning.depth` passages reordered by `fused`, then the rest in retrieval order.

    Each passage keeps its retrieval `score`: the head's order is the fused one, the scale is retrieval's.
    """
    head, tail = list(passages[:tuning.depth]), list(passages[tuning.depth:])
    if len(head) < 2:
        return head + tail
    items, owner = reads(question, head, term_weights, tuning.per_passage)
    logits, _ = reader.scores(items) if items else (np.zeros(0), [])
    z = fused([p.score for p in head], best_logits(logits, owner, len(head)), tuning.weights)
    return [head[i] for i in sorted(range(len(head)), key=lambda i: (-z[i], i))] + tail
