"""What a question must be before any tokenizer sees it."""
from __future__ import annotations

from ..errors import InputError
from ..ingest.cleaning import has_broken_unicode

MAX_QUERY_CHARS = 2000


def check_query(query: object) -> str:
    """The query with whitespace folded; a clear `InputError` for anything a tokenizer cannot take."""
    if not isinstance(query, str):
        raise InputError(f"The question must be text (a str), not {type(query).__name__}.")
    if not query.strip():
        raise InputError("The question is empty; type a question about the articles.")
    if has_broken_unicode(query):
        raise InputError("The question holds broken characters (invalid UTF-8 or a lone surrogate); retype it.")
    if len(query) > MAX_QUERY_CHARS:
        raise InputError(f"The question is {len(query):,} characters long; keep it under {MAX_QUERY_CHARS:,}.")
    return " ".join(query.split())
