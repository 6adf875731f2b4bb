"""Condense a follow-up question ("And who sends him mercenaries?") into a standalone query, without an LLM."""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ..text.stopwords import STOPWORDS

_WORD = re.compile(r"[\w’'-]+", re.UNICODE)
ANAPHORA = {"he", "him", "his", "she", "her", "hers", "they", "them", "their", "theirs", "it", "its",
            "this", "that", "these", "those", "there", "then", "such", "one"}
OPENERS = {"and", "but", "also", "so", "or", "what about", "how about", "and what", "why not"}
STOP = STOPWORDS | ANAPHORA | {"give", "gave", "tell", "told", "say", "says", "said", "again", "else"}


def content_words(text: str) -> list[str]:
    seen: dict[str, str] = {}
    for w in _WORD.findall(text):
        low = w.lower().strip("’'")
        if low not in STOP and len(low) > 1 and low not in seen:
            seen[low] = w
    return list(seen.values())


PERSONAL = {"he", "him", "his", "she", "her", "hers", "they", "them", "their", "theirs"}


def is_follow_up(question: str) -> bool:
    """Pronouns without a referent, a conjunction opener, or too few words to stand alone.

    A personal pronoun after a name in the question refers to it ("Who gave Haftar his drones?").
    """
    words = [w.lower() for w in _WORD.findall(question)]
    opener = " ".join(words[:2])
    unresolved = any(m.group(0).lower() in ANAPHORA and not (m.group(0).lower() in PERSONAL and names(question[:m.start()]))
                     for m in _WORD.finditer(question))
    return (unresolved or bool(words) and (words[0] in OPENERS or opener in OPENERS)
            or len(content_words(question)) < 2)


def names(text: str, limit: int = 5) -> list[str]:
    """Capitalised words not at a sentence start: the people, places and groups a reply talks about."""
    out: list[str] = []
    for m in re.finditer(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w’'-]+", text):
        w = re.sub(r"[’']s?$", "", m.group(0))
        if w.lower() not in STOP and w not in out:
            out.append(w)
    return out[:limit]


def condense(question: str, history: Sequence[Mapping[str, str]]) -> str:
    """The question, plus the topic words of the conversation it refers back to."""
    standalone = ""
    last_reply = ""
    for turn in history:
        role, text = turn.get("role"), str(turn.get("content") or "")
        if role == "user":
            standalone = _merge(text, standalone, last_reply) if standalone else text
        elif role == "assistant":
            last_reply = re.sub(r"\[\d+\]", "", text)
    return _merge(question, standalone, last_reply) if standalone else question


REFER_BACK = {"it", "its", "this", "that", "these", "those", "they", "them", "their", "there", "such"}


def _merge(question: str, previous: str, reply: str) -> str:
    """Carry the previous question's names; for "it"/"that"-style references also its topic and the reply's names."""
    if not is_follow_up(question):
        return question
    have = {w.lower() for w in content_words(question)}
    extra = names(previous)
    if REFER_BACK & {w.lower() for w in _WORD.findall(question)} or len(have) < 2:
        extra += names(reply) + content_words(previous)
    extra = [w for w in extra if w.lower() not in have]
    extra = list(dict.fromkeys(extra))[:8]
    return f"{question} ({' '.join(extra)})" if extra else question
