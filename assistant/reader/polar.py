"""Yes/no rewrites of training questions: SQuAD has almost none, and news readers ask them ("Does Moscow admit …?").

A seeded share of the wh-questions whose shape allows it is rewritten into a polar question about its own gold
sentence. Half name the gold answer ("Was it the UAE that gave Haftar his drones?"), half the answer of another
question of the same kind, to which the gold sentence says "no". Either way the gold sentence answers the question,
so it stays the positive, without a span: a yes/no question's answer is not a phrase of the sentence. Its negatives
stay negatives, since they answer neither question.
"""
from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

from .data import Question

AUX = "is|was|are|were|did|does|do|has|have|had|can|could|will|would"
# "When was the treaty signed?" -> "Was the treaty signed in 1648?"; "Who was limited by …?" -> "Was Newton limited by …?"
AUX_QUESTION = re.compile(rf"^(who|what|when|where)\s+({AUX})\s+(.+?)[\s?.]*$", re.I)
# "Who designed the tower?" -> "Was it Gustave Eiffel that designed the tower?" ("What caused …?" too; no auxiliary
# anywhere after, else it is an object question: "What did Newton's mechanics not affect?")
SUBJECT_QUESTION = re.compile(rf"^(who|what(?=\s+\w+ed\b))\s+(?!.*(?:\b(?:{AUX})\b|n't))(.+?)[\s?.]*$", re.I)
NOUN_PHRASE = re.compile(r"^(?:(?i:the|a|an|his|her|its|their|this|that|these|those|one)\b|[A-Z0-9])")
PREPOSITION = re.compile(r"^(?:in|on|at|during|across|near|from|to|into|inside|outside|between|around|under|over|"
                         r"along|after|before|by|since|until|within|throughout)\b", re.I)
MONTH_DAY = re.compile(r"^(?:\d{1,2} )?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\w* \d", re.I)


def rewrite(question: str, answer: str) -> tuple[str, str] | None:
    """(polar question naming `answer`, its kind) or None when the question has no shape to rewrite."""
    q, answer = " ".join(question.split()), answer.strip(" .,;:")
    if not answer or len(answer.split()) > 8:
        return None
    if m := AUX_QUESTION.match(q):
        wh, aux, rest = m.group(1).lower(), m.group(2).capitalize(), m.group(3)
        if wh in ("who", "what") and aux.lower() in ("is", "was", "are", "were") and not NOUN_PHRASE.match(rest):
            return f"{aux} {answer} {rest}?", f"aux-{wh}"  # a passive: "Who was limited by …?"
        if wh in ("when", "where") and not PREPOSITION.match(answer):
            answer = ("on " if MONTH_DAY.match(answer) else "in ") + answer
        return f"{aux} {rest} {answer}?", f"aux-{wh}"
    if m := SUBJECT_QUESTION.match(q):
        return f"Was it {answer} that {m.group(2)}?", "subject"
    return None


def polarize(questions: Sequence[Question], share: float, seed: int = 13) -> list[Question]:
    """`questions` with a seeded `share` of the rewritable ones turned into yes/no questions (`polar=True`)."""
    if share <= 0:
        return list(questions)
    rng = random.Random(seed + 7919)  # its own stream: the examples drawn for the other questions do not move
    shapes = {q.id: rewrite(q.question, q.answers[0]) for q in questions if q.answers}
    pool: dict[str, list[str]] = defaultdict(list)
    for q in questions:
        if shape := shapes.get(q.id):
            pool[shape[1]].append(q.answers[0])
    out = []
    for q in questions:
        shape = shapes.get(q.id)
        if not shape or rng.random() >= share:
            out.append(q)
            continue
        named = q.answers[0]
        if rng.random() < 0.5:  # a "no": another question's answer of the same kind
            others = [a for a in pool[shape[1]] if not q.mentioned_in(a) and a.lower() not in q.question.lower()]
            named = rng.choice(others) if others else named
        text = rewrite(q.question, named)
        out.append(replace(q, question=text[0], polar=True) if text else q)
    return out
