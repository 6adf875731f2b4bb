"""Does a passage hold a claim? Scorers behind one small protocol, and the hard rule every scorer obeys.

The hard rule: every number and every proper name in the claim must appear in the cited passage (a corpus
spelling variant counts: Hifter/Haftar). A language model's most harmful slip is a fluent sentence with a
wrong figure or name, and no similarity score catches that reliably; a string check does. A claim that says "not"
(or "never", "no") must also find a negation or a denial ("rules out", "denies") in the sentences it is quoted from.
The soft score, three ways, all with the hard rule on top:
  FeatureScorer   ranks the passage's sentences (and pairs of adjacent sentences, where a claim joins two facts)
                  by how much of the claim's content words they hold and how close they are in meaning (MiniLM);
  ReaderScorer    the trained reader (assistant.reader), the claim as the question, each sentence as the answer;
  CombinedScorer  logistic regression over both.
The best window becomes the citation's quote. `benchmarks/fit_support.py` fits all three on SQuAD-train claims,
judges them on SQuAD-test claims and writes the winner to assistant/models/support.json, which
`default_scorer` reads. With the shipped reader (SHA-256 in support.json) the combination is a little more accurate
on test (0.960 against 0.957) but lets more unsupported claims through (5.7 % against 4.4 %; the reader alone 0.943,
8.3 %), so the feature scorer stays the default.
"""
from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from rapidfuzz.distance import Levenshtein

from ..errors import AssistantError
from ..reader import Reader, ReaderInput, shipped
from ..text.names import is_variant, skeleton
from ..text.sentences import sentence_spans
from ..text.stopwords import STOPWORDS
from ..text.tokens import tokenize

log = logging.getLogger(__name__)

# Fitted by benchmarks/fit_support.py on SQuAD *train* paragraphs (benchmarks/results/support_fit.json):
# score = COVERAGE_WEIGHT * content-word coverage + (1 - COVERAGE_WEIGHT) * MiniLM cosine, best window.
# 821 labelled claims from 200 train questions (358 supported: gold sentences and question+answer rewrites;
# 463 not: the same claims against the closest other paragraph, or with another question's answer swapped in):
# accuracy 0.950, 2.8 % of unsupported claims accepted; on 821 held-out claims from 200 *test* questions 0.957,
# 4.4 %. (Refitted with the pair penalty and the negation rule counted, the train plateau moves to 0.5 / 0.625,
# which does worse on test, 0.955 and 5.5 %, so these stay.)
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


NEGATION = re.compile(r"\b(?:not|never|no|none|nobody|nothing|nowhere|cannot|neither|nor|without)\b|n[’']t\b",
                      re.I)
# what else says "no" in news prose, so that "Turkey will not send jets" holds on "rules out that Turkey will send"
DENIAL = re.compile(r"\b(?:den(?:y|ies|ied|ying)|refus(?:e|es|ed|ing|al)|rul(?:es?|ed|ing) out|lack(?:s|ed|ing)?|"
                    r"fail(?:s|ed|ing|ure)?|unable|absen(?:t|ce)|reject(?:s|ed|ing)?|declin(?:e|es|ed|ing)|"
                    r"halt(?:s|ed|ing)?|stop(?:s|ped|ping)?|ban(?:s|ned|ning)?|impossible|unlikely)\b", re.I)


def hard_rule(claim: str, passage: str, quote: tuple[int, int]) -> tuple[str, ...]:
    """What the claim says that the evidence does not: numbers and names missing from the passage (`missing`), and
    a negation ("not", "never") that its quote does not carry in any form: a claim must not deny what the passage
    states."""
    lost = missing(claim, passage)
    window = passage[quote[0]:quote[1]]
    if NEGATION.search(claim) and not (NEGATION.search(window) or DENIAL.search(window)):
        lost.append("a negation")
    return tuple(lost)


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


