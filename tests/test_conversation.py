"""Follow-up questions: `condense` unit tests and a three-turn conversation over the real index."""
from __future__ import annotations

import re

import pytest
from conftest import SEED_ID

from assistant.answer.conversation import condense, content_words, is_follow_up, names


def turn(role: str, content: str) -> dict:
    return {"role": role, "content": content}


# --- condense and its helpers ----------------------------------------------------------------------
def test_no_history_returns_the_question():
    assert condense("And who sends him mercenaries?", []) == "And who sends him mercenaries?"


def test_standalone_questions_are_left_alone():
    history = [turn("user", "Who gave Haftar his drones?"), turn("assistant", "The United Arab Emirates [1].")]
    q = "Which company provides mercenaries to Haftar's forces?"
    assert condense(q, history) == q


def test_pronoun_follow_up_carries_the_name():
    history = [turn("user", "Who gave Haftar his drones?"),
               turn("assistant", "According to the French Press Agency, forces loyal to Haftar ... the United Arab Emirates [1]")]
    out = condense("And who sends him mercenaries?", history)
    assert out.startswith("And who sends him mercenaries? (")
    assert "Haftar" in out


def test_it_follow_up_carries_topic_and_reply_names():
    history = [
        turn("user", "Who gave Haftar his drones?"),
        turn("assistant", "Forces loyal to Haftar received drones from the United Arab Emirates. [1]"),
        turn("user", "And who sends him mercenaries?"),
        turn("assistant", "In the field, Haftar’s forces have been receiving mercenary support from Russian security "
                          "company Wagner, but Moscow denies this. [1]"),
    ]
    out = condense("Does Moscow admit it?", history)
    assert out.startswith("Does Moscow admit it? (")
    extra = out[len("Does Moscow admit it? ("):-1].split()
    assert "Wagner" in extra and "Haftar" in extra
    assert "mercenaries" in extra
    assert "Moscow" not in extra, "words the question already has are not repeated"
    assert len(extra) <= 8
    assert "[1]" not in out


def test_history_accepts_openai_style_extras():
    history = [{"role": "system", "content": "You are helpful."},
               {"role": "user", "content": "Who gave Haftar his drones?", "name": "alice"},
               {"role": "assistant", "content": None}]
    assert "Haftar" in condense("Who sends him mercenaries?", history)


def test_condense_uses_the_latest_topic():
    history = [turn("user", "What did the Turkish Parliament ratify?"), turn("assistant", "An agreement [1]"),
               turn("user", "Who gave Haftar his drones?"), turn("assistant", "The United Arab Emirates [1]")]
    out = condense("And who sends him mercenaries?", history)
    assert "Haftar" in out and "Parliament" not in out


@pytest.mark.parametrize("question, expected", [
    ("And who sends him mercenaries?", True),
    ("Does Moscow admit it?", True),
    ("What about Egypt?", True),
    ("Why?", True),
    ("Who gave Haftar his drones?", False),
    ("Which company provides mercenaries to Haftar's forces?", False),
])
def test_is_follow_up(question, expected):
    assert is_follow_up(question) is expected


def test_names_skip_sentence_starts_and_stopwords():
    assert names("Who gave Haftar his drones?") == ["Haftar"]
    assert names("The Turkish Parliament ratified it. Moscow denies this. Wagner’s men stay.") == ["Turkish", "Parliament"]
    assert names("Haftar’s forces and Haftar's allies met Sarraj") == ["Haftar", "Sarraj"]  # not the first word
    assert len(names("A B Cc Dd Ee Ff Gg Hh Ii", limit=3)) == 3


def test_content_words():
    assert content_words("Who gave Haftar his drones? Haftar again!") == ["Haftar", "drones"]


# --- the three-turn conversation over the real index ----------------------------------------------
def test_three_turn_follow_up(assistant):
    history: list[dict] = []

    def ask(question: str):
        ans = assistant.ask(question, history)
        history.extend([turn("user", question), turn("assistant", ans.text)])
        return ans

    first = ask("Who gave Haftar his drones?")
    assert not first.refused
    assert any("drones from its ally the United Arab Emirates" in c.quote for c in first.citations)
    assert first.condensed_question == "Who gave Haftar his drones?"

    second = ask("And who sends him mercenaries?")
    assert not second.refused
    assert "Haftar" in second.condensed_question
    assert any("Russian security company Wagner" in c.quote for c in second.citations), second.text
    assert "Wagner" in second.text

    third = ask("Does Moscow admit it?")
    assert not third.refused
    assert third.question == "Does Moscow admit it?"
    assert any("Moscow denies this" in c.quote for c in third.citations), third.text
    for ans in (first, second, third):
        assert all(c.article_id == SEED_ID for c in ans.citations)
        markers = sorted({int(n) for n in re.findall(r"\[(\d+)\]", ans.text)})
        assert markers == [c.n for c in ans.citations]


def test_follow_up_without_history_differs(assistant):
    # the same follow-up asked cold is not condensed
    ans = assistant.ask("And who sends him mercenaries?")
    assert ans.condensed_question == "And who sends him mercenaries?"


@pytest.mark.parametrize("question, expected", [
    ("Did Haftar say they would attack?", False),  # "they" follows a name in the question
    ("What did Dalaland say about Turkey and its drones?", True),  # "its" needs the conversation
    ("Did they deny it?", True),
])
def test_pronoun_referents(question, expected):
    assert is_follow_up(question) is expected


def test_follow_up_near_the_length_limit_is_still_answered(assistant):
    from assistant.search import MAX_QUERY_CHARS

    history = [turn("user", "Who gave Haftar his drones?"), turn("assistant", "The United Arab Emirates [1]")]
    question = ("And who sends him mercenaries? " + "please " * 400)[:MAX_QUERY_CHARS - 1].strip()
    ans = assistant.ask(question, history)  # condensing must not push it over the limit
    assert ans.question == question and len(ans.condensed_question) <= MAX_QUERY_CHARS
