"""Hybrid retrieval: dense (FAISS) and BM25 candidates, fused, rescored by their best sentences, diversified."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..index import ChunkRow, Index, Snapshot
from ..index.scan import top
from ..text.terms import best_sentence_coverage
from ..types import Passage
from ..validate import check_k
from .filters import check_filters
from .filters import mask as filter_mask
from .mmr import mmr
from .query import check_query

MODES = ("hybrid", "dense", "bm25")


@dataclass(frozen=True)
class Weights:
    """Rescoring weights, chosen with `assistant eval --compare` on SQuAD dev (see README)."""

    dense: float = 1.0
    bm25: float = 0.3
    sentence: float = 0.5
    candidates: int = 50
    rescore: int = 30
    mmr: float = 0.9


def search(index: Index, query: str, k: int = 5, filters: Mapping[str, object] | None = None,
           mode: str = "hybrid", weights: Weights = Weights()) -> list[Passage]:
    """The k best passages for `query` among those `filters` allow (see `Weights` for how they are ranked)."""
    query = check_query(query)
    filters = check_filters(filters)
    k = check_k(k)
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
    fetched: dict[int, ChunkRow] = {}
    if mode == "dense":
        scored = sorted(((int(r), float(snap.vectors.vecs[r] @ qvec)) for r in rows), key=lambda x: -x[1])
    elif mode == "bm25":
        assert bm25 is not None
        scored = sorted(((int(r), float(bm25[r])) for r in rows if bm25[r] > 0), key=lambda x: -x[1])
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
             weights: Weights) -> tuple[list[tuple[int, float]], dict[int, ChunkRow]]:
    """(row, score) best first, and the store rows it read (so `_passages` need not read them again)."""
    if not len(rows):
        return [], {}
    dense = snap.vectors.vecs[rows] @ qvec
    lex = bm25[rows] / max(float(bm25[rows].max()), 1e-9)
    first = dense * weights.dense + lex * weights.bm25
    order = np.argsort(-first, kind="stable")
    rows, first = rows[order], first[order]
    texts = index.store.rows(snap.vectors.ids[rows[:weights.rescore]].tolist())
    term_w = snap.lexical.term_weights(query)
    out = []
    for i, (r, base) in enumerate(zip(rows, first)):
        cov = 0.0
        if i < weights.rescore:
            row = texts.get(int(snap.vectors.ids[r]))
            if row is None:  # removed since `snap` was taken (see _passages)
                continue
            cov = best_sentence_coverage(row.text, term_w, row.sentences)
        out.append((int(r), float(base + weights.sentence * cov)))
    return sorted(out, key=lambda x: -x[1]), texts


def _passages(index: Index, snap: Snapshot, scored, k: int, weights: Weights, diversify: bool,
              fetched: Mapping[int, ChunkRow]) -> list[Passage]:
    pool = scored[: max(k * 4, 20)]  # more than k: syndicated copies of one story are dropped below
    wanted = [int(snap.vectors.ids[r]) for r, _ in pool]
    rows = {cid: fetched[cid] for cid in wanted if cid in fetched}
    rows.update(index.store.rows([cid for cid in wanted if cid not in fetched]))
    # A writer may have removed an article since `snap` was taken: its chunks still have vectors in the
    # snapshot but no rows any more. They are skipped, so no answer cites a passage that is gone.
    pool = [(r, s) for r, s in pool if int(snap.vectors.ids[r]) in rows]
    pool, also_in = _one_article_per_story(index, snap, pool, rows)
    if diversify:
        texts = {r: " ".join(rows[int(snap.vectors.ids[r])].text.split()) for r, _ in pool}
        pool = mmr(snap.vectors.vecs, pool, k, weights.mmr, texts)
    out = []
    for r, score in pool[:k]:
        row = rows[int(snap.vectors.ids[r])]
        out.append(Passage(row.article_id, row.title, f"{row.article_id}#{row.idx}", row.start, row.end, row.text,
                           round(score, 4), row.date, row.source, row.url, also_in.get(row.article_id, [])))
    return out


def _one_article_per_story(index: Index, snap: Snapshot, pool: list[tuple[int, float]],
                           rows: Mapping[int, ChunkRow]) -> tuple[list[tuple[int, float]], dict[str, list[str]]]:
    """`pool` without the passages of a syndicated copy of a better-ranked article (same story group), and for
    each kept article the sources (else ids) of its story's other articles ("also in")."""
    article = {r: rows[int(snap.vectors.ids[r])].article_id for r, _ in pool}
    others = index.store.groups(list(article.values()))
    if not others:
        return pool, {}
    kept: list[tuple[int, float]] = []
    shown: set[str] = set()
    hidden: set[str] = set()
    for r, s in pool:
        a = article[r]
        if a in hidden:
            continue
        if a not in shown:
            shown.add(a)
            hidden.update(o for o, _ in others.get(a, []) if o not in shown)
        kept.append((r, s))
    also = {a: list(dict.fromkeys(src or o for o, src in others[a])) for a in shown if a in others}
    return kept, also
