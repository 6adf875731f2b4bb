"""The reader: recipe, a tiny end-to-end training run, the shipped file's checks, and news questions it must get."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.errors import ModelMissingError
from assistant.eval.metrics import normalize_answer
from assistant.reader import encoding
from assistant.reader.model import DEFAULT_PATH, Reader, ReaderCorruptError, ReaderInput
from assistant.text.sentences import sentence_spans

SEED = Path(__file__).resolve().parent.parent / "seeds" / "000_7b8ba0a49306706e.txt"

PARAGRAPHS = [
    ("p0", "The Eiffel Tower was built for the 1889 World's Fair in Paris. It was designed by the company of "
           "Gustave Eiffel. The tower is 330 metres tall and was the tallest man-made structure for 41 years."),
    ("p1", "The Amazon river flows through Brazil, Peru and Colombia. It carries more water than any other river. "
           "Its basin covers about seven million square kilometres."),
    ("p2", "Marie Curie won the Nobel Prize in Physics in 1903. She later won the Nobel Prize in Chemistry in 1911. "
           "She was the first person to win two Nobel Prizes."),
    ("p3", "The Great Wall of China was built over many centuries. Most of the existing wall dates from the Ming "
           "dynasty. It stretches for thousands of kilometres across northern China."),
]
QUESTIONS = [
    ("p0", "Who designed the Eiffel Tower?", "Gustave Eiffel"), ("p0", "How tall is the tower?", "330 metres"),
    ("p0", "For which event was the Eiffel Tower built?", "the 1889 World's Fair"),
    ("p1", "Which countries does the Amazon flow through?", "Brazil, Peru and Colombia"),
    ("p1", "How large is the Amazon basin?", "about seven million square kilometres"),
    ("p2", "When did Marie Curie win the Nobel Prize in Chemistry?", "1911"),
    ("p2", "Who was the first person to win two Nobel Prizes?", "Marie Curie"),
    ("p3", "Which dynasty built most of the existing Great Wall?", "the Ming dynasty"),
    ("p3", "Where does the Great Wall stretch?", "across northern China"),
]


def write_fixture(d: Path) -> Path:
    text = dict(PARAGRAPHS)
    with open(d / "articles.jsonl", "w") as f:
        for pid, t in PARAGRAPHS:
            f.write(json.dumps({"id": pid, "title": "", "text": t}) + "\n")
    with open(d / "qa.jsonl", "w") as f:
        for n, (pid, q, a) in enumerate(QUESTIONS):
            f.write(json.dumps({"id": f"5{n:023x}", "question": q, "answers": [a], "article_id": pid,
                                "answer_start": text[pid].index(a)}) + "\n")
    (d / "split.json").write_text(json.dumps({"train": [p for p, _ in PARAGRAPHS], "test": []}))
    return d


def test_recipe_matches_the_tokenizers_own_pair_encoding():
    tok = encoding.tokenizer()
    q, s, before = "Who gave Haftar his drones?", "Haftar's forces use drones supplied by the UAE.", "Tripoli is under attack."
    (row,) = encoding.encode_many([(q, s, "", before)])
    assert row.ids == tok.encode(q, f"{s} [SEP] {before}").ids
    assert tok.id_to_token(row.ids[row.hi]) == "[SEP]"
    assert row.types == tok.encode(q, f"{s} [SEP] {before}").type_ids
    assert s[row.offsets[0][0]:row.offsets[2][1]] == "Haftar"
    (short,) = encoding.encode_many([(q, s, "", before * 20)], max_len=40)
    assert len(short.ids) == 40 and short.hi - short.lo == len(row.offsets)  # context cut before the sentence


def test_tiny_training_run_exports_and_loads(tmp_path):
    from assistant.reader import train

    data = write_fixture(tmp_path)
    out = tmp_path / "models"
    assert train.main(["--data", str(data), "--out", str(out), "--work", str(tmp_path / "work"), "--max-steps", "4", "--epochs", "2",
                       "--batch", "8", "--no-fuse", "--max-minutes", "10", "--negatives", "1,1,1,2",
                       "--frozen-layers", "1", "--polar", "0.5", "--mine-reader"]) == 0
    meta = json.loads((out / "reader.json").read_text())
    assert meta["training"]["steps"] == 4 and 0 < meta["temperature"] and 0 <= meta["threshold"] <= 1
    assert meta["training"]["mined_with"] == Reader.load().meta["sha256"]  # `--mine-reader` alone: the shipped file
    assert meta["training"]["kinds"]["polar"] > 0 and meta["training"]["polar"] == 0.5
    assert meta["training"]["frozen"] == ["bert.embeddings.", "bert.encoder.layer.0."]
    import torch

    from assistant.reader.net import make_net

    packaged = make_net().state_dict()
    trained = torch.load(tmp_path / "work" / "reader-final.pt", weights_only=False)["net"]
    name = "bert.encoder.layer.{}.attention.self.query.weight"
    assert torch.equal(trained[name.format(0)], packaged[name.format(0)])  # frozen: as packaged
    assert not torch.equal(trained[name.format(1)], packaged[name.format(1)])  # trained
    reader = Reader.load(out / "reader-int8.onnx")
    readings = reader.read([ReaderInput("Who designed the Eiffel Tower?", "It was designed by Gustave Eiffel."),
                            ReaderInput("Who designed the Eiffel Tower?", "The Amazon is long.", "", "Rivers.")])
    assert len(readings) == 2 and all(0.0 <= r.prob <= 1.0 for r in readings)


def test_a_resumed_run_continues_from_the_checkpoint_and_says_so(tmp_path, monkeypatch):
    """The shipped three-epoch file was trained in two sittings; its minutes are the last sitting's, so the card
    must show where it resumed."""
    from assistant.reader import train

    monkeypatch.setattr(train, "CHECKPOINT_SECONDS", -1)  # a checkpoint after every step
    data, work = write_fixture(tmp_path), tmp_path / "work"
    args = ["--data", str(data), "--work", str(work), "--max-steps", "2", "--batch", "8", "--no-fuse",
            "--max-minutes", "10", "--negatives", "1,1,1,0"]
    assert train.main([*args, "--out", str(tmp_path / "first")]) == 0
    assert "resumed_from_step" not in json.loads((tmp_path / "first" / "reader.json").read_text())["training"]
    assert train.main([*args, "--out", str(tmp_path / "second"), "--resume"]) == 0
    meta = json.loads((tmp_path / "second" / "reader.json").read_text())["training"]
    assert meta["resumed_from_step"] == 2 and meta["steps"] == 2


def test_mined_negatives_are_the_products_candidates_without_the_answer(tmp_path):
    from assistant.reader import mining
    from assistant.reader.data import build_examples, load

    paras, qs, split = load(write_fixture(tmp_path))
    mined = mining.mine(paras, split["train"], qs, 6, tmp_path / "index")
    designed = next(q for q in qs if q.question == "Who designed the Eiffel Tower?")
    assert mined[designed.id][0].sentence == "It was designed by the company of Gustave Eiffel."  # the scorer's best
    for q in qs:
        for m in mined[q.id]:
            assert paras[m.article_id].text[m.start:m.end] == m.sentence
    examples = build_examples(paras, qs, split["train"], same=0, hard=0, refusal=0, mine=lambda _: mined, cand=3)
    cands = [e for e in examples if e.kind == "cand"]
    assert cands and all(e.label == 0 for e in cands)
    by_id = {q.id: q for q in qs}
    for e in cands:
        assert not by_id[e.qid].mentioned_in(e.sentence)
    assert "It was designed by the company of Gustave Eiffel." not in {e.sentence for e in cands if e.qid == designed.id}


def test_mining_with_a_reader_orders_by_it_and_reuses_its_cached_list(tmp_path):
    from assistant.reader import mining
    from assistant.reader.data import load

    paras, qs, split = load(write_fixture(tmp_path))
    reader = Reader.load()
    mined = mining.mine(paras, split["train"], qs, 4, tmp_path / "index", reader=reader)
    designed = next(q for q in qs if q.question == "Who designed the Eiffel Tower?")
    assert mined[designed.id][0].sentence == "It was designed by the company of Gustave Eiffel."
    cached = list((tmp_path / "index").glob(f"mined-4-{reader.meta['sha256'][:12]}-{len(qs)}.json"))
    assert len(cached) == 1
    cached[0].write_text(cached[0].read_text().replace("It was designed by", "It was drawn by"))
    again = mining.mine(paras, split["train"], qs, 4, tmp_path / "index", reader=reader)
    assert again[designed.id][0].sentence == "It was drawn by the company of Gustave Eiffel."  # read, not mined
    overlap = mining.mine(paras, split["train"], qs[:3], 4, tmp_path / "index")  # other questions: mined afresh
    assert (tmp_path / "index" / "mined-4-overlap-3.json").exists() and overlap[qs[0].id]


@pytest.mark.parametrize("question, answer, polar", [
    ("Who designed the Eiffel Tower?", "Gustave Eiffel", "Was it Gustave Eiffel that designed the Eiffel Tower?"),
    ("Who was the first person to win two Nobel Prizes?", "Marie Curie",
     "Was the first person to win two Nobel Prizes Marie Curie?"),
    ("Who was limited by Denver's defense?", "Newton", "Was Newton limited by Denver's defense?"),
    ("When did Marie Curie win the Nobel Prize in Chemistry?", "1911.",
     "Did Marie Curie win the Nobel Prize in Chemistry in 1911?"),
    ("When was the treaty signed?", "May 21, 2013", "Was the treaty signed on May 21, 2013?"),
    ("Where does the Great Wall stretch?", "across northern China", "Does the Great Wall stretch across northern China?"),
    ("What caused the war?", "a dispute", "Was it a dispute that caused the war?"),
    ("How large is the Amazon basin?", "about seven million square kilometres", None),
    ("What group opposed the Huguenots?", "the Catholic Church", None),  # "what" + a noun: no safe rewrite
    ("What didn't Newton's mechanics affect?", "three-dimensional objects", None),
])
def test_yes_no_rewrites(question, answer, polar):
    from assistant.reader.polar import rewrite

    got = rewrite(question, answer)
    assert (got and got[0]) == polar


def test_polar_questions_keep_their_gold_sentence_as_a_positive_without_a_span(tmp_path):
    from assistant.reader.data import build_examples, load
    from assistant.reader.polar import polarize

    paras, qs, split = load(write_fixture(tmp_path))
    assert polarize(qs, 0.0) == qs
    polar = polarize(qs, 1.0)
    assert [q.question for q in polar] == [q.question for q in polarize(qs, 1.0)]  # seeded
    asked = {q.id: q for q in polar if q.polar}
    assert len(asked) >= 4 and all(q.question.endswith("?") for q in asked.values())
    examples = build_examples(paras, polar, split["train"], same=1, hard=1, refusal=0)
    by_qid = {e.qid: e for e in examples if e.kind == "pos"}
    for qid, q in asked.items():
        assert by_qid[qid].question == q.question and by_qid[qid].span is None and by_qid[qid].label == 1
    assert all(e.span for e in by_qid.values() if e.qid not in asked)


def test_shipped_reader_loads_and_checks_its_file(tmp_path):
    reader = Reader.load()
    assert 0 < reader.threshold < 1 and 0 <= reader.span_threshold <= 1
    assert DEFAULT_PATH.stat().st_size <= 30 * 2**20
    for name in ("reader-int8.onnx", "reader.json"):
        shutil.copyfile(DEFAULT_PATH.parent / name, tmp_path / name)
    data = bytearray((tmp_path / "reader-int8.onnx").read_bytes())
    data[len(data) // 2:len(data) // 2 + 8] = bytes(b ^ 0xFF for b in data[len(data) // 2:len(data) // 2 + 8])
    (tmp_path / "reader-int8.onnx").write_bytes(bytes(data))
    with pytest.raises(ReaderCorruptError, match="SHA-256"):
        Reader.load(tmp_path / "reader-int8.onnx")
    (tmp_path / "reader-int8.onnx").unlink()
    with pytest.raises(ModelMissingError, match="make reader"):
        Reader.load(tmp_path / "reader-int8.onnx")


@pytest.fixture(scope="module")
def seed_sentences() -> list[ReaderInput]:
    text = SEED.read_text(encoding="utf-8")
    spans = sentence_spans(text)
    return [("", text[s:e], text[spans[i - 1][0]:spans[i - 1][1]] if i else "") for i, (s, e) in enumerate(spans)]


def best(reader: Reader, question: str, rows) -> tuple[str, str, float]:
    readings = reader.read([ReaderInput(question, s, t, b) for t, s, b in rows])
    i = max(range(len(rows)), key=lambda k: readings[k].prob)
    span = readings[i].span
    return rows[i][1], rows[i][1][span[0]:span[1]] if span else "", readings[i].prob


def test_news_question_picks_the_answering_sentence_and_short_answer(seed_sentences):
    reader = Reader.load()
    sentence, short, prob = best(reader, "Who gave Haftar his drones?", seed_sentences)
    assert "United Arab Emirates" in sentence and prob > 0
    assert normalize_answer(short) == "united arab emirates"
    rows = [("", "Haftar's forces use drones supplied by the United Arab Emirates.", ""),
            ("", "Tripoli is under a new attack, announced by Haftar on December 12.", ""),
            ("", "Moscow denies sending mercenaries.", "")]
    sentence, short, _ = best(reader, "Who gave Haftar his drones?", rows)
    assert sentence == rows[0][1] and normalize_answer(short) == "united arab emirates"


def test_paraphrased_question(seed_sentences):
    reader = Reader.load()
    # Known miss (docs/reader.md): "Why will Turkey not send combat aircraft?" picks the sentence that says it won't.
    sentence, short, _ = best(reader, "Who heads the government in Tripoli?", seed_sentences)
    assert "led by Faiz al-Sarraj" in sentence and short.endswith("al-Sarraj")  # "Faiz al-Sarraj" or "al-Sarraj"
    sentence, short, _ = best(reader, "Which firm sends mercenaries to Haftar's army?", seed_sentences)
    assert "Wagner" in sentence and "Wagner" in short


def test_news_dress_moves_the_answer_span_with_the_text():
    import random

    from assistant.reader.data import Example, Paragraph
    from assistant.reader.dress import attribute, dress, pseudo_title, titled

    sentence = "It was designed by the company of Gustave Eiffel."
    pos = Example("q", "Who designed the Eiffel Tower?", sentence, "", "", 1, (34, 48), "pos")
    rng = random.Random(0)
    dressed = [attribute(pos, rng) for _ in range(40)]
    assert all(e.sentence[e.span[0]:e.span[1]] == "Gustave Eiffel" for e in dressed)
    assert any(e.sentence.startswith("According to ") for e in dressed)
    assert any(e.sentence.endswith((" said.", " reported.")) or ", according to " in e.sentence for e in dressed)
    said = Example("q", "Who said the tower was tall?", sentence, "", "", 1, (34, 48), "pos")
    assert attribute(said, rng) is said  # an attribution would be a second answer
    neg = Example("q", "Who designed the Eiffel Tower?", "The Amazon is long.", "", "", 0, None, "same")
    out = dress([pos, neg] * 200, rate=0.25, seed=1)
    changed = [e for e, o in zip(out, [pos, neg] * 200) if e is not o]
    assert 60 < len(changed) < 140 and {e.label for e in changed} == {0, 1}  # positives and negatives alike
    paras = {p: Paragraph(p, "", t) for p, t in PARAGRAPHS}
    titles = {p.id: p.title for p in titled(paras).values()}
    assert titles == {p: pseudo_title(paras[p]) for p in paras}  # fixed by the paragraph's id
    assert titled({"x": Paragraph("x", "Kept", "Text.")})["x"].title == "Kept"
