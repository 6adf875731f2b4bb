"""sentence-transformers on torch: the reference encoder (every other one is checked against its vectors)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .base import MAX_TOKENS, MODEL_DIM, MODEL_NAME, model_path


class TorchEncoder:
    """sentence-transformers on torch: the reference encoder."""

    backend = "torch"

    def __init__(self) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(model_path()), device="cpu", local_files_only=True)
        self.model.max_seq_length = MAX_TOKENS
        self.name = MODEL_NAME
        self.dim = int(self.model.get_embedding_dimension() or MODEL_DIM)

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype="float32")
        vecs = self.model.encode(
            list(texts), batch_size=batch_size, normalize_embeddings=True,
            show_progress_bar=progress, convert_to_numpy=True,
        )
        return np.ascontiguousarray(vecs, dtype="float32")
