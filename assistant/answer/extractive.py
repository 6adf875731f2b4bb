"""Cited answers without a language model: the best 1-3 source sentences, quoted, or a refusal when none answers."""
from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..reader import Reader, ReaderInput, Reading, shipped
from ..reader.model import readings
from ..text.terms import coverage
from ..text.tokens import tokenize
from ..types import Answer, Passage
from .base import Context, refusal
from .quotes import ANAPHORIC_START, Candidate, candidates, compose, overlaps
from .short import add_short_answer


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
    keep_other: float = 1.0  # without the reader, another passage is quoted only for a sentence as good as the best
    redundant: float = 0.8
    max_sentences: int = 3
    shortlist: int = 6  # sentences encoded per question (0: all of them)
    # The reader reads the overlap scorer's best `reader_reads` sentences as one batch and orders them by
    # z = w · (overlap score, reader logit, 1 / (1 + passage rank)) + b, a logistic regression fitted on SQuAD train.
    # With the reader, refusal is decided by `answerable`: the probability that the articles answer, a logistic
    # regression over (best overlap score, best reader logit, best z, second overlap score); under `answer_above`
    # the answer is refused. `refuse_below` is the bar without a reader. All fitted by benchmarks/answer_study.py
    # on train (README). With the reader, another passage is quoted when a sentence of it was read and its z is
    # within `other_within` of the lead's: the reader is torn between two passages, and citing both is then right
    # more often than citing one.
    reader_reads: int = 6
    combine: tuple[float, float, float, float] = (2.464, 0.749, 2.735, -4.9)
    answerable: tuple[float, float, float, float, float] = (6.036, 0.006, 0.925, 8.859, -4.219)
    answer_above: float = 0.55
    other_within: float = 0.75


