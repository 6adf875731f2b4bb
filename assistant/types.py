"""Plain dataclasses passed between the stages; offsets always refer to `Article.text`."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Article:
    id: str
    title: str
    text: str
    date: str | None = None
    source: str | None = None
    url: str | None = None


@dataclass
class Chunk:
    """A slice of an article: `article.text[start:end] == text` always holds."""

    article_id: str
    index: int
    start: int
    end: int
    text: str

    @property
    def id(self) -> str:
        return f"{self.article_id}#{self.index}"


@dataclass
class Passage:
    """A retrieved chunk with the article metadata a reader needs to judge it."""

    article_id: str
    title: str
    chunk_id: str
    start: int
    end: int
    text: str
    score: float
    date: str | None = None
    source: str | None = None
    url: str | None = None
    also_in: list[str] = field(default_factory=list)  # the story's other articles: their sources (else ids)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Citation:
    """Answer marker `[n]`: the cited passage and the exact quote in it that supports the answer."""

    n: int
    article_id: str
    title: str
    chunk_id: str
    start: int
    end: int
    text: str
    quote: str
    quote_start: int
    quote_end: int
    score: float
    date: str | None = None
    source: str | None = None
    answer_start: int | None = None  # article offsets of the short answer inside the quote (first citation only)
    answer_end: int | None = None
    url: str | None = None
    also_in: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Answer:
    text: str
    citations: list[Citation] = field(default_factory=list)
    refused: bool = False
    passages: list[Passage] = field(default_factory=list)
    question: str = ""
    condensed_question: str = ""
    confidence: float = 0.0  # score of the best supporting sentence; refusal happens below a calibrated bar
    short: str | None = None  # the short answer inside the first quote (the reader's span), when sure enough

    def to_dict(self) -> dict:
        return {
            "answer": self.text,
            "refused": self.refused,
            "question": self.question,
            "condensed_question": self.condensed_question,
            "confidence": self.confidence,
            "short": self.short,
            "citations": [c.to_dict() for c in self.citations],
            "passages": [p.to_dict() for p in self.passages],
        }
