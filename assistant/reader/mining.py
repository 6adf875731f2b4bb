"""Negatives the product itself proposes: the sentences its overlap scorer ranks best for a training question.

The reader runs on those sentences (`ask` reads the overlap scorer's best few), so they are the confusions it must
learn: same-topic sentences that share the question's names but not its answer, from the gold paragraph and from
the paragraphs retrieval puts next to it. They are mined by asking each training question of an index of the
training paragraphs only, with the product's retrieval and scorer, so no held-out text is seen.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..answer.base import refusal
from ..answer.extractive import ExtractiveGenerator, Tuning
from ..types import Article
from .data import Paragraph, Question


@dataclass(frozen=True)
class Mined:
    article_id: str
    start: int  # article offsets of the sentence
    end: int
    sentence: str
    title: str
    before: str


class _Capture:
    """A generator that answers nothing and keeps the overlap scorer's best `k` sentences."""

    def __init__(self, k: int) -> None:
        self.k, self.scorer = k, ExtractiveGenerator(Tuning(), reader=None)
        self.best: list[Mined] = []

    def generate(self, question, passages, context):  # noqa: ANN001, ANN201
        cands = self.scorer.ranked(question, passages, context)
        self.best = [Mined(c.passage.article_id, c.passage.start + c.start, c.passage.start + c.end, c.text,
                           c.passage.title, c.before) for c in cands[:self.k]]
        return refusal(question, passages)


def mine(paras: dict[str, Paragraph], para_ids: Sequence[str], questions: Sequence[Question], k: int,
         index_dir: str | Path) -> dict[str, list[Mined]]:
    """The overlap scorer's best `k` sentences per question, retrieved among `para_ids` (indexed in `index_dir`)."""
    from ..assistant import Assistant

    a = Assistant.open(index_dir)
    try:
        a.add([Article(p, paras[p].title, paras[p].text) for p in para_ids])  # only what is new or changed
        cap = _Capture(k)
        out = {}
        for q in questions:
            a.ask(q.question, generator=cap)
            out[q.id] = cap.best
        return out
    finally:
        a.close()
