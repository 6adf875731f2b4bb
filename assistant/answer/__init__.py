"""From passages to a cited answer: the `Generator` seam, the extractive composer, follow-up condensing."""
from .ask import answer
from .base import REFUSAL, ChatContext, Context, Generator, refusal
from .extractive import ExtractiveGenerator, Tuning
from .reading import ReaderGenerator, ReaderTuning

__all__ = ["REFUSAL", "ChatContext", "Context", "ExtractiveGenerator", "Generator", "ReaderGenerator", "ReaderTuning",
           "Tuning", "answer", "refusal"]
