"""Negatives the product itself proposes: the sentences its overlap scorer ranks best for a training question.

The reader runs on those sentences (`ask` reads the overlap scorer's best few), so they are the confusions it must
learn: same-topic sentences that share the question's names but not its answer, from the gold paragraph and from
the paragraphs retrieval puts next to it. They are mined by asking each training question of an index of the
training paragraphs only, with the product's retrieval and scorer, so no held-out text is seen. Given a reader (a
"teacher", e.g. the shipped file), its order of the best sentences is the one mined, as `ask` orders them: the
confusions left are those the reader itself makes. The list is cached beside the index under the teacher's checksum.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ..answer.base import refusal
from ..answer.extractive import ExtractiveGenerator, Tuning
from ..types import Article
from .data import Paragraph, Question
from .model import Reader


@dataclass(frozen=True)
class Mined:
    article_id: str
    start: int  # article offsets of the sentence
    end: int
    sentence: str
    title: str
    before: str


class _Capture:
    """A generator that answers nothing and keeps the best `k` sentences: the overlap scorer's, as `reader` orders them."""

    def __init__(self, k: int, reader: Reader | None) -> None:
        self.k, self.scorer, self.reader = k, ExtractiveGenerator(Tuning(), reader=None), reader
        self.best: list[Mined] = []

    def generate(self, question, passages, context):  # noqa: ANN001, ANN201
        cands = self.scorer.ranked(question, passages, context)
        if self.reader is not None and cands:
            self.scorer.rerank(question, cands, self.reader)
        self.best = [Mined(c.passage.article_id, c.passage.start + c.start, c.passage.start + c.end, c.text,
                           c.passage.title, c.before) for c in cands[:self.k]]
        return refusal(question, passages)


def mine(paras: dict[str, Paragraph], para_ids: Sequence[str], questions: Sequence[Question], k: int,
         index_dir: str | Path, reader: Reader | None = None) -> dict[str, list[Mined]]:
    """The best `k` sentences per question (the overlap scorer's, ordered by `reader` if given), retrieved among
    `para_ids` (indexed in `index_dir`); read from the cached list when one was mined for the same questions."""
    from ..assistant import Assistant

    teacher = reader.meta["sha256"][:12] if reader is not None else "overlap"
    cache = Path(index_dir) / f"mined-{k}-{teacher}-{len(questions)}.json"
    if cache.exists():
        saved = json.loads(cache.read_text(encoding="utf-8"))
        if saved["questions"] == [q.question for q in questions]:
            return {qid: [Mined(**m) for m in ms] for qid, ms in saved["mined"].items()}
    a = Assistant.open(index_dir)
    try:
        a.add([Article(p, paras[p].title, paras[p].text) for p in para_ids])  # only what is new or changed
        cap = _Capture(k, reader)
        out = {}
        for q in questions:
            a.ask(q.question, generator=cap)
            out[q.id] = cap.best
    finally:
        a.close()
    tmp = cache.with_suffix(".tmp")
    tmp.write_text(json.dumps({"questions": [q.question for q in questions],
                               "mined": {qid: [asdict(m) for m in ms] for qid, ms in out.items()}}), encoding="utf-8")
    tmp.replace(cache)
    return out
