"""BM25 over chunks (bm25s, Snowball stemming, English stopwords), updated in place of rebuilt, name-aware.

Each generation keeps its chunks' token ids and the corpus's capitalisation counts beside the bm25s files, so a
write tokenises only the chunks it adds: at 100k chunks an add went from ~25 s (re-reading, re-tokenising and
re-counting every chunk) to the few seconds bm25s needed to recompute its score matrix, which `FlatBM25` now
computes in numpy, several times faster (docs/speed.md).
"""
from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import bm25s
import numpy as np
from bm25s.tokenization import Tokenized

from ..text.names import CaseCounts, Variants, question_names
from ..text.tokens import tokenize
from .scan import top

logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets itself to DEBUG on import

VARIANT_WEIGHT = 0.7


class FlatBM25(bm25s.BM25):
    """bm25s, whose index is built from one flat token array in numpy (`build_index_from_ids`, the step bm25s
    documents for overriding) where bm25s counts and scores row by row in Python: the bulk of every write's time as
    an index grows (50k rows: 2.1 s → 0.3 s). The arrays are `BM25.index`'s own, Lucene scores in CSC by term, rows
    ascending (`tests/test_lexical.py` compares them bit for bit); searching, saving and loading are bm25s's."""

    def build_index_from_ids(self, unique_token_ids: list[int], corpus_token_ids: tuple[np.ndarray, np.ndarray],
                             show_progress: bool = True, leave_progress: bool = False) -> dict:
        flat, offsets = corpus_token_ids  # `index` passes `Tokenized.ids` through: here (token ids, row offsets)
        if self.method != "lucene":
            raise ValueError(f"FlatBM25 scores like bm25s's 'lucene' method, not {self.method!r}")
        lengths = np.diff(offsets)
        n_rows, n_terms = len(lengths), len(unique_token_ids)
        # (term, row) keys sorted in place and counted by their runs: a few bytes per token at the writer's peak
        key = np.asarray(flat).astype("int64")
        key *= n_rows
        key += np.repeat(np.arange(n_rows, dtype="int32"), lengths)
        key.sort()
        first = np.empty(len(key), dtype=bool)  # where a run of one (term, row) key starts
        first[:1] = True
        np.not_equal(key[1:], key[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        del first
        tf = np.diff(np.append(starts, len(key))).astype(self.dtype)
        term = key[starts]
        del key, starts
        rows = (term % n_rows).astype(self.int_dtype)
        term //= n_rows
        df = np.bincount(term, minlength=n_terms)
        idf = np.log(1 + (n_rows - df + 0.5) / (df + 0.5)).astype(self.dtype)
        # bm25s's float64 arithmetic (its per-row length factor, then per term), so the float32 scores are the same
        mean = lengths.mean() if len(tf) else 1.0  # rows of stopwords only: no score to compute
        row_norm = self.k1 * ((1 - self.b) + self.b * lengths.astype("float64") / mean)
        score = row_norm[rows]
        score += tf
        np.divide(tf, score, out=score)
        score *= idf[term]
        indptr = np.zeros(n_terms + 1, dtype="int64")
        np.cumsum(df, out=indptr[1:])
        self.nonoccurrence_array = None  # only bm25s's BM25L and BM25+ have one
        return {"data": score.astype(self.dtype), "indices": rows, "indptr": indptr, "num_docs": n_rows}


def indexed(flat: np.ndarray, offsets: np.ndarray, vocab: dict[str, int]) -> bm25s.BM25:
    """A bm25s index of the rows `flat[offsets[i]:offsets[i + 1]]`, token ids into `vocab`."""
    bm25 = FlatBM25()
    bm25.index(Tokenized(ids=(flat, offsets), vocab=vocab), create_empty_token=False, show_progress=False)
    return bm25


class Lexical:
    """A persisted BM25 index whose rows map to chunk ids.

    `tokens`/`offsets` hold each row's token ids (into `terms`) and `counts` the capitalisation counts behind
    `names`; they exist so that `updated` never re-reads the corpus. An index written before they were kept has
    none (`updatable` is False) and is rebuilt from its texts once, on its next write.
    """

    def __init__(self, bm25: bm25s.BM25 | None, ids: np.ndarray, names: set[str], tokens: np.ndarray | None = None,
                 offsets: np.ndarray | None = None, counts_path: Path | None = None, counts: CaseCounts | None = None):
        self.bm25, self.ids, self.names = bm25, ids, names
        self.vocab: dict[str, int] = bm25.vocab_dict if bm25 is not None else {}
        self.tokens = tokens if tokens is not None else np.zeros(0, dtype="int32")
        self.offsets = offsets if offsets is not None else np.zeros(len(ids) + 1, dtype="int64")
        self._counts, self._counts_path = counts, counts_path
        self.updatable = bm25 is None or (tokens is not None and (counts is not None or counts_path is not None))
        self.variants = Variants(names, self.vocab)

    @classmethod
    def build(cls, texts: Sequence[str], ids: Sequence[int]) -> Lexical:
        return cls(None, np.zeros(0, dtype="int64"), set()).updated(set(), texts, ids, [])

    @cached_property
    def counts(self) -> CaseCounts:
        """Read on first use: only a writer needs them."""
        if self._counts is not None:
            return self._counts
        if self._counts_path is None:
            return CaseCounts()
        return CaseCounts.from_json(json.loads(self._counts_path.read_text()))

    @cached_property
    def terms(self) -> list[str]:
        terms = [""] * len(self.vocab)
        for term, tid in self.vocab.items():
            terms[tid] = term
        return terms

    def updated(self, remove: set[int], texts: Sequence[str], ids: Sequence[int],
                removed_texts: Sequence[str]) -> Lexical:
        """A new `Lexical` without the rows of chunk ids `remove` (whose texts are `removed_texts`) and with
        `texts` added as rows `ids`; `self` stays searchable meanwhile."""
        if not self.updatable:
            raise ValueError("this BM25 generation keeps no token ids; rebuild it with Lexical.build")
        keep = ~np.isin(self.ids, np.fromiter(remove, dtype="int64")) if remove else np.ones(len(self.ids), bool)
        lengths = np.diff(self.offsets)
        kept = self.tokens[np.repeat(keep, lengths)] if remove else self.tokens
        terms = list(self.terms)
        index = dict(self.vocab)
        new = [[index.setdefault(t, len(index)) for t in doc] for doc in tokenize(texts)]
        terms += list(index)[len(terms):]
        flat = np.concatenate([kept, np.fromiter((t for doc in new for t in doc), dtype="int32")])
        lengths = np.concatenate([lengths[keep], [len(doc) for doc in new]]).astype("int64")
        row_ids = np.concatenate([self.ids[keep], np.asarray(ids, dtype="int64")])
        counts = CaseCounts(self.counts.upper.copy(), self.counts.total.copy())
        counts.add(removed_texts, -1).add(texts)
        if not len(row_ids):
            return Lexical(None, row_ids, set(), counts=counts)
        vocab = index  # with nothing removed every term is still used, and numbered as a fresh build numbers it
        if remove:  # only the terms some row still uses, renumbered: the same terms (and scores) as a fresh build
            live, flat = np.unique(flat, return_inverse=True)
            flat = flat.astype("int32")
            vocab = {terms[t]: i for i, t in enumerate(live.tolist())}
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        return Lexical(indexed(flat, offsets, vocab), row_ids, counts.names(), flat, offsets, counts=counts)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "ids.npy", self.ids)
        np.save(folder / "tokens.npy", self.tokens)
        np.save(folder / "offsets.npy", self.offsets)
        (folder / "names.json").write_text(json.dumps(sorted(self.names)))
        (folder / "case.json").write_text(json.dumps(self.counts.to_json()))
        if self.bm25 is not None:
            self.bm25.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> Lexical:
        ids = np.load(folder / "ids.npy")
        names = set(json.loads((folder / "names.json").read_text()))
        bm25 = bm25s.BM25.load(str(folder), show_progress=False) if len(ids) else None
        if not (folder / "tokens.npy").exists():  # written before token ids were kept
            return cls(bm25, ids, names)
        tokens = np.load(folder / "tokens.npy", mmap_mode="r")
        offsets = np.load(folder / "offsets.npy")
        return cls(bm25, ids, names, tokens, offsets, counts_path=folder / "case.json")

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
        # bm25s's precomputed term-document scores, summed with the query's weights (a term's rows are unique,
        # so a fancy-indexed add is exact); `get_scores` per term allocated and zeroed a full array each time.
        data, indices, indptr = (self.bm25.scores[k] for k in ("data", "indices", "indptr"))
        for term, weight in self.query_terms(query).items():
            tid = self.vocab[term]
            start, end = indptr[tid], indptr[tid + 1]
            out[indices[start:end]] += weight * data[start:end]
        return out

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """(chunk id, score) of the k best rows with any query term, best first."""
        scores = self.scores(query)
        return [(int(self.ids[i]), float(scores[i])) for i in top(scores, k) if scores[i] > 0]

    def term_weights(self, query: str) -> dict[str, float]:
        """The query's terms weighted by idf (variants at `VARIANT_WEIGHT`): what sentence coverage is measured in."""
        return {t: self.idf(t) * w for t, w in self.query_terms(query).items()}

    def answer_weights(self, question: str) -> dict[str, float]:
        """`term_weights`, plus the names the question gives that the archive never uses, at the idf of an unseen term.

        A name no article holds, in any spelling, is one no sentence can cover; left out (its idf is 0), it would
        leave the rest of the question to decide, so "What is the capital of Peru?" was answered "capital" in full
        by any article that says the word, once the archive was large enough to hold it. Ordinary words the archive
        lacks stay out: a paraphrase ("What kind of ...") does not make a question unanswerable.
        """
        weights = self.term_weights(question)
        if self.bm25 is None:
            return weights
        unseen = float(np.log(1 + (len(self.ids) + 0.5) / 0.5))  # the BM25 idf of a term no row holds
        for term in question_names(question):
            if term not in self.vocab and term not in weights and not self.variants(term):
                weights[term] = unseen
        return weights

    def idf(self, term: str) -> float:
        """BM25 idf of a vocabulary term (0 for unknown terms)."""
        tid = self.vocab.get(term)
        if tid is None or self.bm25 is None:
            return 0.0
        indptr = self.bm25.scores["indptr"]
        df = int(indptr[tid + 1] - indptr[tid])
        n = len(self.ids)
        return float(np.log(1 + (n - df + 0.5) / (df + 0.5)))
