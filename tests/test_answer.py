"""Cited extractive answers: the card question, the seed Q&A set, refusals, marker/citation consistency; the seed Q&A
again among 300 generated newswire articles, with on-topic unanswerable questions the refusal bar was not tuned on."""
from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import pytest
from conftest import CARD_QUESTION, FIXTURES, SEED_ID, SEEDS

from assistant import Assistant, InputError
from assistant.answer import REFUSAL, ExtractiveGenerator, refusal
from assistant.types import Answer


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


QA = read_jsonl(SEEDS / "qa.jsonl")
ANSWERABLE = [q for q in QA if q["answerable"]]
UNANSWERABLE = [q for q in QA if not q["answerable"]]
# On the seed's topic (its people, Turkey, Libya, drones), answered neither by the seed nor by the newswire, and
# written after the refusal bar was chosen: it was never tuned on them.
ONTOPIC = read_jsonl(FIXTURES / "unanswerable_ontopic.jsonl")

# Questions the extractive generator currently gets wrong, by index: kept in the suite as non-strict xfails, so a
# fix shows up as XPASS instead of the assertion being weakened. (With the answerability bar 0.55 all 29 pass on the
# small and newswire indexes; closest to it there: un-election 0.40 refused among the newswire briefs, moscow
# answered at 0.63-0.64.)
KNOWN_FAILURES: dict[tuple[str, str], str] = {
    ("alone", "moscow"): "refused (0.31) with the seed article alone, the index `make run` builds: the three-epoch "
                         "reader does not read 'but Moscow denies this' as answering 'Does Moscow admit ...?' (logit "
                         "-3.3; the two-epoch file: -1.2, answered at 0.59), and among three chunks the overlap "
                         "score and passage rank are lower than among the distractors (README, Refusal)",
}


def known_failure(request, index: str, q: dict) -> None:
    if (index, q["id"]) in KNOWN_FAILURES:
        request.applymarker(pytest.mark.xfail(reason=KNOWN_FAILURES[index, q["id"]], strict=False))


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


@pytest.fixture(scope="module")
def alone_answers(seed_alone_assistant) -> dict[str, Answer]:
    return {q["id"]: seed_alone_assistant.ask(q["question"]) for q in QA}


@pytest.fixture(params=["small", "newswire", "alone"])
def asked(request) -> tuple[str, Assistant, dict[str, Answer]]:
    """The seed questions' answers on the small test index, among the 300 newswire briefs (`newswire_answers`) and
    with the seed article alone (what `make run` indexes)."""
    name = request.param
    fixtures = {"small": ("assistant", "answers"), "newswire": ("newswire_assistant", "newswire_answers"),
                "alone": ("seed_alone_assistant", "alone_answers")}[name]
    return name, request.getfixturevalue(fixtures[0]), request.getfixturevalue(fixtures[1])


@pytest.mark.parametrize("q", [pytest.param(q, id=q["id"]) for q in ANSWERABLE])
def test_answerable_seed_question(asked, q, request):
    """Among the newswire briefs, measured: 24 of 24 answered, a quote of the seed holding the evidence each time; the
    lowest confidence (answerability) is moscow's 0.63 (bar 0.55)."""
    index, assistant, answers = asked
    known_failure(request, index, q)
    ans = answers[q["id"]]
    assert not ans.refused, q["question"]
    # the quoted sentence(s) hold the evidence, not merely the passage around them
    assert any(e in c.quote for c in ans.citations for e in q["evidence"]), (q["question"], ans.text)
    assert ans.citations[0].article_id == q["article_id"]
    assert_well_formed(assistant, ans)


@pytest.mark.parametrize("q", [pytest.param(q, id=q["id"]) for q in UNANSWERABLE])
def test_unanswerable_seed_question_is_refused(asked, q, request):
    """Among the newswire briefs, measured: 5 of 5 refused, the closest at 0.4245 (un-election). "What is the capital
    of Peru?" was answered (0.635) from "Egypt opened ... its new administrative capital" until
    Lexical.answer_weights counted the name "Peru", which no article holds, against every sentence: with "Peru" left
    out, "capital" was the whole question."""
    index, assistant, answers = asked
    known_failure(request, index, q)
    ans = answers[q["id"]]
    assert ans.refused, ans.text
    assert_well_formed(assistant, ans)
    assert ans.passages, "a refusal still lists the closest passages"


