"""Tests for assistant.eval.metrics: hand-computed cases plus a check against the official SQuAD v1.1 code."""
from __future__ import annotations

import math
import random
import re
import string
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.eval.metrics import (
    citation_precision,
    exact_match,
    hit_at_k,
    ndcg_at_k,
    normalize_answer,
    passage_supports,
    percentile,
    reciprocal_rank,
    token_f1,
)


# --- Reference: verbatim logic of the official SQuAD v1.1 evaluate-v1.1.py -------------------------
def ref_normalize_answer(s):
    def remove_articles(text):
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text):
        return " ".join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    def lower(text):
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s))))


def ref_f1_score(prediction, ground_truth):
    prediction_tokens = ref_normalize_answer(prediction).split()
    ground_truth_tokens = ref_normalize_answer(ground_truth).split()
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    f1 = (2 * precision * recall) / (precision + recall)
    return f1


def ref_exact_match_score(prediction, ground_truth):
    return ref_normalize_answer(prediction) == ref_normalize_answer(ground_truth)


def ref_metric_max_over_ground_truths(metric_fn, prediction, ground_truths):
    scores_for_ground_truths = []
    for ground_truth in ground_truths:
        score = metric_fn(prediction, ground_truth)
        scores_for_ground_truths.append(score)
    return max(scores_for_ground_truths)


# --- normalize_answer ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("The  Cat!", "cat"),
        ("an apple a day", "apple day"),
        ("U.S.", "us"),
        ("the theater", "theater"),
        ("Anthem of an Atheist", "anthem of atheist"),
        ("A", ""),
        ("", ""),
        ("  \t\n ", ""),
        ("rock'n'roll", "rocknroll"),
        ("the-end", "theend"),  # punctuation is deleted (not spaced) before articles go: "the" is glued on
        ("1990\u20131995", "1990\u20131995"),  # en dash is not in string.punctuation: kept
        ("war \u2014 the peace", "war \u2014 peace"),  # em dash kept as its own token
        ("\u201cQuoted\u201d", "\u201cquoted\u201d"),  # curly quotes kept too
        ("Caf\u00e9 \u00c9CLAIR", "caf\u00e9 \u00e9clair"),
        ("$1,000.50", "100050"),
    ],
)
def test_normalize_answer(raw, expected):
    assert normalize_answer(raw) == expected
    assert ref_normalize_answer(raw) == expected


# --- exact_match / token_f1 ------------------------------------------------------------------------
def test_exact_match_max_over_golds():
    assert exact_match("The Eiffel Tower", ["Eiffel tower.", "Paris"]) == 1.0
    assert exact_match("Paris", ["the Eiffel Tower", "paris!"]) == 1.0
    assert exact_match("Paris, France", ["Paris", "France"]) == 0.0
    assert exact_match("anything", []) == 0.0


def test_token_f1_partial_overlap_worked():
    # pred tokens: [barack, obama, president]; gold tokens: [president, obama]; common = 2
    # precision = 2/3, recall = 2/2 = 1, F1 = 2 * (2/3) * 1 / (2/3 + 1) = 0.8
    assert token_f1("Barack Obama, the president", ["President Obama"]) == pytest.approx(0.8)


def test_token_f1_counts_duplicates_via_counter_intersection():
    # pred [new, new, york]; gold [new, york]; common = min counts = 2 -> P = 2/3, R = 1, F1 = 0.8
    assert token_f1("new new york", ["New York"]) == pytest.approx(0.8)


def test_token_f1_max_over_golds_and_edge_cases():
    # vs "york city": common 1, P = 1/2, R = 1/2 -> 0.5; vs "new york": 1.0
    assert token_f1("New York", ["York City", "new york"]) == 1.0
    assert token_f1("New York", ["York City"]) == pytest.approx(0.5)
    assert token_f1("cat", ["dog"]) == 0.0
    assert token_f1("the", ["a"]) == 0.0  # both normalise to empty: official F1 is 0
    assert token_f1("cat", []) == 0.0


# --- comparison with the official code on generated strings --------------------------------------
_PIECES = [
    "the", "The", "a", "A", "an", "An", "theater", "another", "cat", "Cat", "U.S.", "new", "york",
    "don't", "1,000", "\u2013", "\u2014", "caf\u00e9", "\u00c9T\u00c9", "!", "?", ".", ",", "(a)", "-the-",
    "  ", "\t", "\n", "42", "x", "\u00df",
]


