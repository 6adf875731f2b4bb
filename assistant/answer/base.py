"""The seam between retrieval and answering: a `Generator` turns passages into a cited `Answer`, or refuses."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..types import Answer, Passage

REFUSAL = "The articles don't say. I found no passage that answers this; the closest ones are listed for you to check."


@dataclass(frozen=True)
class Context:
    """What a generator may use besides the passages: ways to score sentences, not the index behind them."""

    encode: Callable[[Sequence[str]], np.ndarray]  # L2-normalised vectors, one per text (the index's encoder)
    # the question's terms weighted by corpus idf, name variants included, and the names it gives that no article
    # holds at the idf of an unseen term (Lexical.answer_weights)
    term_weights: Callable[[str], dict[str, float]]


@dataclass(frozen=True)
class ChatContext(Context):
    """A `Context` for generators that chat: the conversation so far and where to stream a draft.

    Passed only when there is a history or a listener, so a plain turn still gets just the two scoring tools.
    """

    history: Sequence[Mapping[str, str]] = ()  # {role, content} turns before this question
    on_token: Callable[[str], None] | None = None  # receives a streaming generator's draft text as it is written
    asked: str = ""  # a follow-up as the user typed it, when the question given is condensed (conversation.py)


def with_chat(context: Context, history: Sequence[Mapping[str, str]] = (),
              on_token: Callable[[str], None] | None = None, asked: str = "") -> Context:
    """`context` plus the conversation, a draft listener and a condensed follow-up's own words, when there is any."""
    history = tuple(history) or tuple(getattr(context, "history", ()))
    on_token = on_token or getattr(context, "on_token", None)
    asked = asked or getattr(context, "asked", "")
    if not history and on_token is None and not asked:
        return context
    return ChatContext(context.encode, context.term_weights, history, on_token, asked)


class Generator(Protocol):
    """Turns retrieved passages into an answer. Swap in an LLM here; retrieval and UI stay as they are."""

    def generate(self, question: str, passages: Sequence[Passage], context: Context) -> Answer: ...


def refusal(question: str, passages: Sequence[Passage], confidence: float = 0.0) -> Answer:
    return Answer(REFUSAL, [], True, list(passages), question, confidence=round(confidence, 4))