def test_answer_dict_and_determinism(assistant):
    question = "Which company provides mercenaries to Haftar's forces?"
    first, second = assistant.ask(question), assistant.ask(question)
    assert first.to_dict() == second.to_dict()
    d = first.to_dict()
    assert set(d) >= {"answer", "refused", "question", "condensed_question", "citations", "passages"}
    assert set(d["citations"][0]) >= {"n", "article_id", "title", "chunk_id", "start", "end", "text", "quote",
                                      "quote_start", "quote_end", "score", "date", "source"}
    json.dumps(d)


@pytest.mark.parametrize("index", ["assistant", "newswire_assistant", "seed_alone_assistant"])
def test_drone_question_gets_its_short_answer(index, request):
    """The seed's attribution-wrapped answer ("According to the French Press Agency, ... drones from its ally the
    United Arab Emirates, according to the United Nations ...") once drew the span to the agency (docs/reader.md)."""
    from assistant.eval.metrics import normalize_answer

    ans = request.getfixturevalue(index).ask("Who gave Haftar his drones?")
    first = ans.citations[0]
    assert normalize_answer(ans.short or "") == "united arab emirates"
    assert first.quote[first.answer_start - first.quote_start:first.answer_end - first.quote_start] == ans.short


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
    """With the reader, `confidence` is the answerability model's probability, and refusal is decided on it."""
    t = ExtractiveGenerator().tuning
    for ans in answers.values():
        assert 0.0 <= ans.confidence <= 1.0
        assert (ans.confidence < t.answer_above) == ans.refused


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
def test_reader_reorders_the_best_it_reads(logits, leads):
    from assistant.answer.extractive import Tuning
    from assistant.answer.quotes import Candidate
    from assistant.types import Passage

    text = "first sentence here. second sentence here. third sentence here."
    passage = Passage("a", "t", "a#0", 0, len(text), text, 1.0)
    cands = [Candidate(passage, 0, 0, 20), Candidate(passage, 0, 21, 42), Candidate(passage, 0, 43, 63)]
    for c, score in zip(cands, (0.60, 0.40, 0.59)):  # the second below the refusal bar: it may still lead
        c.score = score
    reader = ScriptedReader(logits + [9.0])
    tuning = Tuning(reader_reads=2, combine=(1.0, 1.0, 0.0, 0.0))
    readings, logit, z = ExtractiveGenerator(tuning, reader=reader).rerank("q?", cands, reader)  # type: ignore[arg-type]
    assert reader.read_texts == [text[0:20], text[21:42]]  # the first `reader_reads` as given, never the third
    assert cands[0].text.startswith(leads) and cands[2].text.startswith("third")
    assert set(readings) == set(z) == {id(c) for c in cands[:2]}
    assert logit == 6.0 and max(z.values()) == pytest.approx(max(0.60 + logits[0], 0.40 + logits[1]))


def scripted_answer(scores: list[float], logits: list[float], chunks: tuple[str, ...] = ("a#0", "b#0", "c#0"),
                    reader: bool = True, **tuning) -> Answer:
    """`generate` over three sentences with given overlap scores (similarity switched off) and reader logits;
    `chunks` names each sentence's passage, in reading order (a repeated name: one passage holds both)."""
    import numpy as np

    from assistant.answer.extractive import Tuning
    from assistant.types import Passage

    texts = ["Alpha beta gamma delta.", "Epsilon zeta eta theta.", "Iota kappa lambda mu."]
    by_chunk: dict[str, list[str]] = {}
    for cid, t in zip(chunks, texts):
        by_chunk.setdefault(cid, []).append(t)
    passages = [Passage(cid.split("#")[0], "t", cid, 0, len(" ".join(ts)), " ".join(ts), 1.0)
                for cid, ts in by_chunk.items()]

    class Fixed(ExtractiveGenerator):
        def score(self, question, cands, context):  # noqa: ANN001, ANN201
            for i, (c, s) in enumerate(zip(cands, scores)):
                c.score, c.vec = s, np.eye(3)[i]

    return Fixed(Tuning(read=3, **tuning), reader=ScriptedReader(logits) if reader else None).generate(  # type: ignore[arg-type]
        "q?", passages, None)  # type: ignore[arg-type]


