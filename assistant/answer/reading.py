"""Cited answers chosen by the trained reader: it reads each sentence against the question, gives the probability
that the sentence answers it (calibrated, so one bar decides refusal) and the short answer inside it."""
from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from ..reader import Reader, ReaderInput, Reading, shipped
from ..text.tokens import tokenize
from ..types import Answer, Passage
from .base import Context, refusal
from .quotes import Candidate, candidates, compose, overlaps
from .short import add_short_answer


@dataclass(frozen=True)
class ReaderTuning:
    """`refuse_below`/`short_above` default to the bars fitted with the reader on SQuAD train (docs/reader.md)."""

    passages: int = 6
    read: int = 4
    keep_ratio: float = 0.9  # a second quote must be nearly as likely as the first (measured: docs/reader.md)
    max_sentences: int = 3
    redundant: float = 0.8  # word-set overlap above which a second quote says the first again
    refuse_below: float | None = None
    short_above: float | None = None


class ReaderGenerator:
    """The answer is the sentence(s) the reader finds most likely to answer, each with its marker; the short
    answer comes from the best one. Loads the shipped reader on first use."""

    def __init__(self, tuning: ReaderTuning = ReaderTuning(), reader: Reader | None = None):
        self.tuning = tuning
        self._reader = reader
        self._lock = threading.Lock()

    @property
    def reader(self) -> Reader:
        with self._lock:
            if self._reader is None:
                self._reader = shipped()
            return self._reader

    def read(self, question: str, cands: Sequence[Candidate]) -> list[Reading]:
        readings = self.reader.read([ReaderInput(question, c.text, c.passage.title, c.before) for c in cands])
        for c, r in zip(cands, readings):
            c.score = r.prob
        return readings

    def generate(self, question: str, passages: Sequence[Passage], context: Context) -> Answer:
        cands = [c for c in candidates(passages, self.tuning.read) if not c.text.rstrip().endswith("?")]
        readings = dict(zip(map(id, cands), self.read(question, cands))) if cands else {}
        cands.sort(key=lambda c: (-c.score, c.rank, c.start))
        bar = self.reader.threshold if self.tuning.refuse_below is None else self.tuning.refuse_below
        if not cands or cands[0].score < bar:
            return refusal(question, passages, cands[0].score if cands else 0.0)
        best, picked = cands[0], [cands[0]]
        words = {id(c): set(w) for c, w in zip(cands, tokenize([c.text for c in cands]))}
        for c in cands[1:]:
            if len(picked) >= self.tuning.max_sentences or c.score < max(bar, self.tuning.keep_ratio * best.score):
                break
            if all(not overlaps(c, p) and _similarity(words[id(c)], words[id(p)]) < self.tuning.redundant
                   for p in picked):
                picked.append(c)
        answer = compose(question, picked, passages)
        bar = self.reader.span_threshold if self.tuning.short_above is None else self.tuning.short_above
        add_short_answer(answer, best, readings[id(best)], bar)
        return answer


def _similarity(a: set[str], b: set[str]) -> float:
    return len(a & b) / max(1, min(len(a), len(b)))
