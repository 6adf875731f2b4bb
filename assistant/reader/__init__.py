"""The reader: a small cross-encoder that says which sentence answers a question and quotes the short answer."""
from __future__ import annotations

from functools import lru_cache

from .model import Reader, ReaderInput, Reading


@lru_cache(maxsize=1)
def shipped() -> Reader:
    """The reader that ships with the package, loaded (and its checksum verified) once per process."""
    return Reader.load()


__all__ = ["Reader", "ReaderInput", "Reading", "shipped"]