def test_the_answerability_model_decides_refusal_with_the_reader():
    """With the reader, the answer is refused when sigmoid(w · (best overlap score, best reader logit, best combined
    score, second overlap score) + b) is under `answer_above`, whatever the overlap bar says; the sentences read lead
    in the combination's order. Without a reader, the overlap bar alone decides."""
    import math

    w = {"answerable": (10.0, 1.0, 0.0, 0.0, -5.0), "answer_above": 0.5, "combine": (1.0, 1.0, 0.0, 0.0)}
    answer = scripted_answer([0.40, 0.30, 0.10], [3.0, -5.0, -9.0], **w)  # 4 + 3 - 5 = 2 (0.88), under the bar 0.475
    assert not answer.refused and answer.citations[0].quote.startswith("Alpha")
    assert answer.confidence == round(1 / (1 + math.exp(-2.0)), 4)
    refused = scripted_answer([0.40, 0.30, 0.10], [-3.0, -5.0, -9.0], **w)  # -4: the reader does not recognise it
    assert refused.refused and refused.confidence == round(1 / (1 + math.exp(4.0)), 4)
    assert scripted_answer([0.60, 0.30, 0.10], [-9.0, -9.0, -9.0], **w).refused  # above the overlap bar, still refused
    assert not scripted_answer([0.50, 0.20, 0.10], [0.0, -9.0, -9.0], **w).refused  # exactly on the bar: answered
    assert scripted_answer([0.4999, 0.20, 0.10], [0.0, -9.0, -9.0], **w).refused
    second = {**w, "answerable": (0.0, 0.0, 0.0, 10.0, -5.0)}  # the second-best overlap score counts too
    assert not scripted_answer([0.70, 0.60, 0.10], [-9.0, -9.0, -9.0], **second).refused
    assert scripted_answer([0.70, 0.40, 0.10], [-9.0, -9.0, -9.0], **second).refused
    lead = scripted_answer([0.40, 0.35, 0.10], [-2.0, 2.0, -9.0], **w)  # z: 2.35 beats -1.6
    assert not lead.refused and lead.citations[0].quote.startswith("Epsilon")
    assert scripted_answer([0.40, 0.30, 0.10], [9.0, 9.0, 9.0], reader=False).refused  # no reader: the bar alone
    assert not scripted_answer([0.60, 0.30, 0.10], [-9.0, -9.0, -9.0], reader=False).refused


def test_another_passage_is_quoted_when_the_reader_is_torn_between_them():
    """With the reader, another passage's sentence is quoted when it was read and its combined score z is within
    `other_within` of the lead's (the reader cannot tell which passage answers); one of the lead's own passage
    when its overlap score is within `keep_ratio` of the best. Without the reader, another passage needs a
    sentence as good as the best (keep_other 1.0)."""
    w = {"combine": (1.0, 1.0, 0.0, 0.0), "other_within": 0.75}  # z = overlap score + logit
    far = scripted_answer([0.80, 0.72, 0.10], [0.0, -1.0, -9.0], **w)  # z 0.80 against -0.28: 1.08 apart
    near = scripted_answer([0.80, 0.72, 0.10], [0.0, -0.5, -9.0], **w)  # 0.80 against 0.22: 0.58 apart
    assert [c.chunk_id for c in far.citations] == ["a#0"]
    assert [c.chunk_id for c in near.citations] == ["a#0", "b#0"]
    unread = scripted_answer([0.80, 0.80, 0.80], [0.0, -9.0, 0.0], reader_reads=2, **w)  # c#0 was never read
    assert [c.chunk_id for c in unread.citations] == ["a#0"]
    same = scripted_answer([0.80, 0.72, 0.10], [0.0, -9.0, -9.0], ("a#0", "a#0", "c#0"), **w)
    assert [c.chunk_id for c in same.citations] == ["a#0"] and "Epsilon" in same.citations[0].quote
    # the reader puts a weak sentence of another passage second: the one after it is still considered
    after = scripted_answer([0.80, 0.78, 0.50], [5.0, -9.0, 3.0], ("a#0", "a#0", "b#0"), **w)
    assert [c.chunk_id for c in after.citations] == ["a#0"] and "Epsilon" in after.citations[0].quote
    # the keep ratio is to the best overlap score there is: a weaker lead the reader chose does not let weaker quotes in
    weak = scripted_answer([0.80, 0.60, 0.55], [-9.0, 9.0, -9.0], ("a#0", "b#0", "b#0"), **w)
    assert [c.chunk_id for c in weak.citations] == ["b#0"] and "Iota" not in weak.citations[0].quote
    # no reader: the overlap score alone, another passage only at the best score
    assert [c.chunk_id for c in scripted_answer([0.80, 0.72, 0.10], [], reader=False).citations] == ["a#0"]
    assert [c.chunk_id for c in scripted_answer([0.80, 0.80, 0.10], [], reader=False).citations] == ["a#0", "b#0"]


