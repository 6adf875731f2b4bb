"""The facade users import: open an index, add articles, search, ask."""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from .answer import Context, ExtractiveGenerator, Generator, Tuning, answer
from .encoders import Encoder
from .errors import InputError
from .index import AddResult, Index
from .ingest.chunking import ChunkSettings
from .ingest.fetch import Fetcher
from .ingest.sources import load_sources
from .search import Weights, search
from .search.when import When, parse_when, recency_bonus
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

    def add_path(self, *paths: str | os.PathLike, strict: bool = True, progress: bool = False,
                 feed: bool = False, fetcher: Fetcher | None = None) -> AddResult:
        """Load files, folders or http(s) page URLs (with `feed`: RSS/Atom feeds, files or URLs, and every page
        they link) and add their articles; with `strict`, one bad item stops everything (nothing is added)."""
        articles, errors = load_sources(paths, feed=feed, fetcher=fetcher)
        if errors and strict:
            raise InputError("; ".join(errors))
        return self.add(articles, progress=progress)

    def remove(self, article_id: str) -> bool:
        return self.index.remove([article_id]) > 0

    def search(self, query: str, k: int = 5, filters: Mapping[str, object] | None = None,
               mode: str = "hybrid", when: bool = True) -> list[Passage]:
        """The k best passages. Without an explicit date filter, a time phrase in `query` ("in 2019", "last
        week", "latest") becomes a date filter or a recency preference (`search/when.py`; `when=False`: never)."""
        if not when or (filters and (filters.get("date_from") or filters.get("date_to"))):
            return search(self.index, query, k=k, filters=filters, mode=mode, weights=self.weights)
        newest = self.index.store.newest_date()
        if newest is None:  # no article is dated: time phrases are just words of the question
            return search(self.index, query, k=k, filters=filters, mode=mode, weights=self.weights)
        asked = parse_when(query, newest) if isinstance(query, str) else When()
        wanted = {**(filters or {}), **asked.filters} if asked.filters else filters
        pool = search(self.index, query, k=max(k * 3, 10) if asked.recency else k, filters=wanted, mode=mode,
                      weights=self.weights)
        if not pool and asked.filters:  # nothing in that range: the phrase was part of the topic ("the 1990 law")
            pool = search(self.index, query, k=max(k * 3, 10) if asked.recency else k, filters=filters, mode=mode,
                          weights=self.weights)
        if not asked.recency:
            return pool
        for p in pool:
            p.score = round(p.score + recency_bonus(p.date, newest), 4)
        return sorted(pool, key=lambda p: -p.score)[:k]

    def ask(self, question: str, history: Sequence[Mapping[str, str]] | None = None,
            filters: Mapping[str, object] | None = None) -> Answer:
        return answer(question, history or [], filters, lambda q, k, f: self.search(q, k=k, filters=f),
                      self.generator, self.context)

    def article(self, article_id: str) -> Article | None:
        return self.index.store.article(article_id)

    def articles(self) -> list[dict]:
        return self.index.store.list_articles()

    def stats(self) -> dict:
        return self.index.manifest()

    def close(self) -> None:
        self.index.close()
