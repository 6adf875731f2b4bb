"""Condense a follow-up question ("And who sends him mercenaries?") into a standalone query, without an LLM."""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from ..text.stopwords import STOPWORDS
from ..text.tokens import tokenize
from ..types import Passage

_WORD = re.compile(r"[\w’'-]+", re.UNICODE)
ANAPHORA = {"he", "him", "his", "she", "her", "hers", "they", "them", "their", "theirs", "it", "its",
            "this", "that", "these", "those", "there", "then", "such", "one"}
OPENERS = {"and", "but", "also", "so", "or", "what about", "how about", "and what", "why not"}
STOP = STOPWORDS | ANAPHORA | {"give", "gave", "tell", "told", "say", "says", "said", "again", "else"}
CALENDAR = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february",
            "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}


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
    return (refers_back(question) or bool(words) and (words[0] in OPENERS or opener in OPENERS)
            or len(content_words(question)) < 2)


def refers_back(question: str) -> bool:
    """A pronoun whose referent is not in the question: it can only be someone the conversation named."""
    return any(m.group(0).lower() in ANAPHORA and not (m.group(0).lower() in PERSONAL and names(question[:m.start()]))
               for m in _WORD.finditer(question))


def names(text: str, limit: int = 5) -> list[str]:
    """Capitalised words not at a sentence start: the people, places and groups a reply talks about (not the
    days and months it dates things by)."""
    out: list[str] = []
    for m in re.finditer(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w’'-]+", text):
        w = _possessive(m.group(0))
        if w.lower() not in STOP and w.lower() not in CALENDAR and w not in out:
            out.append(w)
    return out[:limit]


def condense(question: str, history: Sequence[Mapping[str, str]]) -> str:
    """The question, plus the topic words of the conversation it refers back to."""
    return with_topic(question, topic(question, history))


def with_topic(question: str, extra: Sequence[str]) -> str:
    """The standalone question: "How much will it borrow? (Ghana cocoa crop fall)"."""
    return f"{question} ({' '.join(extra)})" if extra else question


def topic(question: str, history: Sequence[Mapping[str, str]]) -> list[str]:
    """The words `condense` adds to a follow-up: what it refers back to (none for a standalone question)."""
    standalone = ""
    last_reply = ""
    for turn in history:
        role, text = turn.get("role"), str(turn.get("content") or "")
        if role == "user":
            standalone = _merge(text, standalone, last_reply) if standalone else text
        elif role == "assistant":
            last_reply = re.sub(r"\[\d+\]", "", text)
    return _extra(question, standalone, last_reply) if standalone else []


REFER_BACK = {"it", "its", "this", "that", "these", "those", "they", "them", "their", "there", "such"}


def _merge(question: str, previous: str, reply: str) -> str:
    return with_topic(question, _extra(question, previous, reply))


def _extra(question: str, previous: str, reply: str) -> list[str]:
    """The previous question's names (else the reply's: "Who called the strike?" names nobody, its answer does);
    for "it"/"that"-style references also its topic and the reply's names."""
    if not is_follow_up(question):
        return []
    have = {_possessive(w).lower() for w in content_words(question)}
    extra = names(previous) or names(reply)
    if REFER_BACK & {w.lower() for w in _WORD.findall(question)} or len(have) < 2:
        extra += names(reply) + content_words(previous)
    unique: dict[str, str] = {}
    for w in extra:  # "Ghana's" is "Ghana" again
        unique.setdefault(_possessive(w).lower(), w)
    return [w for key, w in unique.items() if key not in have][:8]


def _possessive(word: str) -> str:
    return re.sub(r"[’']s?$", "", word)


def about(passages: Sequence[Passage], question: str, extra: Sequence[str],
          term_weights: Callable[[str], Mapping[str, float]]) -> list[Passage]:
    """For a question whose pronoun points back, the passages of articles that name who or what it points to.

    The referent is one of the names the conversation gave the question (`extra`): a passage about someone
    else answers the question's words but not the question ("Who sends him mercenaries?" after a question
    about Haftar is not answered by another country's mercenaries). An article counts when any of its
    retrieved passages or its title names one (spelling variants included). When none does, all stay.
    """
    named = [w for w in extra if w[:1].isupper()]
    if not named or not refers_back(question):
        return list(passages)
    terms = set(term_weights(" ".join(named)))
    found = {p.article_id for p, words in zip(passages, tokenize([f"{p.title}\n{p.text}" for p in passages]))
             if terms & set(words)}
    return [p for p in passages if p.article_id in found] if found else list(passages)
