"""One question's outcome: what the evaluation measured, before any report summarises it."""
from __future__ import annotations

from dataclasses import dataclass, field

from .qa import QAItem


@dataclass
class Result:
    item: QAItem
    hits: dict[str, list[bool]] = field(default_factory=dict)
    search_ms: dict[str, float] = field(default_factory=dict)
    answer: str = ""
    refused: bool = False
    cited: list[str] = field(default_factory=list)
    cited_ok: list[bool] = field(default_factory=list)
    em: float = 0.0
    f1: float = 0.0
    quote_f1: float = 0.0
    short: str = ""  # the short answer, when the reader gave one
    short_em: float = 0.0
    short_f1: float = 0.0
    ask_ms: float = 0.0

    def rank(self, mode: str) -> int | None:
        return next((i for i, h in enumerate(self.hits.get(mode, []), 1) if h), None)
