"""Proper names of a corpus and their other spellings (Hifter/Haftar, Qaddafi/Gaddafi, Arno/Arnaud).

A name is a stemmed term the corpus writes capitalised in at least 80% of its occurrences; its variants are the
corpus's other names that look like a transliteration of it. No hand-made list: both come from the articles.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler, Levenshtein

from .tokens import WORD, stemmer, tokenize

_VOWELS = re.compile(r"[aeiouy]")
MIN_LEN = 4
MAX_LEN = 64  # longer "names" are not looked up as spellings of anything
NAME_SHARE = 0.8
MEMO_SIZE = 50_000


class CaseCounts:
    """How often each word (lower-cased, >= 4 letters) is written capitalised, over a changing set of texts."""

    def __init__(self, upper: Counter | None = None, total: Counter | None = None):
        self.upper, self.total = upper or Counter(), total or Counter()

    def add(self, texts: Iterable[str], sign: int = 1) -> CaseCounts:
        for text in texts:
            for word in WORD.findall(text):
                if len(word) >= MIN_LEN and not word.isdigit():
                    low = word.lower()
                    self.total[low] += sign
                    self.upper[low] += sign * word[0].isupper()
        return self

    def names(self) -> set[str]:
        stem = stemmer().stemWord
        return {stem(w) for w, n in self.total.items() if n > 0 and self.upper[w] / n >= NAME_SHARE}

    def to_json(self) -> dict[str, list[int]]:
        return {w: [self.upper[w], n] for w, n in self.total.items() if n > 0}

    @classmethod
    def from_json(cls, data: dict[str, list[int]]) -> CaseCounts:
        return cls(Counter({w: u for w, (u, _) in data.items()}), Counter({w: n for w, (_, n) in data.items()}))


def name_terms(texts: Sequence[str]) -> set[str]:
    """Stemmed terms written capitalised in at least 80% of their occurrences: the corpus's proper names."""
    return CaseCounts().add(texts).names()


def question_names(question: str) -> list[str]:
    """Stemmed terms of the words a question writes as names ("Qatar"), except a word that opens a sentence ("What").

    Abbreviations ("NYC", "DVDs") are left out: an article often spells out what a question abbreviates.
    """
    words = [w for m in WORD.finditer(question)
             if (w := m.group(0))[0].isupper() and w[1:].islower() and not _opens(question, m.start())]
    return tokenize([" ".join(words)])[0] if words else []


def _opens(text: str, i: int) -> bool:
    """Whether the word at `i` opens a sentence: only spaces and opening quotes after a full stop, "?", "!" or nothing."""
    while i > 0 and text[i - 1] in " \t\n\"'“‘":
        i -= 1
    return i == 0 or text[i - 1] in ".?!"


def skeleton(term: str) -> str | None:
    """Consonant skeleton (first letter kept, a leading vowel as "*"): Hifter and Haftar both give "h-ftr"."""
    rest = _VOWELS.sub("", term[1:])
    if len(rest) < 2:
        return None
    return ("*" if term[0] in "aeiouy" else term[0]) + "-" + rest


def is_variant(a: str, b: str) -> bool:
    """Transliterations differ in vowels (Hifter/Haftar), a letter (Qaddafi/Gaddafi) or an ending (Arno/Arnaud)."""
    key = skeleton(a)
    if key is not None and key == skeleton(b):
        return True
    close = JaroWinkler.normalized_similarity(a, b) >= 0.88 or a[:3] == b[:3]
    return close and Levenshtein.distance(a, b) <= 3


class Variants:
    """`is_variant` over all of a corpus's names, answered from indexes instead of testing every name."""

    def __init__(self, names: set[str], vocab: dict[str, int]):
        self.names, self.vocab = names, vocab
        known = sorted(names & vocab.keys(), key=lambda t: (len(t), t))
        self._names = known  # by length, so the names within 3 edits of a term are one slice
        self._starts = np.searchsorted([len(t) for t in known], np.arange(MAX_LEN + 2)) if known else None
        self._by_skeleton: dict[str, list[str]] = {}
        self._by_prefix: dict[str, list[str]] = {}
        for term in known:
            self._by_skeleton.setdefault(skeleton(term) or "", []).append(term)
            self._by_prefix.setdefault(term[:3], []).append(term)
        self._found: dict[str, list[str]] = {}  # names never change for one index generation

    def __call__(self, term: str) -> list[str]:
        """Other spellings of `term` that the corpus uses as names; none for ordinary words."""
        found = self._found.get(term)
        if found is None:
            if len(self._found) >= MEMO_SIZE:  # a long-lived server sees endless new query terms
                self._found.clear()
            found = self._found[term] = self._find(term)
        return found

    def _find(self, term: str) -> list[str]:
        if len(term) < MIN_LEN or (term in self.vocab and term not in self.names) or self._starts is None:
            return []
        def near_len(t: str) -> bool:  # within 3 edits means within 3 letters of length
            return abs(len(t) - len(term)) <= 3

        lo, hi = (int(self._starts[min(max(n, 0), MAX_LEN + 1)]) for n in (len(term) - 3, len(term) + 4))
        close = {t for t, _, _ in process.extract(term, self._names[lo:hi], scorer=JaroWinkler.normalized_similarity,
                                                 score_cutoff=0.88, limit=None)}
        close.update(filter(near_len, self._by_prefix.get(term[:3], ())))
        out = {t for t in close if Levenshtein.distance(term, t, score_cutoff=3) <= 3}
        key = skeleton(term)
        out.update(filter(near_len, self._by_skeleton.get(key, ()) if key else ()))
        out.discard(term)
        return sorted(out, key=lambda t: (len(t), t))
