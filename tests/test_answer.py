"""Cited extractive answers: the card question, the seed Q&A set, refusals, marker/citation consistency."""
from __future__ import annotations

import json
import re

import pytest
from conftest import CARD_QUESTION, SEED_ID, SEEDS

from assistant import InputError
from assistant.answer import REFUSAL, ExtractiveGenerator, refusal
from assistant.types import Answer

QA = [json.loads(line) for line in (SEEDS / "qa.jsonl").read_text().splitlines() if line.strip()]
ANSWERABLE = [q for q in QA if q["answerable"]]
UNANSWERABLE = [q for q in QA if not q["answerable"]]

# Questions the extractive generator currently gets wrong: kept in the suite as non-strict xfails, so a
# fix shows up as XPASS instead of the assertion being weakened.
# (Empty now: with refuse_below 0.475 all 29 pass. Closest to the bar: un-budget 0.465 refused,
# jamming-turkey 0.505 and balance 0.518 answered.)
KNOWN_FAILURES: dict[str, str] = {}


def case(q: dict):
    marks = [pytest.mark.xfail(reason=KNOWN_FAILURES[q["id"]], strict=False)] if q["id"] in KNOWN_FAILURES else []
    return pytest.param(q, id=q["id"], marks=marks)


def assert_well_formed(assistant, ans: Answer):
    """Markers and citations agree one to one, and every quote points back into its passage and article."""
    markers = [int(n) for n in re.findall(r"\[(\d+)\]", ans.text)]
    assert sorted(set(markers)) == list(range(1, len(ans.citations) + 1))
    assert [c.n for c in ans.citations] == list(range(1, len(ans.citations) + 1))
    for c in ans.citations:
        assert f"[{c.n}]" in ans.text
        assert c.quote and c.quote in c.text
        assert c.start <= c.quote_start < c.quote_end <= c.end
        assert c.text[c.quote_start - c.start:c.quote_end - c.start] == c.quote
        article = assistant.article(c.article_id)
        assert article.text[c.quote_start:c.quote_end] == c.quote
        assert article.text[c.start:c.end] == c.text
        assert (c.title, c.date, c.source) == (article.title, article.date, article.source)
        assert c.chunk_id in {p.chunk_id for p in ans.passages}
        assert " ".join(c.quote.split()) in ans.text, "the answer says the quote as written"
    if ans.refused:
        assert ans.text == REFUSAL and ans.citations == [] and markers == []


@pytest.fixture(scope="module")
def answers(assistant) -> dict[str, Answer]:
    """Each seed question asked once, shared by the tests below."""
    return {q["id"]: assistant.ask(q["question"]) for q in QA}


@pytest.mark.parametrize("question", [CARD_QUESTION, "Why will Turkey not send combat aircraft?"])
def test_card_question(assistant, question):
    ans = assistant.ask(question)
    assert not ans.refused
    assert "lacks a military base near Libya" in ans.text
    assert any("lacks a military base near Libya" in c.quote for c in ans.citations)
    assert all(c.article_id == SEED_ID for c in ans.citations)
    assert ans.question == question
    assert_well_formed(assistant, ans)


def test_enough_answerable_questions():
    assert len(ANSWERABLE) >= 15 and len(UNANSWERABLE) >= 3


@pytest.mark.parametrize("q", [case(q) for q in ANSWERABLE])
def test_answerable_seed_question(assistant, answers, q):
    ans = answers[q["id"]]
    assert not ans.refused, q["question"]
    assert any(e in c.text for c in ans.citations for e in q["evidence"]), (q["question"], ans.text)
    assert all(c.article_id == q["article_id"] for c in ans.citations[:1])
    assert_well_formed(assistant, ans)


@pytest.mark.parametrize("q", [case(q) for q in UNANSWERABLE])
def test_unanswerable_seed_question_is_refused(assistant, answers, q):
    ans = answers[q["id"]]
    assert ans.refused, ans.text
    assert_well_formed(assistant, ans)
    assert ans.passages, "a refusal still lists the closest passages"


def test_answers_quote_the_evidence(answers):
    # stronger than "the passage holds it": for most questions the quoted sentence itself does
    quoted = [q["id"] for q in ANSWERABLE
              if any(e in c.quote for c in answers[q["id"]].citations for e in q["evidence"])]
    assert len(quoted) >= 15, quoted


def test_answer_dict_and_determinism(assistant):
    question = "Which company provides mercenaries to Haftar's forces?"
    first, second = assistant.ask(question), assistant.ask(question)
    assert first.to_dict() == second.to_dict()
    d = first.to_dict()
    assert set(d) >= {"answer", "refused", "question", "condensed_question", "citations", "passages"}
    assert set(d["citations"][0]) >= {"n", "article_id", "title", "chunk_id", "start", "end", "text", "quote",
                                      "quote_start", "quote_end", "score", "date", "source"}
    json.dumps(d)


def test_at_most_three_sentences_and_no_repeats(answers):
    for ans in answers.values():
        sentences = re.findall(r"[^\[]+?\[\d+\]", ans.text)
        assert len(ans.citations) <= ExtractiveGenerator().tuning.max_sentences
        quotes = [" ".join(c.quote.split()) for c in ans.citations]
        assert len(set(quotes)) == len(quotes)
        assert len(sentences) == len(ans.citations)


