"""Types at the public boundary (`Assistant.search/ask/add`, the web API): a wrong type is an `InputError` that
says what was expected, never a TypeError from deep inside (or Gradio's "upstream app raised an exception")."""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence

from .errors import InputError
from .types import Article

DATE_KEYS = ("date_from", "date_to")
ROLES = ("user", "assistant", "system")  # the OpenAI/Gradio message list; "system" turns are ignored


def check_k(k: object) -> int:
    """The number of passages: a whole number (0 or less asks for none)."""
    if isinstance(k, bool) or not isinstance(k, int):
        raise InputError(f"k (the number of passages) must be a whole number such as 5, not {k!r} "
                         f"({type(k).__name__})")
    return k


def check_history(history: object, roles: Sequence[str] = ROLES) -> list[dict[str, str]]:
    """A list of {"role": "user"|"assistant"|"system", "content": str} messages (None: no history)."""
    if history is None:
        return []
    if not isinstance(history, Sequence) or isinstance(history, (str, bytes)):
        raise InputError(f"history must be a list of {{'role': 'user' or 'assistant', 'content': str}} messages, "
                         f"not {type(history).__name__}")
    out = []
    for i, turn in enumerate(history):
        if not isinstance(turn, Mapping) or turn.get("role") not in roles or not isinstance(turn.get("content"), str):
            raise InputError(f"history[{i}] must be a message {{'role': 'user' or 'assistant', 'content': str}}, "
                             f"not {str(turn)[:60]!r}")
        out.append({"role": str(turn["role"]), "content": turn["content"]})
    return out


def check_filter_types(filters: object) -> Mapping[str, object]:
    """A mapping of filter name to a string (article_id: a string or a list of strings); None: no filters."""
    if filters is None:
        return {}
    if not isinstance(filters, Mapping):
        raise InputError(f"filters must be a dict such as {{'source': 'AFP', 'date_from': '2019-01-01'}}, "
                         f"not {type(filters).__name__} {str(filters)[:40]!r}")
    for key, value in filters.items():
        if value is None or value == "" or value == []:
            continue
        if key == "article_id" and isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
            if all(isinstance(v, str) for v in value):
                continue
        elif isinstance(value, str) or (key in DATE_KEYS and isinstance(value, dt.date)):
            continue
        what = "a string or a list of strings" if key == "article_id" else "a string"
        raise InputError(f"filter {key!s} must be {what}, not {value!r} ({type(value).__name__})")
    return filters


def normalize_date(value: object, where: str) -> str | None:
    """ISO `YYYY-MM-DD`, so date filters compare as strings; used by the loaders, `add()` and the date filters."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return (value.date() if isinstance(value, dt.datetime) else value).isoformat()
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # 20191226
    if not isinstance(value, str):
        raise InputError(f"{where}: the date must be a string such as 2019-12-26, not {type(value).__name__}")
    from dateutil import parser

    try:  # a missing month or day is the first, not today's: "2019-12" is 2019-12-01 whenever it is read
        default = dt.datetime(dt.datetime.now().year, 1, 1)
        return parser.parse(value, fuzzy=False, default=default).date().isoformat()
    except (ValueError, OverflowError, TypeError) as exc:
        raise InputError(f"{where}: invalid date {value[:40]!r} (use ISO format, e.g. 2019-12-26)") from exc


def check_articles(articles: Sequence[Article]) -> list[Article]:
    """Refuse malformed `Article`s before anything is written (the loaders already produce valid ones); dates are
    normalised to ISO by the loaders' own function, so `date="yesterday"` is refused, not stored."""
    out = []
    for n, a in enumerate(articles, 1):
        if not isinstance(a, Article):
            raise InputError(f"item {n} of the batch is a {type(a).__name__}, not an Article")
        where = f"article {a.id!r}" if isinstance(a.id, str) else f"item {n} of the batch"
        if not isinstance(a.id, str) or not a.id.strip():
            raise InputError(f"{where}: the id must be a non-empty string")
        if not isinstance(a.text, str) or not a.text.strip():
            raise InputError(f"{where}: the article has no text")
        if not isinstance(a.title, str):
            raise InputError(f"{where}: the title must be a string")
        for name in ("date", "source", "url"):
            if getattr(a, name) is not None and not isinstance(getattr(a, name), str):
                raise InputError(f"{where}: {name} must be a string or None")
        for name in ("id", "title", "text", "date", "source", "url"):
            if "\x00" in (getattr(a, name) or ""):
                raise InputError(f"{where}: {name} contains a NUL character")
        date = normalize_date(a.date, where)
        out.append(a if date == a.date else dataclasses.replace(a, date=date))
    return out
