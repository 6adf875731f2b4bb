"""Fitting the reader's probability and bars on held-out paragraphs, the way the product uses them.

The product reads the ~24 sentences of the top 4 retrieved passages and refuses when the best is below a bar.
"Halves" mimics that: even-numbered questions are answerable (their own paragraph plus the 3 closest others by
BM25), odd-numbered ones are not (the 4 closest paragraphs other than theirs that do not mention an answer).
The same groups serve for Platt scaling (so the probability carries the product's ~1-in-24 prior), the
refusal bar and, on test, the benchmark.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .data import Bm25, Paragraph, Question, gold_index


@dataclass
class Group:
    question: Question
    answerable: bool
    rows: list[tuple[str, str, str, str]]  # (question, sentence, title, before)
    labels: list[int]  # 1 gold sentence, 0 not answering, -1 ambiguous (mentions an answer elsewhere)
    gold_para: list[int]  # indices in rows of the gold paragraph's sentences (empty when unanswerable)


def halves(paras: dict[str, Paragraph], questions: Sequence[Question], para_ids: Sequence[str],
           corpus_ids: Sequence[str], k: int = 4) -> list[Group]:
    """One group per question on `para_ids`, retrieving among `corpus_ids`."""
    ids = set(para_ids)
    qs = [q for q in questions if q.article_id in ids and gold_index(paras[q.article_id], q) is not None]
    corpus = [paras[p] for p in corpus_ids]
    hits = Bm25([p.text for p in corpus]).top([q.question for q in qs], 3 * k + 8)
    groups = []
    for n, (q, top) in enumerate(zip(qs, hits)):
        gold = paras[q.article_id]
        others = [corpus[i] for i in top if corpus[i].id != gold.id]
        g = Group(q, n % 2 == 0, [], [], [])
        if g.answerable:
            gi = gold_index(gold, q)[0]  # type: ignore[index]
            for i, (s, b, _, _) in enumerate(gold.sentences()):
                g.gold_para.append(len(g.rows))
                g.rows.append((q.question, s, gold.title, b))
                g.labels.append(1 if i == gi else (-1 if q.mentioned_in(s) else 0))
            picked = others[:k - 1]
        else:
            picked = [p for p in others if not q.mentioned_in(p.text)][:k]
        for p in picked:
            for s, b, _, _ in p.sentences():
                g.rows.append((q.question, s, p.title, b))
                g.labels.append(-1 if q.mentioned_in(s) else 0)
        groups.append(g)
    return groups


def fit_platt(logits: np.ndarray, labels: np.ndarray, iters: int = 100) -> tuple[float, float]:
    """(temperature, bias) minimising log loss of sigmoid(logit / T + b): Newton steps on (1/T, b)."""
    x, y = logits.astype(np.float64), labels.astype(np.float64)
    w = np.array([1.0, 0.0])
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(w[0] * x + w[1])))
        grad = np.array([((p - y) * x).sum(), (p - y).sum()])
        r = p * (1 - p) + 1e-9
        hess = np.array([[(r * x * x).sum(), (r * x).sum()], [(r * x).sum(), r.sum()]]) + 1e-6 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return float(1 / max(w[0], 1e-6)), float(w[1])


def refusal_rates(best: np.ndarray, answerable: np.ndarray, t: float) -> tuple[float, float]:
    """(false refusals among answerable, answered among unanswerable) at bar `t`."""
    fr = float((best[answerable] < t).mean()) if answerable.any() else 0.0
    ua = float((best[~answerable] >= t).mean()) if (~answerable).any() else 0.0
    return fr, ua


def fit_threshold(best: np.ndarray, answerable: np.ndarray) -> float:
    """The bar that minimises the larger of the two error rates (their balance point)."""
    cands = np.unique(np.concatenate([best, [0.5]]))
    scores = [(max(refusal_rates(best, answerable, t)), abs(np.subtract(*refusal_rates(best, answerable, t))), t)
              for t in cands]
    return float(min(scores)[2])


def fit_span_threshold(span_prob: np.ndarray, good: np.ndarray) -> float:
    """The span probability above which a short answer is more likely good (F1 >= 0.5) than not.

    A bold short answer is a claim the user reads first: show it when it is likelier right than wrong. P(good)
    is a logistic fit on the span probability's logit, so the bar is where that fit crosses one half.
    """
    if good.all() or not good.any():
        return 0.0 if good.all() else 1.0
    p = np.clip(span_prob, 1e-6, 1 - 1e-6)
    t, b = fit_platt(np.log(p / (1 - p)), good.astype(float))
    return float(1 / (1 + np.exp(b * t)))


def reliability(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> list[dict]:
    """Per probability decile: count, mean predicted, observed positive rate."""
    out = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        m = (probs >= lo) & ((probs < hi) if b < bins - 1 else (probs <= hi))
        out.append({"bin": f"{lo:.1f}-{hi:.1f}", "n": int(m.sum()),
                    "predicted": float(probs[m].mean()) if m.any() else None,
                    "observed": float(labels[m].mean()) if m.any() else None})
    return out
