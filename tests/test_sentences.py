"""Sentence spans: exact offsets, headings alone, hard-wrapped newswire read as running text, titles kept."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.text.sentences import blocks, sentence_spans

WRAPPED = """Dean Foods Co expects earnings for the
fourth quarter ending May 30 to exceed those of the same
year-ago period, Chairman Kenneth Douglas told analysts.
In the fiscal 1986 fourth quarter the food processor
reported earnings of 40 cts a share."""


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


def test_offsets_are_exact_and_stripped(seed_article):
    text = seed_article.text
    spans = sentence_spans(text)
    assert len(spans) >= 16
    for (s, e), (s2, _) in zip(spans, spans[1:]):
        assert s < e <= s2
    for s, e in spans:
        assert text[s:e] == text[s:e].strip() and text[s:e]


def test_seed_headline_question_stands_alone(seed_article):
    said = sentences(seed_article.text)
    assert "Is Turkey sending troops?" in said
    assert any(s.startswith("Dalaland rules out that Turkey will send soldiers") for s in said)
    assert any(s.startswith("He points out that Turkey lacks a military base near Libya") for s in said)


def test_hard_wrapped_lines_are_one_sentence():
    assert sentences(WRAPPED) == [
        "Dean Foods Co expects earnings for the\nfourth quarter ending May 30 to exceed those of the same\n"
        "year-ago period, Chairman Kenneth Douglas told analysts.",
        "In the fiscal 1986 fourth quarter the food processor\nreported earnings of 40 cts a share.",
    ]


def test_headings_and_paragraphs_stay_apart():
    text = "Turkey Ratifies Libya Deal\nThe parliament voted on Saturday. It was close.\n\nTripoli Under Attack\nHaftar struck."
    assert sentences(text) == ["Turkey Ratifies Libya Deal", "The parliament voted on Saturday.", "It was close.",
                               "Tripoli Under Attack", "Haftar struck."]
    assert [text[s:e] for s, e in blocks(text)] == ["Turkey Ratifies Libya Deal",
                                                    "The parliament voted on Saturday. It was close.",
                                                    "Tripoli Under Attack", "Haftar struck."]


@pytest.mark.parametrize("text, expected", [
    ("Gen. Khalifa Hifter, who leads the LNA, said no. The U.N. said yes.",
     ["Gen. Khalifa Hifter, who leads the LNA, said no.", "The U.N. said yes."]),
    ("He met Maj. Gen. Khalifa Haftar on Jan. 5. Then he left.",
     ["He met Maj. Gen. Khalifa Haftar on Jan. 5.", "Then he left."]),
    ('"This is certification of incompetence," Hess said. "We are done." He left.',
     ['"This is certification of incompetence," Hess said.', '"We are done."', "He left."]),
    ("The company, Acme Inc., earned 40 cts a share vs. 35 cts. Shares rose 1.5 pct.",
     ["The company, Acme Inc., earned 40 cts a share vs. 35 cts.", "Shares rose 1.5 pct."]),
])
def test_news_abbreviations(text, expected):
    assert sentences(text) == expected


@pytest.mark.parametrize("text", ["", " ", "\n\n", "\t \n "])
def test_blank_text_has_no_sentences(text):
    assert sentence_spans(text) == ()


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400))
def test_any_text_gives_ordered_exact_spans(text):
    spans = sentence_spans(text)
    end = 0
    for s, e in spans:
        assert end <= s < e <= len(text)
        assert text[s:e].strip() == text[s:e]
        end = e
    covered = "".join(text[s:e] for s, e in spans)
    assert "".join(covered.split()) == "".join(text.split())  # every visible character is in a sentence


def test_characters_blingfire_drops_stay_in_the_sentence():
    assert sentences("0\n\x1b0") == ["0", "\x1b0"]