def _random_strings(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts = rng.choices(_PIECES, k=rng.randint(0, 8))
        out.append("".join(p + rng.choice(["", " ", " ", "  "]) for p in parts))
    return out


_SEEDED = _random_strings(30, seed=1234)


@pytest.mark.parametrize("text", _SEEDED)
def test_normalize_matches_official_on_seeded_strings(text):
    assert normalize_answer(text) == ref_normalize_answer(text)


@pytest.mark.parametrize(("pred", "gold"), list(zip(_SEEDED, _SEEDED[1:] + _SEEDED[:1])))
def test_f1_em_match_official_on_seeded_pairs(pred, gold):
    golds = [gold, pred[::-1]]
    assert token_f1(pred, golds) == pytest.approx(ref_metric_max_over_ground_truths(ref_f1_score, pred, golds))
    assert exact_match(pred, golds) == float(ref_metric_max_over_ground_truths(ref_exact_match_score, pred, golds))


_text = st.lists(
    st.one_of(st.sampled_from(_PIECES), st.text(max_size=6)), max_size=8
).map(" ".join)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(pred=_text, golds=st.lists(_text, min_size=1, max_size=3))
def test_matches_official_property(pred, golds):
    assert normalize_answer(pred) == ref_normalize_answer(pred)
    assert token_f1(pred, golds) == pytest.approx(ref_metric_max_over_ground_truths(ref_f1_score, pred, golds))
    assert exact_match(pred, golds) == float(ref_metric_max_over_ground_truths(ref_exact_match_score, pred, golds))


# --- retrieval metrics ----------------------------------------------------------------------------
RELEVANT = [False, True, False, True]


def test_hit_at_k():
    assert hit_at_k(RELEVANT, 1) == 0.0
    assert hit_at_k(RELEVANT, 2) == 1.0
    assert hit_at_k(RELEVANT, 10) == 1.0
    assert hit_at_k(RELEVANT, 0) == 0.0
    assert hit_at_k([], 5) == 0.0


def test_reciprocal_rank():
    assert reciprocal_rank(RELEVANT) == 0.5
    assert reciprocal_rank(RELEVANT, k=1) == 0.0
    assert reciprocal_rank([True]) == 1.0
    assert reciprocal_rank([False] * 3 + [True], k=4) == 0.25
    assert reciprocal_rank([False] * 10 + [True]) == 0.0  # first hit at rank 11 > k = 10
    assert reciprocal_rank([]) == 0.0


def test_ndcg_worked_example():
    # DCG = 1/log2(3) + 1/log2(5); two hits found -> IDCG = 1/log2(2) + 1/log2(3)
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert ndcg_at_k(RELEVANT, 10) == pytest.approx(expected)
    assert ndcg_at_k(RELEVANT) == pytest.approx(0.6509209298071326)


def test_ndcg_edge_cases():
    assert ndcg_at_k([False, False]) == 0.0
    assert ndcg_at_k([]) == 0.0
    assert ndcg_at_k([True, True, False]) == 1.0
    assert ndcg_at_k([True], k=0) == 0.0
    # k=2 on RELEVANT: DCG = 1/log2(3); ideal holds min(2 hits, k=2) = 2 -> IDCG = 1 + 1/log2(3)
    assert ndcg_at_k(RELEVANT, 2) == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    # hit below k still counts in the ideal: DCG = 1, IDCG = 1 + 1/log2(3)
    assert ndcg_at_k([True, False, True], k=1) == pytest.approx(1.0)
    assert ndcg_at_k([True, False, True], k=2) == pytest.approx(1 / (1 + 1 / math.log2(3)))


# --- percentile ------------------------------------------------------------------------------------
def test_percentile_hand_computed():
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    # p95 of 1..4: position 0.95 * 3 = 2.85 -> 3 + 0.85 * (4 - 3)
    assert percentile([4.0, 1.0, 3.0, 2.0], 95) == pytest.approx(3.85)
    assert percentile([7.0], 95) == 7.0
    assert percentile([1.0, 9.0], 0) == 1.0
    assert percentile([1.0, 9.0], 100) == 9.0


@pytest.mark.parametrize("q", [0, 5, 25, 50, 90, 95, 99, 100])
def test_percentile_matches_numpy(q):
    values = np.random.default_rng(0).exponential(0.2, size=101).tolist()
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_percentile_rejects_bad_input():
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


# --- citation_precision ----------------------------------------------------------------------------
def test_citation_precision():
    assert citation_precision([]) is None
    assert citation_precision([True, False, True, True]) == 0.75
    assert citation_precision([False]) == 0.0
    assert citation_precision([True]) == 1.0


# --- passage_supports ------------------------------------------------------------------------------
PASSAGE = "The Eiffel   Tower was\ncompleted in 1889 in Paris."


def _supports(**kw):
    return passage_supports(PASSAGE, 100, 150, "art1", **kw)


def test_passage_supports_wrong_article_is_never_a_hit():
    assert not _supports(gold_article_id="art2", answer_start=120)
    assert not _supports(gold_article_id="art2", evidence=["completed in 1889"])
    assert not _supports(gold_article_id="art2", answers=["1889"])
    assert not _supports(gold_article_id="art2")


def test_passage_supports_answer_start_span():
    assert _supports(gold_article_id="art1", answer_start=100)
    assert _supports(gold_article_id="art1", answer_start=149)
    assert not _supports(gold_article_id="art1", answer_start=150)  # end is exclusive
    assert not _supports(gold_article_id="art1", answer_start=99)
    assert _supports(gold_article_id=None, answer_start=120)
    # answer_start takes precedence over evidence/answers
    assert not _supports(gold_article_id="art1", answer_start=10, evidence=["Eiffel"], answers=["Paris"])


def test_passage_supports_evidence_with_whitespace_collapsed():
    assert _supports(gold_article_id="art1", evidence=["Eiffel Tower was completed"])
    assert _supports(gold_article_id=None, evidence=["nope", "Tower   was \t completed"])
    assert not _supports(gold_article_id="art1", evidence=["eiffel tower"])  # case-sensitive substring
    assert not _supports(gold_article_id="art1", evidence=["completed in 1890"])
    assert not _supports(gold_article_id="art1", evidence=["   "])  # blank evidence never matches
    # evidence takes precedence over answers
    assert not _supports(gold_article_id="art1", evidence=["absent"], answers=["Paris"])


def test_passage_supports_normalised_answers():
    assert _supports(gold_article_id="art1", answers=["paris!"])
    assert _supports(gold_article_id="art1", answers=["the eiffel tower"])
    assert _supports(gold_article_id=None, answers=["London", "1889"])
    assert not _supports(gold_article_id="art1", answers=["London"])
    assert not _supports(gold_article_id="art1", answers=["Eiff"])  # whole tokens only
    assert not _supports(gold_article_id="art1", answers=["The"])  # normalises to empty


def test_passage_supports_article_only():
    assert _supports(gold_article_id="art1")
    assert not _supports(gold_article_id=None)  # no gold signal at all
