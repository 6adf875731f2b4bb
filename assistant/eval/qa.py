"""The Q&A file: one JSON object per line, validated with the line number in every error."""
from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from . import metrics as m

REALIGN_WINDOW = 50  # cleaning may shift an MRQA answer_start by a few characters


@dataclass
class QAItem:
    id: str
    question: str
    answers: list[str]
    evidence: list[str] = field(default_factory=list)
    article_id: str | None = None
    answer_start: int | None = None
    answerable: bool = True

    def supports(self, text: str, start: int, end: int, article_id: str) -> bool:
        """Whether a passage or cited passage (article offsets start/end) holds this question's gold."""
        return self.answerable and m.passage_supports(
            text, start, end, article_id, gold_article_id=self.article_id, evidence=self.evidence,
            answers=self.answers, answer_start=self.answer_start)


def _strings(row: dict, key: str, where: str) -> list[str]:
    value = row.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{where}: {key!r} must be a list of strings")
    return value


def parse_item(row: object, where: str) -> QAItem:
    """One Q&A row; `where` ("file:line") starts every error message."""
    if not isinstance(row, dict):
        raise InputError(f"{where}: each line must be a JSON object")
    question = row.get("question")
    if not isinstance(question, str) or not question.strip():
        raise InputError(f"{where}: 'question' must be a non-empty string")
    if row.get("id") in (None, ""):
        raise InputError(f"{where}: missing 'id'")
    answers, evidence = _strings(row, "answers", where), _strings(row, "evidence", where)
    article_id, start = row.get("article_id"), row.get("answer_start")
    if article_id is not None and not isinstance(article_id, str):
        raise InputError(f"{where}: 'article_id' must be a string")
    if start is not None and (isinstance(start, bool) or not isinstance(start, int) or start < 0 or article_id is None):
        raise InputError(f"{where}: 'answer_start' must be a character offset (int >= 0) in the article named by 'article_id'")
    answerable = row.get("answerable", bool(answers))
    if not isinstance(answerable, bool):
        raise InputError(f"{where}: 'answerable' must be true or false")
    if not answerable and (answers or evidence or start is not None):
        raise InputError(f"{where}: an unanswerable question cannot have answers, evidence or answer_start")
    if answerable and not (answers or evidence or article_id):
        raise InputError(f"{where}: an answerable question needs 'answers', 'evidence' or 'article_id'")
    return QAItem(str(row["id"]), question, answers, evidence, article_id, start, answerable)


def load_qa(path: str | Path) -> list[QAItem]:
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the Q&A file ({exc})") from exc
    items, seen = [], set()
    for no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{no}: invalid JSON ({exc.msg} at column {exc.colno})") from exc
        item = parse_item(row, f"{path}:{no}")
        if item.id in seen:
            raise InputError(f"{path}:{no}: duplicate id {item.id!r}")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise InputError(f"{path}: no questions in the file")
    return items


def select(items: list[QAItem], limit: int | None, sample: int | None, seed: int) -> list[QAItem]:
    """The first `limit` questions, then `sample` of them drawn with `seed`, kept in file order."""
    items = items[:limit] if limit else items
    if sample and sample < len(items):
        keep = set(random.Random(seed).sample(range(len(items)), sample))
        items = [q for i, q in enumerate(items) if i in keep]
    return items


def in_split(items: list[QAItem], split_file: str | Path, split: str) -> list[QAItem]:
    """The questions whose `article_id` is in `split` of a split file ({"train": [ids], "test": [ids]}), so a part
    fitted on one split is judged on the other while every article stays in the corpus."""
    try:
        splits = json.loads(Path(split_file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{split_file}: cannot read the split file ({exc})") from exc
    if not isinstance(splits, dict) or not isinstance(splits.get(split), list):
        names = ", ".join(sorted(splits)) if isinstance(splits, dict) else "none"
        raise InputError(f"{split_file}: no split {split!r} (it has: {names})")
    keep = set(splits[split])
    return [q for q in items if q.article_id in keep]


def realign(text: str, start: int, answers: list[str]) -> int:
    """`start` if a gold answer begins there (ignoring case), else the nearest one within REALIGN_WINDOW chars."""
    golds = [re.compile(re.escape(a.strip()), re.I) for a in answers if a.strip()]
    if not golds or any(g.match(text, start) for g in golds):
        return start
    best = start
    for g in golds:
        lo = max(0, start - REALIGN_WINDOW - len(g.pattern))
        for hit in g.finditer(text, lo, start + REALIGN_WINDOW + len(g.pattern)):
            pos = hit.start()
            if abs(pos - start) <= REALIGN_WINDOW and (best == start or abs(pos - start) < abs(best - start)):
                best = pos
    return best
