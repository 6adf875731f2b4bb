"""Pure evaluation metrics: SQuAD answer scores, ranked-retrieval scores, latency percentiles, citation checks."""
from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Sequence

import numpy as np

_PUNCT = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(s: str) -> str:
    """SQuAD v1.1 normalisation: lowercase, drop ASCII punctuation, drop articles a/an/the, collapse whitespace."""
    text = s.lower()
    text = "".join(ch for ch in text if ch not in _PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _f1_single(prediction: str, gold: str) -> float:
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    num_same = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(pred_tokens)
    recall = num_same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    """SQuAD exact match: 1.0 if the normalised prediction equals any normalised gold; 0.0 for no golds."""
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(g) for g in golds))


def token_f1(prediction: str, golds: Sequence[str]) -> float:
    """SQuAD token F1 (bag-of-tokens overlap after normalisation), max over golds; 0.0 for no golds."""
    return max((_f1_single(prediction, g) for g in golds), default=0.0)


def hit_at_k(relevant: Sequence[bool], k: int) -> float:
    """1.0 if any of the top-k ranked items is a hit, else 0.0."""
    return float(any(relevant[: max(k, 0)]))


def reciprocal_rank(relevant: Sequence[bool], k: int = 10) -> float:
    """1 / (1-based rank of the first hit within the top k), or 0.0 if there is none."""
    for i, rel in enumerate(relevant[: max(k, 0)]):
        if rel:
            return 1.0 / (i + 1)
    return 0.0


def ndcg_at_k(relevant: Sequence[bool], k: int = 10) -> float:
    """Binary-gain nDCG@k with a log2(rank + 1) discount.

    The ideal ranking puts all hits first, and the number of relevant items it holds is the number of
    hits found anywhere in ``relevant`` (capped at k): we have no count of the relevant items outside
    the retrieved list, so a list whose hits are all ranked first scores 1.0, and hits ranked below k
    still lower the score. Returns 0.0 when the list has no hits.
    """
    k = max(k, 0)
    n_hits = sum(bool(r) for r in relevant)
    if n_hits == 0 or k == 0:
        return 0.0
    dcg = sum(1.0 / math.log2(i + 2) for i, rel in enumerate(relevant[:k]) if rel)
    idcg = sum(1.0 / math.log2(i + 2) for i in range(min(n_hits, k)))
    return dcg / idcg


def percentile(values: Sequence[float], q: float) -> float:
    """q-th percentile (q in [0, 100]) with linear interpolation, as numpy's default; ValueError if empty."""
    if len(values) == 0:
        raise ValueError("percentile of an empty sequence")
    if not 0 <= q <= 100:
        raise ValueError(f"q must be in [0, 100], got {q}")
    return float(np.percentile(np.asarray(values, dtype=float), q))


def citation_precision(cited_supports: Sequence[bool]) -> float | None:
    """Share of citations whose passage supports the gold answer/evidence; None when nothing was cited."""
    if len(cited_supports) == 0:
        return None
    return sum(bool(s) for s in cited_supports) / len(cited_supports)


def _collapse(text: str) -> str:
    return " ".join(text.split())


def passage_supports(
    passage_text: str,
    passage_start: int,
    passage_end: int,
    article_id_of_passage: str,
    *,
    gold_article_id: str | None,
    evidence: Sequence[str] = (),
    answers: Sequence[str] = (),
    answer_start: int | None = None,
) -> bool:
    """Whether a retrieved passage counts as a hit for a question.

    If ``gold_article_id`` is given the passage must come from that article. Then the most precise
    gold signal decides: ``answer_start`` (a character offset in the article) must fall in
    ``[passage_start, passage_end)``; else any ``evidence`` string must occur in the passage (whitespace
    collapsed on both sides); else any ``answers`` entry, SQuAD-normalised, must occur as a whole-token
    run in the normalised passage; else (article id only) being from the gold article is the hit.
    Evidence or answers that are empty after collapsing/normalising never match.
    """
    if gold_article_id is not None and article_id_of_passage != gold_article_id:
        return False
    if answer_start is not None:
        return passage_start <= answer_start < passage_end
    if evidence:
        text = _collapse(passage_text)
        return any(ev and ev in text for ev in map(_collapse, evidence))
    if answers:
        text = f" {normalize_answer(passage_text)} "
        return any(ans and f" {ans} " in text for ans in map(normalize_answer, answers))
    return gold_article_id is not None
