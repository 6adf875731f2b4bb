"""Passage reranking by the reader: the top passages reordered by how likely their best sentences answer."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from ..reader import Reader, ReaderInput
from ..text.sentences import sentence_spans
from ..text.terms import coverage, sentence_terms
from ..types import Passage

DEPTH = 20  # passages read
PER_PASSAGE = 2  # sentences read per passage: the two that hold most of the question's terms


def rerank(question: str, passages: Sequence[Passage], reader: Reader, weights: Mapping[str, float],
           depth: int = DEPTH) -> list[Passage]:
    """The first `depth` passages reordered by their best sentence's reader probability (its score), then the rest.

    Only the `PER_PASSAGE` sentences of each passage that cover most of the question's idf-weighted terms are read,
    so a rerank costs ~`depth × PER_PASSAGE` reader rows instead of every sentence.
    """
    head, tail = list(passages[:depth]), list(passages[depth:])
    items: list[ReaderInput] = []
    owner: list[int] = []
    for i, p in enumerate(head):
        spans = sentence_spans(p.text)
        terms = sentence_terms(p.text)
        best = sorted(range(len(spans)), key=lambda j: (-coverage(terms[j], weights), j))[:PER_PASSAGE]
        for j in sorted(best):
            before = p.text[spans[j - 1][0]:spans[j - 1][1]] if j else ""
            items.append(ReaderInput(question, p.text[spans[j][0]:spans[j][1]], p.title, before))
            owner.append(i)
    probs = [0.0] * len(head)
    for i, reading in zip(owner, reader.read(items)):
        probs[i] = max(probs[i], reading.prob)
    order = sorted(range(len(head)), key=lambda i: (-probs[i], i))
    return [replace(head[i], score=round(probs[i], 4)) for i in order] + tail