def evidence_sentences(passage: str) -> list[tuple[int, int]]:
    """Spans of the passage's sentences, instruction-like ones left out: what may be evidence or shown to a model."""
    return [s for s in sentence_spans(passage) if not INSTRUCTION.search(passage[s[0]:s[1]])]


def evidence_spans(sentences: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The sentences, then the pairs of adjacent ones."""
    return sentences + [(a[0], b[1]) for a, b in zip(sentences, sentences[1:]) if b[0] - a[1] <= 3]


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
            if len(self._vectors) > 5000:  # a bounded cache: start again, keeping nothing this call needs stale
                self._vectors.clear()
                todo = list(dict.fromkeys(texts))
            self._vectors.update(zip(todo, self.encode(todo)))
        return [self._vectors[t] for t in texts]

    def features(self, claim: str, passage: str) -> list[tuple[float, float, int, int, bool]]:
        """(coverage, similarity, start, end, is_pair) of each evidence window: what the fit script learns from."""
        sentences = evidence_sentences(passage)
        spans = evidence_spans(sentences)
        if not spans:
            return []
        terms = content_terms(claim)
        texts = [passage[s:e] for s, e in spans]
        vecs = self.vectors([claim, *texts])
        out = []
        for n, ((s, e), text, vec) in enumerate(zip(spans, texts, vecs[1:])):
            cov = len(terms & content_terms(text)) / len(terms) if terms else 0.0
            out.append((cov, max(0.0, float(vec @ vecs[0])), s, e, n >= len(sentences)))
        return out

    @staticmethod
    def window_score(cov: float, sim: float, is_pair: bool, coverage_weight: float) -> float:
        """A pair of sentences must beat a single one clearly, so quotes stay short."""
        return coverage_weight * cov + (1 - coverage_weight) * sim - (PAIR_PENALTY if is_pair else 0.0)

    def best_window(self, claim: str, passage: str) -> tuple[float, float, float, int, int]:
        """(score, coverage, similarity, start, end) of the best-scoring window; zeros when there is none."""
        best = (0.0, 0.0, 0.0, 0, 0)
        for cov, sim, s, e, pair in self.features(claim, passage):
            score = self.window_score(cov, sim, pair, self.coverage_weight)
            if score > best[0]:
                best = (score, cov, sim, s, e)
        return best

    def support(self, claim: str, passage: str) -> Support:
        score, _, _, s, e = self.best_window(claim, passage)
        lost = hard_rule(claim, passage, (s, e))
        raw = round(min(1.0, score), 4)
        return Support(0.0 if lost else raw, s, e, lost, raw)


def reader_inputs(claim: str, passage: str) -> tuple[list[tuple[int, int]], list[ReaderInput]]:
    """What the reader judges: the claim as the question, each passage sentence as the candidate with the sentence
    before it as context (the reader's training recipe), instruction-like sentences left out of both."""
    spans = evidence_sentences(passage)
    items = [ReaderInput(question=claim, sentence=passage[s:e], before=passage[spans[i - 1][0]:spans[i - 1][1]]
                         if i else "") for i, (s, e) in enumerate(spans)]
    return spans, items


class ReaderScorer:
    """The trained reader (assistant.reader): the best calibrated probability over the passage's sentences, with the
    same hard entity rule. The threshold is the one benchmarks/fit_support.py fitted for this reader file
    (assistant/models/support.json), else the reader's own refusal bar. A claim is not a question: the reader's
    probabilities for claims sit far below its refusal bar, so only a fitted threshold is meaningful."""

    def __init__(self, reader: Reader, threshold: float | None = None) -> None:
        self.reader = reader
        self.threshold = reader.threshold if threshold is None else threshold

    @classmethod
    def load(cls, threshold: float | None = None) -> ReaderScorer | None:
        """The shipped reader (the process's one instance), or None when its file is missing or damaged."""
        try:
            reader = shipped()
        except AssistantError:
            return None
        if threshold is None:
            threshold = ((fitted_for(reader) or {}).get("reader") or {}).get("threshold")
        return cls(reader, threshold)

    def logits(self, items: Sequence[ReaderInput]) -> np.ndarray:
        """Calibrated logits (log-odds of the reader's probability) of `items`, in order."""
        if not items:
            return np.zeros(0)
        raw, _ = self.reader.scores(items)
        return self.reader.calibrated_logits(raw)

    def best(self, claim: str, passage: str) -> tuple[float, int, int]:
        """(calibrated logit, start, end) of the passage sentence the reader rates highest; -inf when none."""
        spans, items = reader_inputs(claim, passage)
        if not spans:
            return -np.inf, 0, 0
        z = self.logits(items)
        i = int(np.argmax(z))
        return float(z[i]), spans[i][0], spans[i][1]

    def support(self, claim: str, passage: str) -> Support:
        z, s, e = self.best(claim, passage)
        lost = hard_rule(claim, passage, (s, e))
        raw = round(float(sigmoid(z)), 4)
        return Support(0.0 if lost else raw, s, e, lost, raw)


class CombinedScorer:
    """Logistic regression over the feature scorer's best window (coverage, similarity) and the reader's best
    calibrated logit, fitted by benchmarks/fit_support.py; the quote is the feature scorer's best window."""

    def __init__(self, features: FeatureScorer, reader: ReaderScorer, coef: Sequence[float], intercept: float,
                 threshold: float) -> None:
        self.features, self.reader = features, reader
        self.coef, self.intercept, self.threshold = [float(c) for c in coef], float(intercept), float(threshold)

    def combine(self, cov: float, sim: float, z: float) -> float:
        a, b, c = self.coef
        return float(sigmoid(a * cov + b * sim + c * max(z, -30.0) + self.intercept))

    def support(self, claim: str, passage: str) -> Support:
        _, cov, sim, s, e = self.features.best_window(claim, passage)
        lost = hard_rule(claim, passage, (s, e))
        if e <= s:  # no sentence to judge
            return Support(0.0, 0, 0, lost)
        z, _, _ = self.reader.best(claim, passage)
        raw = round(self.combine(cov, sim, z), 4)
        return Support(0.0 if lost else raw, s, e, lost, raw)


def sigmoid(z: float) -> float:
    return float(1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0))))


