"""Passage reranking: what the reader reads of each passage, how the fused score reorders, and the real reader on the
seed index."""
from __future__ import annotations

import numpy as np
import pytest

from assistant.reader import shipped
from assistant.search.rerank import Rerank, best_logits, fused, reads, rerank
from assistant.types import Passage


def passage(name: str, text: str, score: float) -> Passage:
    return Passage(name, f"{name} title", f"{name}#0", 0, len(text), text, score)


class ScriptedReader:
    """Logits by the sentence read: what `rerank` does with them is what is tested."""

    def __init__(self, logits: dict[str, float]):
        self.logits = logits
        self.batches: list[list[str]] = []

    def scores(self, items):  # noqa: ANN001, ANN201
        self.batches.append([i.sentence for i in items])
        return np.array([self.logits.get(i.sentence, -5.0) for i in items]), [(None, 0.0)] * len(items)


WEIGHTS = {"drones": 2.0, "turkey": 1.0}


def test_reads_takes_the_sentences_holding_most_of_the_question_with_the_one_before():
    p = passage("a", "Nothing here. Turkey sent drones. Turkey again. Weather.", 1.0)
    items, owner = reads("Who sent drones?", [p, p], WEIGHTS, per_passage=2)
    assert [i.sentence for i in items] == ["Turkey sent drones.", "Turkey again."] * 2
    assert items[0].before == "Nothing here." and items[0].title == "a title"
    assert owner == [0, 0, 1, 1]


def test_best_logits_and_fused():
    assert list(best_logits([1.0, 3.0, -2.0], [0, 0, 2], 4)) == [3.0, -np.inf, -2.0, -np.inf]
    z = fused([1.0, 0.8], np.array([0.0, -np.inf]), (1.0, 0.0, 1.0, 0.0, 0.0))
    assert list(z) == [1.0, 0.8 - 20.0]  # a passage with nothing read ranks as a hopeless one, not as NaN


def test_the_reader_lifts_an_answering_passage_over_a_closer_one_and_leaves_the_tail_alone():
    ps = [passage("a", "Turkey talks about drones.", 1.2), passage("b", "Turkey sent drones in May.", 1.0),
          passage("c", "Drones elsewhere.", 0.9), passage("d", "Tail passage on drones.", 0.5)]
    reader = ScriptedReader({"Turkey sent drones in May.": 6.0, "Turkey talks about drones.": -6.0})
    tuning = Rerank(depth=3, per_passage=1, weights=(1.0, 0.0, 1.0, 0.0, 0.0))
    out = rerank("Who sent drones?", ps, reader, WEIGHTS, tuning)  # type: ignore[arg-type]
    assert [p.article_id for p in out] == ["b", "c", "a", "d"]
    assert [p.score for p in out] == [1.0, 0.9, 1.2, 0.5]  # each keeps its retrieval score
    assert reader.batches == [[p.text for p in ps[:3]]]  # one batch, the head only


def test_retrieval_weight_keeps_the_order_when_the_reader_is_unsure():
    ps = [passage("a", "Turkey talks about drones.", 1.2), passage("b", "Turkey sent drones in May.", 1.0)]
    reader = ScriptedReader({"Turkey sent drones in May.": -4.0, "Turkey talks about drones.": -4.5})
    out = rerank("Who sent drones?", ps, reader, WEIGHTS, Rerank(weights=(0.0, 7.0, 0.7, 3.4, 0.0)))  # type: ignore[arg-type]
    assert [p.article_id for p in out] == ["a", "b"]


def test_one_passage_is_not_read():
    reader = ScriptedReader({})
    ps = [passage("a", "Turkey sent drones.", 1.0)]
    assert rerank("Who sent drones?", ps, reader, WEIGHTS) == ps  # type: ignore[arg-type]
    assert reader.batches == []


@pytest.mark.slow
def test_reranked_search_on_the_seed_index(assistant):
    """The shipped reader and weights: the answering passage stays first, k is honoured, the fast path is unchanged."""
    question = "Who gave Haftar his drones?"
    fast = assistant.search(question, k=5, rerank=False)
    slow = assistant.search(question, k=5, rerank=True)
    assert sorted(p.chunk_id for p in slow[:Rerank.depth]) == sorted(p.chunk_id for p in fast[:Rerank.depth])
    assert slow[Rerank.depth:] == fast[Rerank.depth:]
    assert "United Arab Emirates" in slow[0].text
    assert len(assistant.search(question, k=1, rerank=True)) == 1
    items, _ = reads(question, slow[:1], assistant.index.snapshot.lexical.term_weights(question), 1)
    assert shipped().scores(items)[0][0] > -2.0  # the reader does read the answering sentence as one


@pytest.mark.parametrize("setting, searched, asked", [(None, True, False), (True, True, True), (False, False, False)])
def test_which_calls_rerank(assistant, monkeypatch, setting, searched, asked):
    """By default `search` reranks and `ask` reads retrieval's order; True reranks both, False neither."""
    import assistant.assistant as facade

    calls: list[int] = []

    def spy(question, passages, reader, weights):  # noqa: ANN001, ANN202
        calls.append(len(passages))
        return list(passages)

    monkeypatch.setattr(facade, "rerank_passages", spy)
    a = facade.Assistant(assistant.index, rerank=setting)
    a.search("Who gave Haftar his drones?", k=1)
    assert calls == ([Rerank.depth] if searched else [])  # k=1 still reads the first two
    calls.clear()
    a.ask("Who gave Haftar his drones?")
    assert bool(calls) == asked
    assert bool(a.search("Who gave Haftar his drones?", mode="bm25")) and len(calls) == asked  # hybrid only
