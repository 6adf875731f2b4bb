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
class Claim:
    """One sentence of a generated answer and whether the passage it cites holds it (see answer/verify.py)."""

    text: str  # the sentence without its markers
    markers: list[int]  # passage numbers the model cited (1-based, as numbered in its prompt)
    score: float  # support by the best cited (or re-pointed) passage, in [0, 1]
    verified: bool
    note: str = ""  # why it failed, or that its marker was re-pointed
    cited: list[int] = field(default_factory=list)  # citation numbers it carries in the answer (verified only)

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
    confidence: float = 0.0  # what refusal is decided on: the answerability probability (extractive, with the reader)
    short: str | None = None  # the short answer inside the first quote (the reader's span), when sure enough
    claims: list[Claim] = field(default_factory=list)  # per generated sentence (language-model answers only)
    generator: str = "extractive"  # "llm" when a language model wrote the text
    note: str = ""  # e.g. why a language-model answer fell back to the extractive one

    def to_dict(self) -> dict:
        return {
            "answer": self.text,
            "refused": self.refused,
            "question": self.question,
            "condensed_question": self.condensed_question,
            "confidence": self.confidence,
            "short": self.short,
            "citations": [c.to_dict() for c in self.citations],
            "claims": [c.to_dict() for c in self.claims],
            "generator": self.generator,
            "note": self.note,
            "passages": [p.to_dict() for p in self.passages],
        }
