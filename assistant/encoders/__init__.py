"""Encoders by name: `load_encoder("onnx-int8")`, or any object that follows the `Encoder` protocol."""
from __future__ import annotations

import os
from collections.abc import Callable

from ..errors import AssistantError
from .base import MAX_TOKENS, MODEL_DIM, MODEL_NAME, Encoder, model_path

DEFAULT = "onnx-int8"


def _torch(cache_dir: str | os.PathLike | None) -> Encoder:
    from .sbert import TorchEncoder

    return TorchEncoder()


def _onnx(quantized: bool) -> Callable[[str | os.PathLike | None], Encoder]:
    def load(cache_dir: str | os.PathLike | None) -> Encoder:
        from .onnx_encoder import OnnxEncoder

        return OnnxEncoder(quantized=quantized, cache_dir=cache_dir)

    return load


REGISTRY: dict[str, Callable[[str | os.PathLike | None], Encoder]] = {
    "torch": _torch, "onnx": _onnx(False), "onnx-int8": _onnx(True)}
NAMES = tuple(REGISTRY)
_LOADED: dict[tuple[str, str | None], Encoder] = {}


def load_encoder(backend: str | Encoder = DEFAULT, cache_dir: str | os.PathLike | None = None) -> Encoder:
    """One shared encoder per name (loading costs seconds, encoding is thread-safe); an `Encoder` passes through."""
    if not isinstance(backend, str):
        return backend
    if backend not in REGISTRY:
        raise AssistantError(f"Unknown encoder backend {backend!r}; choose one of {', '.join(NAMES)}")
    key = (backend, str(cache_dir) if cache_dir and backend != "torch" else None)
    if key not in _LOADED:
        _LOADED[key] = REGISTRY[backend](cache_dir)
    return _LOADED[key]


__all__ = ["DEFAULT", "NAMES", "Encoder", "load_encoder", "model_path", "MODEL_NAME", "MODEL_DIM", "MAX_TOKENS"]
