"""Hybrid retrieval: dense (FAISS) and BM25 candidates, fused, rescored by their best sentences, diversified."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping

import numpy as np

from .cleaning import has_broken_unicode
from .errors import InputError
from .filters import check_filters
from .filters import mask as filter_mask
from .index import Index, Snapshot
from .lexical import tokenize
from .scan import top
from .sentences import sentence_spans
from .types import Passage

MODES = ("hybrid", "dense", "bm25")
MAX_QUERY_CHARS = 2000


@dataclass(frozen=True)
class Weights:
    """Rescoring weights, chosen with `assistant eval --compare` on SQuAD dev (see README)."""

    dense: float = 1.0
    bm25: float = 0.3
    sentence: float = 0.5
    candidates: int = 50
    rescore: int = 30
    mmr: float = 0.9


def check_query(query: str) -> str:
    """The query with whitespace folded; a clear `InputError` for anything a tokenizer cannot take."""
    if not isinstance(query, str):
        raise InputError(f"The question must be text (a str), not {type(query).__name__}.")
    if not query.strip():
        raise InputError("The question is empty; type a question about the articles.")
    if has_broken_unicode(query):
        raise InputError("The question holds broken characters (invalid UTF-8 or a lone surrogate); retype it.")
    if len(query) > MAX_QUERY_CHARS:
        raise InputError(f"The question is {len(query):,} characters long; keep it under {MAX_QUERY_CHARS:,}.")
    return " ".join(query.split())


@lru_cache(maxsize=20_000)
def sentence_terms(text: str, spans: str | None = None) -> tuple[frozenset[str], ...]:
    """The terms of each sentence of a chunk; `spans` as stored at index time (JSON), else split here."""
    cuts = json.loads(spans) if spans else sentence_spans(text)
    return tuple(frozenset(t) for t in tokenize([text[s:e] for s, e in cuts]))


def sentence_coverage(text: str, weights: dict[str, float], spans: str | None = None) -> float:
    """Share of the query's idf mass found in the passage's best sentence."""
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    wanted = weights.keys()
    return max((sum(weights[t] for t in terms & wanted) / total for terms in sentence_terms(text, spans)),
               default=0.0)


def search(index: Index, query: str, k: int = 5, filters: Mapping[str, object] | None = None,
           mode: str = "hybrid", weights: Weights = Weights()) -> list[Passage]:
    query = check_query(query)
    filters = check_filters(filters)
    if mode not in MODES:
        raise InputError(f"Unknown search mode {mode!r}; use one of {', '.join(MODES)}")
    if k <= 0:
        return []
    snap: Snapshot = index.refresh()
    ids = snap.vectors.ids
    if not len(ids):
        return []
    mask = filter_mask(index, snap, filters)
    if mask is not None and not mask.any():
        return []
    qvec = index.encoder.encode([query])[0] if mode != "bm25" else None
    bm25 = snap.lexical.scores(query) if mode != "dense" else None
    rows = _candidates(snap, qvec, bm25, mask, weights.candidates if mode == "hybrid" else k)
    if mode == "dense":
        scored, fetched = sorted(((int(r), float(snap.vectors.vecs[r] @ qvec)) for r in rows), key=lambda x: -x[1]), {}
    elif mode == "bm25":
        scored, fetched = sorted(((int(r), float(bm25[r])) for r in rows if bm25[r] > 0), key=lambda x: -x[1]), {}
    else:
        scored, fetched = _rescore(index, snap, query, qvec, bm25, rows, weights)
    return _passages(index, snap, scored, k, weights, diversify=mode == "hybrid", fetched=fetched)


def _candidates(snap: Snapshot, qvec, bm25, mask, n: int) -> np.ndarray:
    """Union of the dense and BM25 top-n rows (restricted to the filter mask)."""
    pools = []
    if qvec is not None:
        pools.append(snap.vectors.top_rows(qvec, n, mask)[0])
    if bm25 is not None:
        scores = bm25 if mask is None else np.where(mask, bm25, -1.0)
        best = top(scores, n)
        pools.append(best[scores[best] > 0])
    return np.unique(np.concatenate(pools)) if pools else np.zeros(0, dtype="int64")


def _rescore(index: Index, snap: Snapshot, query: str, qvec, bm25, rows,
             weights: Weights) -> tuple[list[tuple[int, float]], dict[int, tuple]]:
    """(row, score) best first, and the store rows it read (so `_passages` need not read them again)."""
    if not len(rows):
        return [], {}
    dense = snap.vectors.vecs[rows] @ qvec
    lex = bm25[rows] / max(float(bm25[rows].max()), 1e-9)
    first = dense * weights.dense + lex * weights.bm25
    order = np.argsort(-first, kind="stable")
    rows, first = rows[order], first[order]
    texts = index.store.rows(snap.vectors.ids[rows[:weights.rescore]].tolist())
    term_w = {t: snap.lexical.idf(t) * w for t, w in snap.lexical.query_terms(query).items()}
    out = []
    for i, (r, base) in enumerate(zip(rows, first)):
        cov = 0.0
        if i < weights.rescore:
            row = texts.get(int(snap.vectors.ids[r]))
            if row is None:  # removed since `snap` was taken (see _passages)
                continue
            cov = sentence_coverage(row[5], term_w, row[10])
        out.append((int(r), float(base + weights.sentence * cov)))
    return sorted(out, key=lambda x: -x[1]), texts


def _passages(index: Index, snap: Snapshot, scored, k: int, weights: Weights, diversify: bool,
              fetched: Mapping[int, tuple]) -> list[Passage]:
    pool = scored[: max(k * 4, 20)] if diversify else scored[:k]
    wanted = [int(snap.vectors.ids[r]) for r, _ in pool]
    rows = {cid: fetched[cid] for cid in wanted if cid in fetched}
    rows.update(index.store.rows([cid for cid in wanted if cid not in fetched]))
    # A writer may have removed an article since `snap` was taken: its chunks still have vectors in the
    # snapshot but no rows any more. They are skipped, so no answer cites a passage that is gone.
    pool = [(r, s) for r, s in pool if int(snap.vectors.ids[r]) in rows]
    if diversify:
        texts = {r: " ".join(rows[int(snap.vectors.ids[r])][5].split()) for r, _ in pool}
        pool = _mmr(snap, pool, k, weights.mmr, texts)
    out = []
    for r, score in pool:
        cid, art, idx, start, end, text, title, date, source, url, _ = rows[int(snap.vectors.ids[r])]
        out.append(Passage(art, title, f"{art}#{idx}", start, end, text, round(score, 4), date, source, url))
    return out


def _mmr(snap: Snapshot, scored, k: int, lam: float, texts: Mapping[int, str] | None = None) -> list[tuple[int, float]]:
    """Maximal marginal relevance: skip near-duplicates of passages already chosen.

    A passage whose text equals a chosen one (the same story filed under two ids) comes only when nothing
    else is left: its vector can differ by the embedded title, so the similarity penalty alone keeps it.
    """
    pool = list(scored[: max(k * 4, 20)])
    if not pool:
        return []
    rows = np.array([r for r, _ in pool])
    relevance = lam * np.array([score for _, score in pool])
    vecs = snap.vectors.vecs[rows]
    sims = vecs @ vecs.T
    said = [texts[r] for r in rows] if texts else None
    chosen = [0]
    left = list(range(1, len(pool)))
    while left and len(chosen) < k:
        spoken = {said[c] for c in chosen} if said else set()
        fresh = [j for j in left if not said or said[j] not in spoken] or left
        gain = relevance[fresh] - (1 - lam) * sims[np.ix_(fresh, chosen)].max(axis=1)
        best = fresh[int(np.argmax(gain))]
        chosen.append(best)
        left.remove(best)
    return [pool[c] for c in chosen]
