"""Words and stems: the one tokenizer BM25, name variants and sentence scoring share."""
from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import Stemmer

from .stopwords import STOPWORDS

WORD = re.compile(r"(?u)\b\w\w+\b")


@lru_cache(maxsize=1)
def stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """bm25s's own recipe (lowercase, `\\w\\w+` words, stopwords out, Snowball stems), without its per-call overhead."""
    stem = stemmer().stemWords
    return [stem([w for w in WORD.findall(t.lower()) if w not in STOPWORDS]) for t in texts]
