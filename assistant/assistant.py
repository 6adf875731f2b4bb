"""The facade users import: open an index, add articles, search, ask."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from .answer import Context, ExtractiveGenerator, Generator, Tuning, answer
from .answer.base import with_chat
from .encoders import Encoder
from .errors import InputError
from .index import AddResult, Index
from .ingest.chunking import ChunkSettings
from .ingest.loaders import load_paths
from .search import Weights, search
from .types import Answer, Article, Passage


class Assistant:
    """`Assistant.open("index")` then `.add(articles)`, `.search(query)`, `.ask(question, history)`."""

    def __init__(self, index: Index, generator: Generator | None = None, weights: Weights = Weights()):
        self.index = index
        self.generator = generator or ExtractiveGenerator()
        self.weights = weights
        self.context = Context(encode=lambda texts: self.index.encoder.encode(texts),
                               term_weights=lambda q: self.index.snapshot.lexical.term_weights(q))

    @classmethod
    def open(cls, path: str | os.PathLike = "index", encoder: str | Encoder | None = None,
             chunking: ChunkSettings | None = None, generator: Generator | None = None, create: bool = True,
             lock_timeout: float | None = None, weights: Weights = Weights(),
             tuning: Tuning | None = None) -> Assistant:
        """Open the index at `path`, creating an empty one when missing (with `create=False`, an `IndexMissingError`).

        `encoder`: a registered name or an `Encoder` object, for a new index. `weights` tune retrieval, `tuning`
        the extractive answers (ignored when a `generator` is given). Writers wait up to `lock_timeout` seconds
        (default `ASSISTANT_LOCK_TIMEOUT` or 600) for another writer.
        """
        index = Index(path, encoder=encoder, chunking=chunking, lock_timeout=lock_timeout, create=create)
        return cls(index, generator or (ExtractiveGenerator(tuning) if tuning else None), weights)

    @property
    def path(self) -> Path:
        return self.index.path

    def add(self, articles: Iterable[Article], progress: bool = False) -> AddResult:
        return self.index.add(list(articles), progress=progress)

    def add_path(self, *paths: str | os.PathLike, strict: bool = True, progress: bool = False) -> AddResult:
        """Load files or folders and add their articles; with `strict`, one bad file stops everything."""
        articles, errors = load_paths(paths)
        if errors and strict:
            raise InputError("; ".join(errors))
        return self.add(articles, progress=progress)

    def remove(self, article_id: str) -> bool:
        return self.index.remove([article_id]) > 0

    def search(self, query: str, k: int = 5, filters: Mapping[str, object] | None = None,
               mode: str = "hybrid") -> list[Passage]:
        return search(self.index, query, k=k, filters=filters, mode=mode, weights=self.weights)

    def ask(self, question: str, history: Sequence[Mapping[str, str]] | None = None,
            filters: Mapping[str, object] | None = None, generator: Generator | None = None,
            on_token: Callable[[str], None] | None = None) -> Answer:
        """`generator` overrides the assistant's for this question; `on_token` receives a language model's draft."""
        context = with_chat(self.context, on_token=on_token)
        return answer(question, history or [], filters, lambda q, k, f: self.search(q, k=k, filters=f),
                      generator or self.generator, context)

    def article(self, article_id: str) -> Article | None:
        return self.index.store.article(article_id)

    def articles(self) -> list[dict]:
        return self.index.store.list_articles()

    def stats(self) -> dict:
        return self.index.manifest()

    def close(self) -> None:
        self.index.close()
