"""Reader examples from MRQA-format files: (question, sentence) pairs labelled by whether the sentence holds the answer.

Sentences are cut exactly as the product cuts them (`sentence_spans`). Per question: the answering sentence, other
sentences of its paragraph, hard negatives (high-BM25 sentences of other paragraphs), "refusal" negatives
(sentences of the closest other paragraph) and, when `mine` is given, the product's own candidates (`mining.py`):
the sentences its overlap scorer ranks best for the question, the ones the reader has to tell apart in use. A
sentence that contains an answer string but is not the gold one is ambiguous and never used as a negative.
Everything is seeded, so a rebuild makes the same examples.
"""
from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..text.sentences import sentence_spans


@dataclass(frozen=True)
class Paragraph:
    id: str
    title: str
    text: str

    def sentences(self) -> list[tuple[str, str, int, int]]:
        """(sentence, previous sentence, start, end) in reading order."""
        spans = sentence_spans(self.text)
        return [(self.text[s:e], self.text[spans[i - 1][0]:spans[i - 1][1]] if i else "", s, e)
                for i, (s, e) in enumerate(spans)]


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: tuple[str, ...]
    article_id: str
    answer_start: int
    polar: bool = False  # rewritten as a yes/no question (`polar.py`): its gold sentence answers, with no span

    def gold(self, text: str) -> tuple[int, int]:
        """Char span of the gold answer: the first answer string found at `answer_start`."""
        for a in self.answers:
            if text.startswith(a, self.answer_start):
                return self.answer_start, self.answer_start + len(a)
        return self.answer_start, self.answer_start + len(self.answers[0])

    def mentioned_in(self, text: str) -> bool:
        low = text.lower()
        return any(a.strip() and a.strip().lower() in low for a in self.answers)


@dataclass(frozen=True)
class Example:
    qid: str
    question: str
    sentence: str
    title: str
    before: str
    label: int
    span: tuple[int, int] | None  # char span of the answer inside `sentence` (positives only)
    kind: str  # pos | same | hard | refusal | cand


def load(data_dir: str | Path) -> tuple[dict[str, Paragraph], list[Question], dict[str, list[str]]]:
    d = Path(data_dir)
    paras = {}
    for line in (d / "articles.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            paras[r["id"]] = Paragraph(r["id"], r.get("title") or "", r["text"])
    qs = [Question(r["id"], r["question"], tuple(r["answers"]), r["article_id"], int(r["answer_start"]))
          for r in map(json.loads, filter(str.strip, (d / "qa.jsonl").read_text(encoding="utf-8").splitlines()))]
    return paras, qs, json.loads((d / "split.json").read_text(encoding="utf-8"))


def dev_split(train_ids: Sequence[str], questions: Sequence[Question], frac: float = 0.1) -> tuple[list[str], list[str]]:
    """(fit, dev) paragraphs: in article order (earliest question id = creation time), the last `frac` is dev."""
    first: dict[str, str] = {}
    for q in questions:
        first[q.article_id] = min(first.get(q.article_id, q.id), q.id)
    order = sorted(train_ids, key=lambda p: (first.get(p, "~"), p))
    cut = len(order) - max(1, round(frac * len(order)))
    return order[:cut], order[cut:]


class Bm25:
    """BM25 over a list of texts (bm25s, English stopwords); `top` gives indices, best first."""

    def __init__(self, texts: Sequence[str]) -> None:
        import bm25s

        self.n = len(texts)
        self.index = bm25s.BM25()
        self.index.index(bm25s.tokenize(list(texts), stopwords="en", show_progress=False), show_progress=False)

    def top(self, queries: Sequence[str], k: int) -> list[list[int]]:
        import bm25s

        k = min(k, self.n)
        docs, scores = self.index.retrieve(bm25s.tokenize(list(queries), stopwords="en", show_progress=False),
                                           k=k, show_progress=False)
        return [[int(d) for d, s in zip(row, srow) if s > 0] for row, srow in zip(docs, scores)]


def gold_index(para: Paragraph, q: Question) -> tuple[int, tuple[int, int]] | None:
    """Index of the sentence holding the gold answer start, and the answer's span inside it (clipped)."""
    a, b = q.gold(para.text)
    for i, (_, _, s, e) in enumerate(para.sentences()):
        if s <= a < e:
            return i, (a - s, min(b, e) - s)
    return None


def build_examples(paras: dict[str, Paragraph], questions: Sequence[Question], para_ids: Sequence[str],
                   seed: int = 13, same: int = 2, hard: int = 2, refusal: int = 2,
                   limit: int | None = None, mine: Callable[[list[Question]], Mapping[str, Sequence]] | None = None,
                   cand: int = 3) -> list[Example]:
    """Examples for the questions on `para_ids` (~1 positive : same + hard + refusal + cand negatives).

    `mine(questions)` gives each question's product candidates (`mining.Mined`, best first); the best `cand` of them
    that neither are the gold sentence nor mention an answer become negatives. A yes/no question (`Question.polar`)
    has its gold sentence as a positive without a span.
    """
    rng = random.Random(seed)
    ids = set(para_ids)
    qs = [q for q in questions if q.article_id in ids]
    if limit:
        qs = rng.sample(qs, min(limit, len(qs)))
    mined = mine(qs) if mine else {}
    plist = [paras[p] for p in para_ids]
    sents = [(p, s) for p in plist for s in p.sentences()]
    by_sent = Bm25([s[0] for _, s in sents]).top([q.question for q in qs], 12)
    by_para = Bm25([p.text for p in plist]).top([q.question for q in qs], 4)
    out: list[Example] = []
    for q, s_hits, p_hits in zip(qs, by_sent, by_para):
        para = paras[q.article_id]
        found = gold_index(para, q)
        if found is None:
            continue
        gi, span = found
        first = len(out)
        rows = para.sentences()
        sent, before = rows[gi][0], rows[gi][1]
        out.append(Example(q.id, q.question, sent, para.title, before, 1, None if q.polar else span, "pos"))
        others = [r for i, r in enumerate(rows) if i != gi and not q.mentioned_in(r[0])]
        for r in rng.sample(others, min(same, len(others))):
            out.append(Example(q.id, q.question, r[0], para.title, r[1], 0, None, "same"))
        hits = [sents[i] for i in s_hits if sents[i][0].id != para.id and not q.mentioned_in(sents[i][1][0])]
        for p, r in hits[:hard]:
            out.append(Example(q.id, q.question, r[0], p.title, r[1], 0, None, "hard"))
        close = [plist[i] for i in p_hits if plist[i].id != para.id and not q.mentioned_in(plist[i].text)]
        if close:
            rs = close[0].sentences()
            for r in rng.sample(rs, min(refusal, len(rs))):
                out.append(Example(q.id, q.question, r[0], close[0].title, r[1], 0, None, "refusal"))
        gold_start, used = q.gold(para.text)[0], {e.sentence for e in out[first:]}
        picked = [m for m in mined.get(q.id, ()) if not q.mentioned_in(m.sentence) and m.sentence not in used
                  and not (m.article_id == para.id and m.start <= gold_start < m.end)]
        for m in picked[:cand]:
            out.append(Example(q.id, q.question, m.sentence, m.title, m.before, 0, None, "cand"))
    return out
