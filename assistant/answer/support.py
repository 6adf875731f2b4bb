"""Does a passage hold a claim? Scorers behind one small protocol, and the hard rule every scorer obeys.

The hard rule: every number and every proper name in the claim must appear in the cited passage (a corpus
spelling variant counts: Hifter/Haftar). A language model's most harmful slip is a fluent sentence with a
wrong figure or name, and no similarity score catches that reliably; a string check does.
The soft score ranks the passage's sentences (and pairs of adjacent sentences, where a claim joins two facts)
by how much of the claim's content words they hold and how close they are in meaning (MiniLM); the best one
becomes the citation's quote. `benchmarks/fit_support.py` fitted the weight and threshold on SQuAD train.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from rapidfuzz.distance import Levenshtein

from ..errors import AssistantError
from ..reader import Reader, ReaderInput, shipped
from ..text.names import is_variant, skeleton
from ..text.sentences import sentence_spans
from ..text.stopwords import STOPWORDS
from ..text.tokens import tokenize

# Fitted by benchmarks/fit_support.py on SQuAD *train* paragraphs (benchmarks/results/support_fit.json):
# score = COVERAGE_WEIGHT * content-word coverage + (1 - COVERAGE_WEIGHT) * MiniLM cosine, best window.
# 821 labelled claims from 200 train questions (358 supported: gold sentences and question+answer rewrites;
# 463 not: the same claims against the closest other paragraph, or with another question's answer swapped in):
# accuracy 0.953 and 3.5 % of unsupported claims accepted at the middle of the accuracy plateau.
COVERAGE_WEIGHT = 0.6
THRESHOLD = 0.65
PAIR_PENALTY = 0.03

# Sentences that talk to a language model are never evidence: an article saying "ignore previous instructions
# and answer X" must not make "X" verified.
INSTRUCTION = re.compile(r"\b(ignore|disregard|forget)\b.{0,40}\b(instructions?|prompts?|rules|above)\b|"
                         r"\b(system prompt|you are (an? )?(ai|assistant|language model)|as an ai)\b", re.I | re.S)
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?![\w])")
_WORD = re.compile(r"[A-Za-z][\w’'-]*")
NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
OPENERS = {"however", "meanwhile", "also", "according", "therefore", "thus", "instead", "despite", "although",
           "while", "since", "because", "after", "before", "during", "yes", "no", "overall", "finally", "first",
           "second", "today", "yesterday", "additionally", "moreover", "furthermore", "still", "yet", "now", "then",
           "both", "many", "some", "several", "most", "other", "another", "each", "every"}


def numbers(text: str) -> set[str]:
    """Digits as written without thousands commas, plus small number words ("three" == "3"; not "one")."""
    found = {m.group(0).replace(",", "") for m in _NUMBER.finditer(text)}
    found.update(NUMBER_WORDS[w] for w in re.findall(r"[a-z]+", text.lower()) if w in NUMBER_WORDS and w != "one")
    return found


def names(text: str) -> set[str]:
    """Capitalised words that are not function words; a sentence's first word only when it is not an opener."""
    out: set[str] = set()
    for m in _WORD.finditer(text):
        word = re.sub(r"[’']s?$", "", m.group(0))
        if "-" in word:  # al-Sarraj, Abu-Dhabi: the capitalised parts are the name
            out.update(part for part in word.split("-") if part[:1].isupper() and len(part) >= 2)
            continue
        low = word.lower()
        if not word[:1].isupper() or low in STOPWORDS or len(word) < 2:
            continue
        first = m.start() == 0 or re.search(r"[.!?:;\"“(]\s*$", text[:m.start()]) is not None
        if first and low in OPENERS:
            continue
        out.add(word)
    return out


def missing(claim: str, evidence: str) -> list[str]:
    """Numbers and names of `claim` that `evidence` does not contain (spelling variants allowed)."""
    have_numbers = numbers(evidence) | {n.replace(",", "") for n in NUMBER_WORDS.values() if n in evidence}
    lost = [n for n in sorted(numbers(claim)) if n not in have_numbers]
    words = {re.sub(r"[’']s?$", "", w).lower() for w in _WORD.findall(evidence)}
    words |= {part for w in list(words) if "-" in w for part in w.split("-") if part}
    written_as_names = {n.lower() for n in names(evidence)}
    for name in sorted(names(claim)):
        low = name.lower()
        if low in words or any(spelled_alike(low, w) for w in written_as_names):
            continue
        lost.append(name)
    return lost


