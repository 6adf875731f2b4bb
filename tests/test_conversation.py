"""Follow-up questions: `condense` unit tests, a three-turn conversation over the real index, and follow-ups that
only the conversation can answer (their referent is in the previous turn, their words in several articles)."""
from __future__ import annotations

import re

import pytest
from conftest import SEED_ID

from assistant.answer.conversation import about, condense, content_words, is_follow_up, names
from assistant.eval.metrics import normalize_answer
from assistant.text.tokens import tokenize
from assistant.types import Passage


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


# --- follow-ups that cannot be answered without the conversation ------------------------------------
def test_a_pronoun_takes_the_answers_names_when_the_question_named_nobody():
    history = [turn("user", "Who called the dockworkers' strike?"),
               turn("assistant", "Dockworkers at the port of Durban walked out on Monday. The strike was called by "
                                 "Thandi Nkosi, who leads the transport workers' union. [1]")]
    out = condense("What pay rise does she want?", history)
    assert out == "What pay rise does she want? (Durban Thandi Nkosi)"  # not "Monday": a date is no referent


def test_a_possessive_is_not_carried_twice():
    history = [turn("user", "Why will Ghana's cocoa crop fall?"), turn("assistant", "Dry weather [1]")]
    assert condense("How much will it borrow?", history) == "How much will it borrow? (Ghana cocoa crop fall)"


def test_about_keeps_the_articles_that_name_the_referent():
    lisbon = Passage("lisbon", "Lisbon metro drivers strike", "lisbon#0", 0, 40, "Drivers want a 6 percent pay rise.", 1.0)
    durban = Passage("durban", "Dockworkers walk out", "durban#1", 90, 150, "Nkosi said they want a 12 percent pay rise.",
                     0.9)
    durban_named = Passage("durban", "Dockworkers walk out", "durban#0", 0, 90, "The port of Durban is shut.", 0.5)
    passages = [lisbon, durban, durban_named]

    def weights(query: str) -> dict[str, float]:
        return dict.fromkeys(tokenize([query])[0], 1.0)

    assert about(passages, "What pay rise does she want?", ["Durban"], weights) == [durban, durban_named]
    assert about(passages, "What pay rise does she want?", ["Lisbon"], weights) == [lisbon]  # by its title
    assert about(passages, "What pay rise does she want?", ["Porto"], weights) == passages  # nobody named: all stay
    assert about(passages, "Do drivers want a pay rise?", ["Durban"], weights) == passages  # no pronoun to resolve


# (first question, follow-up, the article the follow-up's pronoun points to, the evidence its quote must hold).
# In `followup_index` the follow-up's words are in several articles and its referent only in the first turn;
# the same follow-up after two different first turns must get two different answers.
NEEDS_HISTORY = [
    pytest.param("Who gave Haftar his drones?", "Who sends him mercenaries?", SEED_ID,
                 "Russian security company Wagner", id="him-haftar"),
    pytest.param("Why will Ghana's cocoa crop fall?", "How much will it borrow?", "ghana-cocoa",
                 "borrow 1.3 billion dollars", id="it-ghana"),
    pytest.param("What damaged Lima's water treatment plant?", "How much will it borrow?", "lima-water",
                 "borrow 400 million dollars", id="it-lima"),
    pytest.param("Who called the dockworkers' strike?", "What pay rise does she want?", "durban-dock",
                 "12 percent pay rise", id="she-named-only-in-the-answer"),
    pytest.param("Who leads the Lisbon metro drivers' union?", "What pay rise does she want?", "lisbon-metro",
                 "6 percent pay rise", id="she-lisbon"),
]


@pytest.mark.parametrize("first, follow_up, article, evidence", NEEDS_HISTORY)
def test_follow_up_needs_and_uses_the_history(followup_assistant, first, follow_up, article, evidence):
    """With the history every quote comes from the referent's article and the first holds the evidence; asked
    cold, the same words get another answer (or, for words two cases share, one article's at most), so the history
    is what picked it."""
    before = followup_assistant.ask(first)
    assert not before.refused and before.citations[0].article_id == article, before.text
    assert evidence not in before.text, "the first answer must not already hold the follow-up's"
    answer = followup_assistant.ask(follow_up, [turn("user", first), turn("assistant", before.text)])
    assert not answer.refused, answer.condensed_question
    assert {c.article_id for c in answer.citations} == {article}, answer.text
    first = answer.citations[0]
    assert evidence in first.quote, answer.text
    assert first.answer_start is not None and first.answer_end is not None, "no short answer"
    short = first.text[first.answer_start - first.start:first.answer_end - first.start]
    assert normalize_answer(short) in normalize_answer(evidence), f"the short answer {short!r} is not the evidence"

    cold = followup_assistant.ask(follow_up)
    assert cold.condensed_question == follow_up
    shared = {p.values[2] for p in NEEDS_HISTORY if p.values[1] == follow_up}
    if len(shared) > 1:
        # The same words go to each case's own article with its history (asserted above); asked cold they can answer
        # from one of those articles at most ("How much will it borrow?" now finds Ghana's cocoa board by itself).
        assert cold.refused or len({c.article_id for c in cold.citations} & shared) <= 1, cold.text
        return
    assert cold.text != answer.text
    assert cold.refused or {c.article_id for c in cold.citations} != {article}, cold.text