def test_question_sentence_lends_its_score_to_the_answer(answers):
    # "Is Turkey sending troops?" is a question in the article; the answer is the next sentence
    ans = answers["troops"]
    assert "Dalaland rules out that Turkey will send soldiers" in ans.text
    assert not ans.text.startswith("Is Turkey sending troops?")


def test_anaphoric_sentence_quotes_its_antecedent(answers):
    # "He points out that Turkey lacks..." is quoted together with the sentence naming "He"
    ans = answers["card"]
    quote = next(c.quote for c in ans.citations if "lacks a military base" in c.quote)
    assert "Dalaland" in quote


def test_filters_apply_to_answers(assistant):
    ans = assistant.ask(CARD_QUESTION, filters={"source": "Nile Wire"})
    assert all(p.source == "Nile Wire" for p in ans.passages)
    assert all(c.source == "Nile Wire" for c in ans.citations)
    none = assistant.ask(CARD_QUESTION, filters={"source": "Nobody"})
    assert none.refused and none.passages == []


def test_lira_question_cites_the_distractor(assistant):
    ans = assistant.ask("By how much did the Turkish central bank cut its main interest rate?")
    assert not ans.refused
    assert ans.citations[0].article_id == "turkish-lira"
    assert "two percentage points" in ans.citations[0].quote
    assert ans.citations[0].date == "2019-12-13" and ans.citations[0].source == "Nile Wire"
    assert_well_formed(assistant, ans)


@pytest.mark.parametrize("question, says", [("", "empty"), ("   ", "empty"), ("x" * 100_000, "characters long"),
                                            ("cocoa \udc80 prices", "broken characters"), (123, "must be text"),
                                            (None, "must be text"), (b"cocoa", "must be text")])
def test_bad_questions(assistant, question, says):
    with pytest.raises(InputError, match=says):
        assistant.ask(question)
    with pytest.raises(InputError, match=says):
        assistant.search(question)


def test_refusal_helper():
    r = refusal("q", [])
    assert r.refused and r.text == REFUSAL and r.citations == [] and r.passages == []


def test_confidence_matches_the_refusal_bar(answers):
    bar = ExtractiveGenerator().tuning.refuse_below
    for ans in answers.values():
        if ans.refused:
            assert ans.confidence < bar
        else:
            assert ans.confidence >= bar and ans.confidence == max(c.score for c in ans.citations)


def test_shortlist_encodes_everything_when_no_term_is_shared():
    from assistant.answer.extractive import Tuning
    from assistant.answer.quotes import Candidate
    from assistant.types import Passage

    generator = ExtractiveGenerator(Tuning(shortlist=2))
    passage = Passage("a", "t", "a#0", 0, 100, "x" * 100, 1.0)
    cands = [Candidate(passage, rank, 0, 10) for rank in range(3) for _ in range(2)]
    for c in cands:
        c.score = 0.05 / (1 + c.rank)
    assert generator.shortlist(cands, []) == list(range(6))  # all coverage 0: similarity must decide
    cands[4].coverage, cands[4].score = 0.5, 0.3
    assert generator.shortlist(cands, []) == [0, 1, 4]  # the best, and both tied at the cut-off
    assert generator.shortlist(cands, [2]) == [0, 1, 2, 4]  # with the sentence a carry links to


class ScriptedReader:
    """A reader whose logits are given: what `rerank` does with them is what is tested."""

    span_threshold = 0.5

    def __init__(self, logits: list[float]):
        self.logits = logits
        self.read_texts: list[str] = []

    def scores(self, items):  # noqa: ANN001, ANN201
        import numpy as np

        self.read_texts += [i.sentence for i in items]
        return np.array(self.logits[:len(items)]), [((0, 4), 0.9)] * len(items)

    def calibrated(self, logits):  # noqa: ANN001, ANN201
        return 1 / (1 + pow(2.718281828, -logits))


@pytest.mark.parametrize("logits, leads", [([-6.0, 6.0], "second"), ([6.0, -6.0], "first")])
def test_reader_reorders_only_the_best_two_that_clear_the_bar(logits, leads):
    from assistant.answer.quotes import Candidate
    from assistant.types import Passage

    text = "first sentence here. second sentence here. third sentence here."
    passage = Passage("a", "t", "a#0", 0, len(text), text, 1.0)
    cands = [Candidate(passage, 0, 0, 20), Candidate(passage, 0, 21, 42), Candidate(passage, 0, 43, 63)]
    for c, score in zip(cands, (0.60, 0.58, 0.59)):
        c.score = score
    reader = ScriptedReader(logits + [9.0])
    readings = ExtractiveGenerator(reader=reader).rerank("q?", cands, reader)  # type: ignore[arg-type]
    assert reader.read_texts == [text[0:20], text[21:42]]  # the first two as given, never the third
    assert cands[0].text.startswith(leads) and cands[2].text.startswith("third")
    assert set(readings) == {id(c) for c in cands[:2]}
    below = [Candidate(passage, 0, 0, 20), Candidate(passage, 0, 21, 42)]
    below[0].score, below[1].score = 0.60, 0.40  # under the refusal bar: not read, cannot lead
    reader = ScriptedReader([-6.0, 6.0])
    ExtractiveGenerator(reader=reader).rerank("q?", below, reader)  # type: ignore[arg-type]
    assert reader.read_texts == [text[0:20]] and below[0].text.startswith("first")