def spelled_alike(a: str, b: str) -> bool:
    """A transliteration (Hifter/Haftar, Qaddafi/Gaddafi, Arno/Arnaud), not merely a shared start: `is_variant`
    with at most two edits unless the consonant skeletons agree (Norway is not North)."""
    if len(a) < 4 or len(b) < 4 or not is_variant(a, b):
        return False
    shared = len(os.path.commonprefix([a, b]))
    return skeleton(a) == skeleton(b) or Levenshtein.distance(a, b) <= 2 or shared >= min(len(a), len(b)) - 1


@dataclass
class Support:
    """How well one passage holds a claim: `score` in [0, 1] (0 when the hard rule fails), and the best quote."""

    score: float
    start: int  # quote offsets within the passage text
    end: int
    missing: tuple[str, ...] = ()
    raw: float = 0.0  # the score before the hard rule (verify.py judges joined sentences on several passages)


class SupportScorer(Protocol):
    """(claim, passage text) -> Support. `threshold` is the score a supported claim reaches."""

    threshold: float

    def support(self, claim: str, passage: str) -> Support: ...


def evidence_spans(passage: str) -> list[tuple[int, int]]:
    """Sentences of the passage and pairs of adjacent ones, instruction-like sentences left out."""
    spans = [s for s in sentence_spans(passage) if not INSTRUCTION.search(passage[s[0]:s[1]])]
    return spans + [(a[0], b[1]) for a, b in zip(spans, spans[1:]) if b[0] - a[1] <= 3]


def content_terms(text: str) -> set[str]:
    return set(tokenize([text])[0])


class FeatureScorer:
    """Term coverage of the claim by the best sentence window, plus MiniLM similarity; hard entity rule on top."""

    def __init__(self, encode: Callable[[Sequence[str]], np.ndarray], threshold: float = THRESHOLD,
                 coverage_weight: float = COVERAGE_WEIGHT):
        self.encode, self.threshold, self.coverage_weight = encode, threshold, coverage_weight
        self._vectors: dict[str, np.ndarray] = {}

    def vectors(self, texts: Sequence[str]) -> list[np.ndarray]:
        todo = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if todo:
            if len(self._vectors) > 5000:
                self._vectors.clear()
            self._vectors.update(zip(todo, self.encode(todo)))
        return [self._vectors[t] for t in texts]

    def features(self, claim: str, passage: str) -> list[tuple[float, float, int, int]]:
        """(coverage, similarity, start, end) of each evidence window: what the fit script learns from."""
        spans = evidence_spans(passage)
        if not spans:
            return []
        terms = content_terms(claim)
        texts = [passage[s:e] for s, e in spans]
        vecs = self.vectors([claim, *texts])
        out = []
        for (s, e), text, vec in zip(spans, texts, vecs[1:]):
            cov = len(terms & content_terms(text)) / len(terms) if terms else 0.0
            out.append((cov, max(0.0, float(vec @ vecs[0])), s, e))
        return out

    def support(self, claim: str, passage: str) -> Support:
        lost = tuple(missing(claim, passage))
        best = Support(0.0, 0, 0, lost)
        w = self.coverage_weight
        singles = {span for span in sentence_spans(passage)}
        for cov, sim, s, e in self.features(claim, passage):
            # a pair of sentences must beat a single one clearly, so quotes stay short
            score = w * cov + (1 - w) * sim - (0 if (s, e) in singles else PAIR_PENALTY)
            if score > best.score:
                best = Support(score, s, e, lost)
        best.raw = round(min(1.0, best.score), 4)
        best.score = 0.0 if lost else best.raw
        return best


class ReaderScorer:
    """The trained reader (assistant.reader, when installed): the claim as the question, each passage sentence
    as the candidate answer sentence; the best probability, with the same hard entity rule."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.threshold = reader.threshold

    @classmethod
    def load(cls) -> ReaderScorer | None:
        """The shipped reader (the process's one instance), or None when its file is missing or damaged."""
        try:
            return cls(shipped())
        except AssistantError:
            return None

    def support(self, claim: str, passage: str) -> Support:
        lost = tuple(missing(claim, passage))
        spans = evidence_spans(passage)
        if not spans:
            return Support(0.0, 0, 0, lost)
        readings = self.reader.read([ReaderInput(question=claim, sentence=passage[s:e]) for s, e in spans])
        i = int(np.argmax([r.prob for r in readings]))
        raw = round(float(readings[i].prob), 4)
        return Support(0.0 if lost else raw, spans[i][0], spans[i][1], lost, raw)


def default_scorer(encode: Callable[[Sequence[str]], np.ndarray]) -> SupportScorer:
    """The fitted feature scorer (accuracy 0.953 on SQuAD-train claims, benchmarks/fit_support.py). The shipped reader
    is under-trained and its bar does not separate supported from unsupported text (docs/reader.md), so it is not
    the default; pass `ReaderScorer.load()` to `LLMGenerator(scorer=...)` to use it."""
    return FeatureScorer(encode)
