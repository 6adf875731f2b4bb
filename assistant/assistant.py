"""The facade users import: open an index, add articles, search, ask."""
from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from .answer import Context, ExtractiveGenerator, Generator, ReaderGenerator, ReaderTuning, Tuning, answer
from .answer.base import with_chat
from .encoders import Encoder
from .errors import InputError
from .index import AddResult, Index
from .ingest.chunking import ChunkSettings
from .ingest.fetch import Fetcher
from .ingest.sources import load_run
from .reader import shipped
from .search import Weights, check_query, search
from .search.rerank import Rerank
from .search.rerank import rerank as rerank_passages
from .search.when import When, parse_when, recency_bonus
from .types import Answer, Article, Passage
from .validate import check_filter_types, check_k

log = logging.getLogger(__name__)


class Assistant:
    """`Assistant.open("index")` then `.add(articles)`, `.search(query)`, `.ask(question, history)`."""

    def __init__(self, index: Index, generator: Generator | None = None, weights: Weights = Weights(),
                 rerank: bool | None = None):
        self.index = index
        self.rerank = rerank
        self.generator = generator or ExtractiveGenerator()
        self.weights = weights
        self.context = Context(encode=lambda texts: self.index.encoder.encode(texts),
                               term_weights=lambda q: self.index.snapshot.lexical.answer_weights(q))

    @classmethod
    def open(cls, path: str | os.PathLike = "index", encoder: str | Encoder | None = None,
             chunking: ChunkSettings | None = None, generator: Generator | None = None, create: bool = True,
             lock_timeout: float | None = None, weights: Weights = Weights(),
             tuning: ReaderTuning | Tuning | None = None, rerank: bool | None = None, read_only: bool = False) -> Assistant:
        """Open the index at `path`, creating an empty one when missing (with `create=False`, an `IndexMissingError`).

        `encoder`: a registered name or an `Encoder` object, for a new index. `weights` tune retrieval; `tuning`
        the answers: a `ReaderTuning` for the reader (the default), a `Tuning` for the reader-free extractive
        composer (ignored when a `generator` is given). Writers wait up to `lock_timeout` seconds
        (default `ASSISTANT_LOCK_TIMEOUT` or 600) for another writer. `rerank`: None (the default) lets the reader
        reorder the first passages of `search` but not those `ask` reads (its answers measured no better for the
        time it costs, README "Reranking"); True both, False neither. `read_only=True` opens an existing index
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
                 max_article_chars: int | None = None, feed: bool = False, fetcher: Fetcher | None = None,
                 engine: str = "local", address: str | None = None, commit_every: int | None = None) -> AddResult:
        """Load files, folders or http(s) page URLs (with `feed`: RSS/Atom feeds, files or URLs, and every page they
        link) and add their articles; with `strict`, one bad item stops everything (nothing is added; on Ray, see
        below).

        Duplicate ids and long articles are logged as warnings (on Ray a duplicate id is an `InputError`); nothing
        readable at all is an `InputError`.
        `engine="ray"` reads, chunks and embeds files on a Ray cluster (`address`: "auto", the head's "host:port",
        or None for a local runtime) and writes here, one generation per `commit_every` chunks (ingest/distributed.py);
        each file is read once, so `strict` stops the run at the first bad item it meets, and generations published
        before it (a run longer than `commit_every` chunks) stay, complete.
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
        loaded = load_run(paths, feed=feed, fetcher=fetcher, max_chars=max_article_chars)
        if loaded.errors and strict:
            raise InputError("; ".join(loaded.errors))
        for warning in loaded.warnings:
            log.warning("%s", warning)
        if not loaded.articles:
            skipped = loaded.found.summary()
            raise InputError(f"nothing to index in {', '.join(map(str, paths))}"
                             + (f": skipped {skipped}" if skipped else ": no article found"))
        return self.add(loaded.articles, progress=progress)

    def remove(self, article_id: str) -> bool:
        return self.index.remove([article_id]) > 0

    def search(self, query: str, k: int = 5, filters: Mapping[str, object] | None = None,
               mode: str = "hybrid", rerank: bool | None = None, when: bool = True) -> list[Passage]:
        """The k best passages. Without an explicit date filter, a time phrase in `query` ("in 2019", "last
        week", "latest") becomes a date filter or a recency preference (`search/when.py`; `when=False`: never).
        `rerank` (default: the assistant's setting) lets the reader reorder the first two (README, "Reranking")."""
        k = check_k(k)
        reranked = (self.rerank is not False if rerank is None else rerank) and mode == "hybrid" and k > 0
        found = self._search(query, max(k, Rerank.depth) if reranked else k, filters, mode, when)
        if reranked:
            query = check_query(query)
            found = rerank_passages(query, found, shipped(), self.index.snapshot.lexical.term_weights(query))
        return found[:k]

    def _search(self, query: str, k: int, filters: Mapping[str, object] | None, mode: str,
                when: bool) -> list[Passage]:
        filters = check_filter_types(filters) or None
        if not when or (filters and (filters.get("date_from") or filters.get("date_to"))):
            return search(self.index, query, k=k, filters=filters, mode=mode, weights=self.weights)
        newest = self.index.store.newest_date()
        if newest is None:  # no article is dated: time phrases are just words of the question
            return search(self.index, query, k=k, filters=filters, mode=mode, weights=self.weights)
        asked = parse_when(query, newest) if isinstance(query, str) else When()
        wanted = {**(filters or {}), **asked.filters} if asked.filters else filters
        n = max(k * 3, 10) if asked.recency else k
        pool = search(self.index, query, k=n, filters=wanted, mode=mode, weights=self.weights)
        if not pool and asked.filters:  # nothing in that range: the phrase was part of the topic ("the 1990 law")
            pool = search(self.index, query, k=n, filters=filters, mode=mode, weights=self.weights)
        if not asked.recency:
            return pool
        for p in pool:
            p.score = round(p.score + recency_bonus(p.date, newest), 4)
        return sorted(pool, key=lambda p: -p.score)[:k]

    def ask(self, question: str, history: Sequence[Mapping[str, str]] | None = None,
            filters: Mapping[str, object] | None = None, generator: Generator | None = None,
            on_token: Callable[[str], None] | None = None) -> Answer:
        """`generator` overrides the assistant's for this question; `on_token` receives a language model's draft."""
        context = with_chat(self.context, on_token=on_token)
        rerank = bool(self.rerank)  # by default `ask` reads the passages in retrieval's order
        return answer(question, history, filters, lambda q, k, f: self.search(q, k=k, filters=f, rerank=rerank),
                      generator or self.generator, context)

    def article(self, article_id: str) -> Article | None:
        return self.index.store.article(article_id)

    def articles(self, match: str = "", limit: int | None = None) -> list[dict]:
        """The indexed articles, the last added (or changed) first: id, title, date, source, chunks, url. `match`
        keeps those whose id, title or source contains it, `limit` the first so many."""
        return self.index.store.list_articles(match, limit)

    def count_articles(self, match: str = "") -> int:
        """How many articles `articles(match)` would list."""
        return self.index.store.count_articles(match)

    def stats(self) -> dict:
        return self.index.manifest()

    def close(self) -> None:
        self.index.close()
