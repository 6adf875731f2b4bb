"""Candidate quotes and the cited answer made of them: the sentences of the top passages, with exact offsets."""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..text.sentences import sentence_spans
from ..types import Answer, Citation, Passage

ANAPHORIC_START = re.compile(r"^(he|she|they|it|this|that|these|those|his|her|their|its|such)\b", re.I)


@dataclass
class Candidate:
    passage: Passage
    rank: int
    start: int  # offsets within passage.text
    end: int
    coverage: float = 0.0
    score: float = 0.0
    vec: np.ndarray | None = None
    before: str = ""  # the sentence before it in the passage: context for the reader

    @property
    def text(self) -> str:
        return self.passage.text[self.start:self.end]


def candidates(passages: Sequence[Passage], read: int) -> list[Candidate]:
    """Sentences of the top `read` passages in reading order, each article span once."""
    out, seen = [], set()
    for rank, p in enumerate(passages[:read]):
        before = ""
        for s, e in sentence_spans(p.text):
            key = (p.article_id, p.start + s)
            if key not in seen and len(p.text[s:e].split()) >= 3:
                seen.add(key)
                out.append(Candidate(p, rank, s, e, before=before))
            before = p.text[s:e]
    return out


def overlaps(a: Candidate, b: Candidate) -> bool:
    return a.passage.article_id == b.passage.article_id and a.passage.start + a.start < b.passage.start + b.end \
        and b.passage.start + b.start < a.passage.start + a.end


def quote_span(c: Candidate) -> tuple[int, int]:
    """Passage span of the quote; a sentence opening with "He"/"It"… takes the sentence before it along."""
    start = c.start
    if ANAPHORIC_START.match(c.text):
        before = [s for s in sentence_spans(c.passage.text) if s[1] <= c.start]
        if before:
            start = before[-1][0]
    return start, c.end


def compose(question: str, picked: Sequence[Candidate], passages: Sequence[Passage]) -> Answer:
    """One citation per quote; quotes that touch in one passage merge, so no sentence is said twice."""
    groups: list[tuple[Candidate, int, int, float]] = []  # a merged quote scores as its best sentence
    for c in picked:
        start, end = quote_span(c)
        for i, (g, g_start, g_end, score) in enumerate(groups):
            if g.passage.chunk_id == c.passage.chunk_id and start <= g_end + 2 and g_start <= end + 2:
                groups[i] = (g, min(start, g_start), max(end, g_end), max(score, c.score))
                break
        else:
            groups.append((c, start, end, c.score))
    citations, parts = [], []
    for n, (c, start, end, score) in enumerate(groups, 1):
        p = c.passage
        quote = p.text[start:end]
        citations.append(Citation(n, p.article_id, p.title, p.chunk_id, p.start, p.end, p.text, quote,
                                  p.start + start, p.start + end,
                                  round(score, 4), p.date, p.source, url=p.url, also_in=list(p.also_in)))
        parts.append(f"{' '.join(quote.split())} [{n}]")
    return Answer(" ".join(parts), citations, False, list(passages), question,
                  confidence=round(max(p.score for p in picked), 4))