class ExtractiveGenerator:
    """Deterministic and offline: the answer is the best 1–3 source sentences, each with its marker.

    The overlap scorer ranks every sentence cheaply; the trained reader reads only the best six (≈ 6 ms a sentence
    on 2 cores), picks which of them leads and finds the short answer inside it; an answerability model over both
    decides whether to answer at all. Without the reader, the overlap score's bar alone decides.
    """

    def __init__(self, tuning: Tuning = Tuning(), reader: Reader | None | bool = True):
        """`reader`: the reader that reorders the best sentences and finds the short answer (True: the shipped
        one, loaded on first use; None or False: the overlap scorer alone, no short answers)."""
        self.tuning = tuning
        self._reader = reader
        self._lock = threading.Lock()

    @property
    def reader(self) -> Reader | None:
        with self._lock:
            if self._reader is True:
                self._reader = shipped()
            return self._reader or None

    def candidates(self, passages: Sequence[Passage]) -> list[Candidate]:
        return candidates(passages, self.tuning.read)

    def score(self, question: str, cands: list[Candidate], context: Context) -> None:
        """Similarity + idf-weighted overlap (name variants included), passed on to the sentence that continues it.

        A sentence that asks the question ("Is Turkey sending troops?") or that a "He/It ..." sentence
        continues lends its score to the next sentence, which is where news prose puts the answer.
        For a condensed follow-up ("How much will it borrow? (Ghana cocoa …)", `context.asked` the question as
        typed) the conversation's words count anywhere in the sentence's passage, since an article names its
        subject once and then says "the board", and similarity is half to the question as typed: else the
        sentence that names the subject, which the previous answer already quoted, outranks the one that
        answers the new question.
        """
        weights = context.term_weights(question)
        t = self.tuning
        asked = getattr(context, "asked", "")
        topic = _topic_in_passages(cands, question, asked)
        for c, terms in zip(cands, map(set, tokenize([c.text for c in cands]))):
            c.coverage = coverage(terms | topic.get(id(c.passage), set()), weights)
            c.score = t.lexical * c.coverage + t.prior / (1 + c.rank)
        carries = [i for i in range(1, len(cands)) if _carries(cands[i - 1], cands[i])]
        chosen = self.shortlist(cands, carries)
        queries = [question, asked] if asked else [question]
        vecs = context.encode(queries + [cands[i].text for i in chosen])
        for i, vec in zip(chosen, vecs[len(queries):]):
            cands[i].vec = vec
            cands[i].score += t.dense * float(np.mean(vecs[:len(queries)] @ vec))
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

    def ranked(self, question: str, passages: Sequence[Passage], context: Context) -> list[Candidate]:
        """The candidate sentences scored and sorted, best first; a sentence that asks a question is never a quote."""
        cands = self.candidates(passages)
        if cands:
            self.score(question, cands, context)
        return sorted((c for c in cands if not c.text.rstrip().endswith("?")), key=lambda c: (-c.score, c.rank, c.start))

    def generate(self, question: str, passages: Sequence[Passage], context: Context) -> Answer:
        cands = self.ranked(question, passages, context)
        t = self.tuning
        reader = self.reader
        if not cands or (reader is None and cands[0].score < t.refuse_below):
            return refusal(question, passages, cands[0].score if cands else 0.0)
        first = cands[0].score
        second = cands[1].score if len(cands) > 1 else 0.0
        confidence = first  # what refusal is decided on: the overlap score, or with the reader the answerability
        readings: dict[int, Reading] = {}
        z: dict[int, float] | None = None
        if reader is not None:
            readings, logit, z = self.rerank(question, cands, reader)
            confidence = answerability(t.answerable, first, logit, max(z.values()), second)
            if confidence < t.answer_above:
                return refusal(question, passages, confidence)
        best, picked = cands[0], [cands[0]]  # quotes are held to `first`, the best score, not to the lead
        for c in cands[1:]:  # the reader's order first: a weaker sentence it put ahead must not end the search
            if len(picked) >= t.max_sentences:
                break
            if c.passage.chunk_id == best.passage.chunk_id:
                if c.score < t.keep_ratio * first:
                    continue
            elif z is not None:
                if id(c) not in z or z[id(c)] < z[id(best)] - t.other_within:
                    continue
            elif c.score < t.keep_other * first:
                continue
            if all(float(c.vec @ p.vec) < t.redundant and not overlaps(c, p)  # type: ignore[operator]
                   for p in picked):
                picked.append(c)
        answer = compose(question, picked, passages)
        answer.confidence = round(confidence, 4)
        if reader is not None:
            add_short_answer(answer, best, readings[id(best)], reader.span_threshold)
        return answer

    def rerank(self, question: str, cands: list[Candidate],
               reader: Reader) -> tuple[dict[int, Reading], float, dict[int, float]]:
        """The reader reads the best `reader_reads` of `cands` (sorted, best first), always as one batch: the int8
        graph quantises a batch's activations together, so a sentence's logit depends a little on its batch-mates,
        and benchmarks/answer_study.py fits on exactly this batch. They are reordered by the fitted combination.
        Returns each one's reading and combined score (both by `id`) and the best reader logit."""
        t = self.tuning
        read = cands[:max(1, t.reader_reads)]
        logits, spans = reader.scores([ReaderInput(question, c.text, c.passage.title, c.before) for c in read])
        w_overlap, w_reader, w_rank, bias = t.combine
        z = {id(c): w_overlap * c.score + w_reader * float(lg) + w_rank / (1 + c.rank) + bias
             for c, lg in zip(read, logits)}
        cands[:len(read)] = sorted(read, key=lambda c: -z[id(c)])
        return dict(zip(map(id, read), readings(reader.calibrated(logits), spans))), float(max(logits)), z


def answerability(w: Sequence[float], best: float, logit: float, z: float, second: float) -> float:
    """`Tuning.answerable`'s probability that the articles answer, from the best overlap score, the best reader logit,
    the best combined score and the second overlap score."""
    return 1 / (1 + float(np.exp(-(w[0] * best + w[1] * logit + w[2] * z + w[3] * second + w[4]))))


def _topic_in_passages(cands: list[Candidate], question: str, asked: str) -> dict[int, set[str]]:
    """The words condensing added to `asked` that each candidate's passage holds (title included)."""
    if not asked:
        return {}
    added = set(tokenize([question])[0]) - set(tokenize([asked])[0])
    out: dict[int, set[str]] = {}
    for c in cands:
        if id(c.passage) not in out:
            out[id(c.passage)] = added & set(tokenize([f"{c.passage.title}\n{c.passage.text}"])[0])
    return out


def _carries(prev: Candidate, c: Candidate) -> bool:
    """`c` continues `prev` (a question, or "He/It ..." after it) and may take its score."""
    same_flow = prev.passage is c.passage and 0 <= c.start - prev.end <= 2
    return same_flow and (prev.text.rstrip().endswith("?") or bool(ANAPHORIC_START.match(c.text)))