# ---- the seed among 300 newswire articles -------------------------------------------------------------------------
def load_newswire_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_newswire", FIXTURES / "make_newswire.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_newswire_is_the_scripts_output_and_answers_no_seed_question(newswire):
    script = load_newswire_script()
    text = (FIXTURES / "newswire.jsonl").read_text(encoding="utf-8")
    assert script.render(script.articles()) == text, "regenerate: python tests/fixtures/make_newswire.py"
    assert len(newswire) == 300 and len(text) < 400_000
    assert {"id", "title", "date", "source", "text"} <= set(json.loads(text.splitlines()[0]))
    on_topic = [a for a in newswire if re.search(r"Turk|Libya|Tripoli|Haftar|Hifter|Sarraj|Serraj|Wagner|drone|"
                                                 r"Egypt|United Arab Emirates|Russia", a.text)]
    assert len(on_topic) >= 90, "the hard distractors share the seed's words"
    for a in newswire:
        assert not any(e in a.text for q in ANSWERABLE for e in q["evidence"]), a.id
        # nor what the seed's and the on-topic unanswerable questions ask about
        assert not re.search(r"Qatar|Peru|World Cup|Dalaland|Badi\b|barrels|defen[cs]e budget|presidential", a.text), a.id
        assert len(a.text.split("\n\n")) >= 3, "news prose: paragraphs"
    assert sum('"' in a.text for a in newswire) >= 240 and sum(" said" in a.text for a in newswire) >= 290


@pytest.fixture(scope="module")
def newswire_answers(newswire_assistant) -> dict[str, Answer]:
    """Each seed and on-topic question asked once of the seed + 4 distractors + 300 newswire articles."""
    return {q["id"]: newswire_assistant.ask(q["question"]) for q in QA + ONTOPIC}


def test_newswire_articles_are_all_indexed_as_separate_stories(newswire_assistant):
    store = newswire_assistant.index.store
    assert store.query("SELECT count(*), count(DISTINCT grp) FROM minhash") == [(305, 305)]


def test_most_ontopic_unanswerable_questions_are_refused(newswire_assistant, newswire_answers):
    """What refusal does on questions it was not tuned on: most are refused, not all.

    Measured among the newswire briefs: 11 of 15 refused, answerability 0.06-0.547 (the bar is 0.55); the other 4
    are answered at 0.64-0.96 with a seed or newswire sentence that shares the question's names and topic but not
    its answer. With the previous reader file 7 of 15 were refused ("Where was Emad Badi born?" got Badi's quote, at
    0.98; now 0.547, just under the bar); before the answerability model (refusal by the overlap score alone, 0.475),
    2 of 15. On the small index 10 of 15 are refused, 8 of them the same.

    The same on a CPU without VNNI, where the int8 weights run unsigned (`assistant/int8.py`); signed, its saturating
    kernels answered "Which airport in Tripoli was hit by drone strikes?" at 0.61.
    """
    refused = {q["id"] for q in ONTOPIC if newswire_answers[q["id"]].refused}
    assert len(ONTOPIC) == 15
    assert refused == {"ot-qatar-drones", "ot-dalaland-age", "ot-wagner-commander", "ot-ambassador", "ot-airport",
                       "ot-drones-lost", "ot-advisors-count", "ot-attack-deaths", "ot-badi-born", "ot-sarraj-since",
                       "ot-uae-price"}, "not as measured: update this and README"
    for q in ONTOPIC:
        assert_well_formed(newswire_assistant, newswire_answers[q["id"]])
