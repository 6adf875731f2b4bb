"""One turn of a conversation: condense the follow-up, retrieve, let the generator answer from the passages."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from ..search import MAX_QUERY_CHARS, check_query
from ..types import Answer, Passage
from ..validate import check_history
from .base import Context, Generator, refusal, with_chat
from .conversation import about, topic, with_topic

DEFAULT_PASSAGES = 6

Search = Callable[[str, int, "Mapping[str, object] | None"], list[Passage]]


def answer(question: str, history: Sequence[Mapping[str, str]] | None, filters: Mapping[str, object] | None,
           search: Search, generator: Generator, context: Context) -> Answer:
    """The answer to `question` in the conversation `history`; `search(query, k, filters)` finds the passages."""
    question = check_query(question)
    history = check_history(history)
    extra = topic(question, history)
    standalone = with_topic(question, extra)
    if len(standalone) > MAX_QUERY_CHARS:  # the context words would push a valid question over the limit
        standalone, extra = question, []
    k = getattr(getattr(generator, "tuning", None), "passages", DEFAULT_PASSAGES)
    passages = about(search(standalone, k, filters), question, extra, context.term_weights)
    if not passages:
        result = refusal(question, passages)
    else:
        asked = question if extra else ""
        result = generator.generate(standalone, passages, with_chat(context, history, asked=asked))
    result.question, result.condensed_question = question, standalone
    return result
