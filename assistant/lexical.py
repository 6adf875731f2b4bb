"""BM25 over chunks (bm25s, Snowball stemming, English stopwords) with fuzzy matching of name spellings."""
from __future__ import annotations

import json
import logging
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import bm25s
import numpy as np
import Stemmer
from rapidfuzz.distance import JaroWinkler, Levenshtein

from .stopwords import STOPWORDS

logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets itself to DEBUG on import

_WORD = re.compile(r"(?u)\b\w\w+\b")
_VOWELS = re.compile(r"[aeiouy]")
VARIANT_WEIGHT = 0.7


@lru_cache(maxsize=1)
def stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """bm25s's own recipe (lowercase, `\\w\\w+` words, stopwords out, Snowball stems), without its per-call overhead."""
    stem = stemmer().stemWords
    return [stem([w for w in _WORD.findall(t.lower()) if w not in STOPWORDS]) for t in texts]


def name_terms(texts: Sequence[str]) -> set[str]:
    """Stemmed terms written capitalised in at least 80% of their occurrences: the corpus's proper names."""
    upper, total = Counter(), Counter()
    for text in texts:
        for word in _WORD.findall(text):
            low = word.lower()
            total[low] += 1
            upper[low] += word[0].isupper()
    stem = stemmer().stemWord
    return {stem(w) for w, n in total.items() if len(w) >= 4 and upper[w] / n >= 0.8 and not w.isdigit()}


def is_variant(a: str, b: str) -> bool:
    """Transliterations differ in vowels (Hifter/Haftar), a letter (Qaddafi/Gaddafi) or an ending (Arno/Arnaud)."""
    skel_a, skel_b = _VOWELS.sub("", a[1:]), _VOWELS.sub("", b[1:])
    if a[0] in "aeiouy" and b[0] in "aeiouy" or a[0] == b[0]:
        if len(skel_a) >= 2 and skel_a == skel_b:
            return True
    if Levenshtein.distance(a, b) > 3:
        return False
    return JaroWinkler.normalized_similarity(a, b) >= 0.88 or a[:3] == b[:3]


class Lexical:
    """A persisted BM25 index whose rows map to chunk ids."""

    def __init__(self, bm25: bm25s.BM25 | None, ids: np.ndarray, names: set[str]):
        self.bm25, self.ids, self.names = bm25, ids, names
        self.vocab = bm25.vocab_dict if bm25 is not None else {}
        self._by_len: dict[int, list[str]] = {}
        for term in names & set(self.vocab):
            self._by_len.setdefault(len(term), []).append(term)

    @classmethod
    def build(cls, texts: Sequence[str], ids: Sequence[int]) -> "Lexical":
        if not texts:
            return cls(None, np.zeros(0, dtype="int64"), set())
        bm25 = bm25s.BM25()
        bm25.index(tokenize(texts), show_progress=False)
        return cls(bm25, np.asarray(ids, dtype="int64"), name_terms(texts))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "ids.npy", self.ids)
        (folder / "names.json").write_text(json.dumps(sorted(self.names)))
        if self.bm25 is not None:
            self.bm25.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> "Lexical":
        ids = np.load(folder / "ids.npy")
        names = set(json.loads((folder / "names.json").read_text()))
        bm25 = bm25s.BM25.load(str(folder), show_progress=False) if len(ids) else None
        return cls(bm25, ids, names)

    def variants(self, term: str) -> list[str]:
        """Other spellings of a name that the corpus uses."""
        if len(term) < 4 or (term in self.vocab and term not in self.names):
            return []
        near = (t for n in range(len(term) - 3, len(term) + 4) for t in self._by_len.get(n, ()))
        return [t for t in near if t != term and is_variant(term, t)]

    def query_terms(self, query: str) -> dict[str, float]:
        """Query terms in the vocabulary, with name variants at a lower weight."""
        weights: dict[str, float] = {}
        for term in tokenize([query])[0]:
            if term in self.vocab:
                weights[term] = weights.get(term, 0.0) + 1.0
            for var in self.variants(term):
                weights[var] = max(weights.get(var, 0.0), VARIANT_WEIGHT)
        return weights

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every row; zeros when no query term is known."""
        out = np.zeros(len(self.ids), dtype="float32")
        if self.bm25 is None:
            return out
        for term, weight in self.query_terms(query).items():
            out += weight * self.bm25.get_scores([term])
        return out

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        scores = self.scores(query)
        if not len(scores):
            return []
        top = np.argpartition(-scores, min(k, len(scores) - 1))[:k] if len(scores) > k else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self.ids[i]), float(scores[i])) for i in top if scores[i] > 0]

    def idf(self, term: str) -> float:
        """BM25 idf of a vocabulary term (0 for unknown terms)."""
        tid = self.vocab.get(term)
        if tid is None or self.bm25 is None:
            return 0.0
        indptr = self.bm25.scores["indptr"]
        df = int(indptr[tid + 1] - indptr[tid])
        n = len(self.ids)
        return float(np.log(1 + (n - df + 0.5) / (df + 0.5)))
