"""The facade's seams: an Encoder object, retrieval Weights and a custom Generator plugged in through `open`."""
from __future__ import annotations

from conftest import CARD_QUESTION, SEED_ID, copy_index

from assistant import Answer, Assistant, Citation
from assistant.answer import Context
from assistant.encoders import load_encoder
from assistant.search import Weights


class CountingEncoder:
    """The real default encoder, counting the texts it is given."""

    def __init__(self):
        self.inner = load_encoder("onnx-int8")
        self.name, self.backend, self.dim = self.inner.name, self.inner.backend, self.inner.dim
        self.texts = 0

    def encode(self, texts, batch_size: int = 1, progress: bool = False):
        self.texts += len(texts)
        return self.inner.encode(texts, batch_size=batch_size, progress=progress)


class EchoGenerator:
    """Cites the first sentence of the best passage, and records what it was given."""

    def __init__(self):
        self.seen: list[tuple[str, list, Context]] = []
        self.answers: list[Answer] = []

    def generate(self, question, passages, context):
        self.seen.append((question, list(passages), context))
        p = passages[0]
        end = p.text.find(".") + 1 or len(p.text)
        quote = p.text[:end]
        cite = Citation(1, p.article_id, p.title, p.chunk_id, p.start, p.end, p.text, quote, p.start, p.start + end, 1.0)
        self.answers.append(Answer(f"Echo: {quote} [1]", [cite], False, list(passages), question, generator="echo"))
        return self.answers[-1]


def test_an_encoder_object_is_used_for_indexing_and_search(tmp_path, corpus):
    encoder = CountingEncoder()
    a = Assistant.open(tmp_path / "index", encoder=encoder)
    try:
        a.add(corpus)
        after_add = encoder.texts
        assert after_add >= len(corpus)
        assert a.search(CARD_QUESTION)[0].article_id == SEED_ID
        assert encoder.texts == after_add + 1
        assert a.stats()["encoder"] == "onnx-int8"
    finally:
        a.close()


def test_weights_reach_search(tmp_path, built_index):
    lexical_only = Weights(dense=0.0, bm25=1.0, sentence=0.0, mmr=1.0)
    a = Assistant.open(copy_index(built_index, tmp_path / "index"), weights=lexical_only)
    try:
        for q in (CARD_QUESTION, "ferry strike Piraeus", "Who gave Haftar his drones?"):
            hybrid = [p.chunk_id for p in a.search(q, k=3)]
            bm25 = [p.chunk_id for p in a.search(q, k=3, mode="bm25")]
            assert bm25 and hybrid[: len(bm25)] == bm25
    finally:
        a.close()


def test_a_custom_generator_answers_and_sees_only_its_context(tmp_path, built_index):
    gen = EchoGenerator()
    a = Assistant.open(copy_index(built_index, tmp_path / "index"), generator=gen)
    try:
        ans = a.ask(CARD_QUESTION)
    finally:
        a.close()
    question, passages, context = gen.seen[0]
    assert question == CARD_QUESTION and passages[0].article_id == SEED_ID
    assert ans is gen.answers[0] and ans.text.startswith("Echo: ") and ans.generator == "echo"  # its own answer
    assert ans.citations[0].quote and ans.text.endswith("[1]") and not ans.refused
    assert set(vars(context)) == {"encode", "term_weights"}  # no index, no facade
    assert context.encode(["a", "b"]).shape == (2, 384)
    assert max(context.term_weights("Haftar drones").values()) > 0
