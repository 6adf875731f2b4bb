"""The facade users import: open an index, add articles, search, ask."""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from .answer import Context, ExtractiveGenerator, Generator, ReaderGenerator, ReaderTuning, Tuning, answer
from .encoders import Encoder
from .errors import InputError
from .index import AddResult, Index
from .ingest.chunking import ChunkSettings
from .ingest.loaders import load_paths
from .reader import shipped
from .search import Weights, check_query, search
from .search.rerank import DEPTH as RERANK_DEPTH
from .search.rerank import rerank as rerank_passages
from .types import Answer, Article, Passage


class Assistant:
    """`Assistant.open("index")` then `.add(articles)`, `.search(query)`, `.ask(question, history)`."""

    def __init__(self, index: Index, generator: Generator | None = None, weights: Weights = Weights(),
                 rerank: bool = False):
        self.index = index
        self.rerank = rerank
        self.generator = generator or ReaderGenerator()
        self.weights = weights
        self.context = Context(encode=lambda texts: self.index.encoder.encode(texts),
                               term_weights=lambda q: self.index.snapshot.lexical.term_weights(q))

    @classmethod
    def open(cls, path: str | os.PathLike = "index", encoder: str | Encoder | None = None,
             chunking: ChunkSettings | None = None, generator: Generator | None = None, create: bool = True,
             lock_timeout: float | None = None, weights: Weights = Weights(),
             tuning: ReaderTuning | Tuning | None = None, rerank: bool = False, read_only: bool = False) -> Assistant:
        """Open the index at `path`, creating an empty one when missing (with `create=False`, an `IndexMissingError`).

        `encoder`: a registered name or an `Encoder` object, for a new index. `weights` tune retrieval; `tuning`
        the answers: a `ReaderTuning` for the reader (the default), a `Tuning` for the reader-free extractive
        composer (ignored when a `generator` is given). Writers wait up to `lock_timeout` seconds
        (default `ASSISTANT_LOCK_TIMEOUT` or 600) for another writer. `read_only=True` opens an existing index
        for serving only (several app replicas beside one writer): each search sees the newest published generation.
        """
        index = Index(path, encoder=encoder, chunking=chunking, lock_timeout=lock_timeout, create=create,
                      read_only=read_only)
        if generator is None and isinstance(tuning, Tuning):
            generator = ExtractiveGenerator(tuning)
        elif generator is None and isinstance(tuning, ReaderTuning):
            generator = ReaderGenerator(tuning)
        return cls(index, generator, weights, rerank)

    @property
    def path(self) -> Path:
        return self.index.path

    def add(self, articles: Iterable[Article], progress: bool = False) -> AddResult:
        return self.index.add(list(articles), progress=progress)

    def add_path(self, *paths: str | os.PathLike, strict: bool = True, progress: bool = False,
                 engine: str = "local", address: str | None = None, commit_every: int | None = None) -> AddResult:
        """Load files or folders and add their articles; with `strict`, one bad file stops everything.

        `engine="ray"` reads, chunks and embeds on a Ray cluster (`address`: "auto", "ray://host:port", or None for
        a local runtime) and writes here, one generation per `commit_every` chunks (assistant/ingest/distributed.py).
        """
        if engine == "ray":
            from .ingest.distributed import DEFAULT_COMMIT_EVERY, ingest

            result, errors = ingest(self.index, paths, address=address, progress=progress,
                                    commit_every=commit_every or DEFAULT_COMMIT_EVERY, strict=strict)
            if errors and strict:
                raise InputError("; ".join(errors))
            return result
        if engine != "local":
            raise InputError(f"unknown engine {engine!r}; use 'local' or 'ray'")
        articles, errors = load_paths(paths)
        if errors and strict:
            raise InputError("; ".join(errors))
        return self.add(articles, progress=progress)

    def remove(self, article_id: str) -> bool:
        return self.index.remove([article_id]) > 0

    def search(self, query: str, k: int = 5, filters: Mapping[str, object] | None = None,
               mode: str = "hybrid", rerank: bool | None = None) -> list[Passage]:
        """The k best passages; `rerank=True` reorders the top 20 by the reader (slower; see README for when it helps)."""
        if not (self.rerank if rerank is None else rerank) or mode != "hybrid":
            return search(self.index, query, k=k, filters=filters, mode=mode, weights=self.weights)
        found = search(self.index, query, k=max(k, RERANK_DEPTH), filters=filters, mode=mode, weights=self.weights)
        weights = self.index.snapshot.lexical.term_weights(check_query(query))
        return rerank_passages(check_query(query), found, shipped(), weights)[:k]

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
