"""Cited answers without a language model: the best 1-3 source sentences, quoted, or a refusal when none answers."""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..text.sentences import sentence_spans
from ..text.terms import coverage
from ..text.tokens import tokenize
from ..types import Answer, Citation, Passage
from .base import Context, refusal

ANAPHORIC_START = re.compile(r"^(he|she|they|it|this|that|these|those|his|her|their|its|such)\b", re.I)


@dataclass(frozen=True)
class Tuning:
    """Chosen on the seed Q&A and SQuAD dev; `refuse_below` by benchmarks/calibrate_refusal.py (see README)."""

    passages: int = 6
    read: int = 4
    dense: float = 0.55
    lexical: float = 0.45
    prior: float = 0.05
    carry: float = 0.9
    refuse_below: float = 0.475
    keep_ratio: float = 0.85
    redundant: float = 0.8
    max_sentences: int = 3
    shortlist: int = 6  # sentences encoded per question (0: all of them)


@dataclass
class Candidate:
    passage: Passage
    rank: int
    start: int  # offsets within passage.text
    end: int
    coverage: float = 0.0
    score: float = 0.0
    vec: np.ndarray | None = None

    @property
    def text(self) -> str:
        return self.passage.text[self.start:self.end]


class ExtractiveGenerator:
    """Deterministic and offline: the answer is the best 1–3 source sentences, each with its marker."""

    def __init__(self, tuning: Tuning = Tuning()):
        self.tuning = tuning

    def candidates(self, passages: Sequence[Passage]) -> list[Candidate]:
        """Sentences of the top passages in reading order, each article span once."""
        out, seen = [], set()
        for rank, p in enumerate(passages[: self.tuning.read]):
            for s, e in sentence_spans(p.text):
                key = (p.article_id, p.start + s)
                if key not in seen and len(p.text[s:e].split()) >= 3:
                    seen.add(key)
                    out.append(Candidate(p, rank, s, e))
        return out

    def score(self, question: str, cands: list[Candidate], context: Context) -> None:
        """Similarity + idf-weighted overlap (name variants included), passed on to the sentence that continues it.

        A sentence that asks the question ("Is Turkey sending troops?") or that a "He/It ..." sentence
        continues lends its score to the next sentence, which is where news prose puts the answer.
        """
        weights = context.term_weights(question)
        t = self.tuning
        for c, terms in zip(cands, map(set, tokenize([c.text for c in cands]))):
            c.coverage = coverage(terms, weights)
            c.score = t.lexical * c.coverage + t.prior / (1 + c.rank)
        carries = [i for i in range(1, len(cands)) if _carries(cands[i - 1], cands[i])]
        chosen = self.shortlist(cands, carries)
        vecs = context.encode([question] + [cands[i].text for i in chosen])
        for i, vec in zip(chosen, vecs[1:]):
            cands[i].vec = vec
            cands[i].score += t.dense * float(vec @ vecs[0])
        for i in carries:
            prev, c = cands[i - 1], cands[i]
            if prev.vec is not None and c.vec is not None:
                c.score = max(c.score, t.carry * prev.score)
        cands[:] = [c for c in cands if c.vec is not None]

    def shortlist(self, cands: list[Candidate], carries: list[int]) -> list[int]:
        """Sentences worth encoding: the best by overlap and rank, each with the sentence it carries from.

        Encoding the question's ~40 candidate sentences was most of an `ask`; a sentence outranked on weighted
        term overlap by `shortlist` others almost never becomes the quote (measured on SQuAD dev and the seed
        set, docs/speed.md). When no sentence shares a term with the question, all are encoded.
        """
        n = self.tuning.shortlist
        if not n or len(cands) <= n or not any(c.coverage for c in cands):
            return list(range(len(cands)))  # no shared term (a paraphrase): only similarity can rank them
        order = sorted(range(len(cands)), key=lambda i: (-cands[i].score, i))
        cutoff = cands[order[n - 1]].score
        best = [i for i in order if cands[i].score >= cutoff]  # ties at the cut-off all stay
        keep = set(best)
        carried = set(carries)
        keep.update(i - 1 for i in best if i in carried)
        keep.update(i + 1 for i in best if i + 1 in carried)
        return sorted(keep)

    def generate(self, question: str, passages: Sequence[Passage], context: Context) -> Answer:
        cands = self.candidates(passages)
        if cands:
            self.score(question, cands, context)
        cands = sorted((c for c in cands if not c.text.rstrip().endswith("?")), key=lambda c: (-c.score, c.rank, c.start))
        if not cands or cands[0].score < self.tuning.refuse_below:
            return refusal(question, passages, cands[0].score if cands else 0.0)
        best, picked = cands[0], [cands[0]]
        for c in cands[1:]:
            if len(picked) >= self.tuning.max_sentences or c.score < self.tuning.keep_ratio * best.score:
                break
            if all(float(c.vec @ p.vec) < self.tuning.redundant and not _overlaps(c, p)  # type: ignore[operator]
                   for p in picked):
                picked.append(c)
        return compose(question, picked, passages)


def _carries(prev: Candidate, c: Candidate) -> bool:
    """`c` continues `prev` (a question, or "He/It ..." after it) and may take its score."""
    same_flow = prev.passage is c.passage and 0 <= c.start - prev.end <= 2
    return same_flow and (prev.text.rstrip().endswith("?") or bool(ANAPHORIC_START.match(c.text)))


def _overlaps(a: Candidate, b: Candidate) -> bool:
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
    groups: list[tuple[Candidate, int, int]] = []
    for c in picked:
        start, end = quote_span(c)
        for i, (g, g_start, g_end) in enumerate(groups):
            if g.passage.chunk_id == c.passage.chunk_id and start <= g_end + 2 and g_start <= end + 2:
                groups[i] = (g, min(start, g_start), max(end, g_end))
                break
        else:
            groups.append((c, start, end))
    citations, parts = [], []
    for n, (c, start, end) in enumerate(groups, 1):
        p = c.passage
        quote = p.text[start:end]
        citations.append(Citation(n, p.article_id, p.title, p.chunk_id, p.start, p.end, p.text, quote,
                                  p.start + start, p.start + end,
                                  round(c.score, 4), p.date, p.source, p.url, list(p.also_in)))
        parts.append(f"{' '.join(quote.split())} [{n}]")
    return Answer(" ".join(parts), citations, False, list(passages), question, confidence=round(picked[0].score, 4))
