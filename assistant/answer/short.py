"""The short answer inside a quote ("the United Arab Emirates"), read by the trained reader, with article offsets."""
from __future__ import annotations

from ..reader import Reading
from ..types import Answer
from .quotes import Candidate


def add_short_answer(answer: Answer, best: Candidate, reading: Reading, bar: float) -> None:
    """Set `answer.short` and the first citation's `answer_start/answer_end` when the span clears `bar`.

    The span must lie inside the first citation's quote, so `article.text[answer_start:answer_end] == short`
    and the UI can bold it inside the highlighted quote.
    """
    if reading.span is None or reading.span_prob < bar or not answer.citations:
        return
    s, e = reading.span
    start = best.passage.start + best.start + s
    first = answer.citations[0]
    if first.quote_start <= start and start + (e - s) <= first.quote_end:
        answer.short = best.text[s:e]
        first.answer_start, first.answer_end = start, start + (e - s)