FIT_FILE = Path(__file__).resolve().parent.parent / "models" / "support.json"


def fitted() -> dict:
    """assistant/models/support.json as benchmarks/fit_support.py wrote it ({} when absent or unreadable)."""
    try:
        data = json.loads(FIT_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def fitted_for(reader: Reader) -> dict | None:
    """The fitted reader thresholds and weights, only when they were fitted for this very reader file (a retrained
    reader scores on another scale until the fit is rerun)."""
    fit = fitted()
    if not fit.get("reader_sha256") or fit.get("reader_sha256") != reader.meta.get("sha256"):
        return None
    return fit


def default_scorer(encode: Callable[[Sequence[str]], np.ndarray]) -> SupportScorer:
    """The scorer benchmarks/fit_support.py found best on held-out SQuAD-test claims (`default` in
    assistant/models/support.json). One that needs the reader falls back to the fitted feature scorer when the
    reader file is missing or damaged, or when the fit was made for another reader file."""
    features = FeatureScorer(encode)
    choice = fitted().get("default", "feature")
    if choice not in ("reader", "combined"):
        return features
    try:
        reader = shipped()
    except AssistantError as exc:
        log.warning("the reader is not available (%s); verifying with the feature scorer", exc)
        return features
    fit = fitted_for(reader)
    if fit is None:
        log.warning("%s was fitted for another reader file (rerun benchmarks/fit_support.py); verifying with the "
                    "feature scorer", FIT_FILE)
        return features
    try:
        if choice == "reader":
            return ReaderScorer(reader, float(fit["reader"]["threshold"]))
        c = fit["combined"]
        return CombinedScorer(features, ReaderScorer(reader), c["coef"], c["intercept"], c["threshold"])
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("%s is incomplete (%r); verifying with the feature scorer", FIT_FILE, exc)
        return features
