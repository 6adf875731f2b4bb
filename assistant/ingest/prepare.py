"""The stateless ingestion stages over a batch of articles: chunk, embed, split sentences, fingerprint (MinHash).
Only the index writes.

Each function takes and returns plain data, so a distributed engine (e.g. Ray `map_batches`) can run
them on many workers and feed the results to the single `Index.write` call.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..encoders import Encoder
from ..errors import InputError
from ..text.minhash import signature
from ..text.sentences import sentence_spans
from ..types import Article, Chunk
from .chunking import ChunkSettings, chunk_article, embedding_text


def content_hash(article: Article) -> str:
    """Identity of an article's content: re-adding the same content is a no-op."""
    payload = json.dumps([article.title, article.text, article.date, article.source, article.url])
    return hashlib.sha256(payload.encode()).hexdigest()


def freshness(article: Article, stored: str | None) -> str:
    """"new", "changed" or "unchanged": the article against the content hash an index holds for its id (None: none)."""
    if stored is None:
        return "new"
    return "unchanged" if stored == content_hash(article) else "changed"


def check_unique(articles: Sequence[Article]) -> None:
    seen: set[str] = set()
    dupes: set[str] = set()
    for a in articles:
        (dupes if a.id in seen else seen).add(a.id)
    if dupes:
        raise InputError(f"duplicate article ids in one batch: {', '.join(sorted(dupes)[:5])}")


@dataclass
class Prepared:
    """Articles ready to write: their hashes and signatures, chunks, one vector per chunk and its sentences."""

    articles: list[Article]
    hashes: list[str]
    chunks: list[Chunk] = field(default_factory=list)
    vectors: np.ndarray | None = None
    sentences: list[tuple[tuple[int, int], ...]] = field(default_factory=list)  # spans within each chunk
    signatures: list[np.ndarray | None] = field(default_factory=list)  # each article's MinHash, for story groups

    def article_signatures(self) -> list[np.ndarray | None]:
        """One MinHash per article: as prepared, or computed now for a batch made without them."""
        if not self.signatures:
            return [signature(a.text) for a in self.articles]
        if len(self.signatures) != len(self.articles):
            raise ValueError(f"{len(self.signatures)} signatures for {len(self.articles)} articles")
        return self.signatures


def prepare(articles: Sequence[Article], settings: ChunkSettings, encoder: Encoder,
            batch_size: int | None = None, progress: bool = False) -> Prepared:
    """Chunk and embed a batch, and fingerprint its articles (the expensive, parallelisable part of indexing).

    `batch_size=None` lets the encoder use its own best batch (64 on torch, 8 on onnxruntime; see docs/speed.md).
    """
    chunks: list[Chunk] = []
    texts: list[str] = []
    for article in articles:
        for chunk in chunk_article(article, settings):
            chunks.append(chunk)
            texts.append(embedding_text(chunk, article.title, settings))
    sized = {"batch_size": batch_size} if batch_size else {}
    vectors = encoder.encode(texts, progress=progress and len(texts) > 256, **sized)
    return Prepared(list(articles), [content_hash(a) for a in articles], chunks, vectors,
                    [sentence_spans(c.text) for c in chunks], [signature(a.text) for a in articles])


def sentence_json(prepared: Prepared) -> list[str]:
    """Each chunk's sentence spans as stored (computed here when the batch came without them)."""
    spans = prepared.sentences or [sentence_spans(c.text) for c in prepared.chunks]
    return [json.dumps(s, separators=(",", ":")) for s in spans]
