"""Time phrases in a question, as a date filter or a recency preference, relative to the newest article date
in the index (not the wall clock, so an archive of 1987 news answers "last week" about its own last week).

Recognised (case-insensitive), first match wins for the filter:
- "in|during|of|from 2019", "in December 2019", "in Dec. 2019"       -> that year / month
- "since 2019" / "after 2019" / "before 2019"                         -> open ranges
- "this year|month", "last|previous year|month"                       -> that calendar year/month of the newest date
- "this week" / "last week"                                           -> the 7 days up to the newest date / before them
- "past week|month|year", "in the last|past N days|weeks|months|years" -> the N units up to the newest date
- "today", "yesterday"                                                -> the newest date, the day before
- "latest", "most recent", "newest", "recent(ly)", "currently", "now", "so far"  -> recency preference only
Anything else (a bare "2019" that may be part of a name, "the 1990s", "next week") is left alone.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from ..ingest.dates import MONTHS


@dataclass(frozen=True)
class When:
    filters: dict[str, str] = field(default_factory=dict)  # date_from / date_to, ISO
    recency: bool = False
    phrase: str = ""


_YEAR = r"((?:19|20)\d\d)"
_MONTH = (r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?"
          r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_UNIT = r"(day|week|month|year)s?"
_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
            "ten": 10, "twelve": 12, "a": 1, "few": 3, "several": 3}
_RECENT = re.compile(r"\b(latest|most recent(?:ly)?|newest|recent(?:ly)?|currently|right now|so far|now)\b", re.I)
_PATTERNS = [
    ("month", re.compile(rf"\b(?:in|during|of|from)\s+{_MONTH}\s*,?\s+{_YEAR}\b", re.I)),
    ("year", re.compile(rf"\b(?:in|during|of|from|for)\s+(?:the\s+year\s+)?{_YEAR}\b(?!\s*[-–/]\d)", re.I)),
    ("since", re.compile(rf"\b(?:since|after)\s+{_YEAR}\b", re.I)),
    ("before", re.compile(rf"\bbefore\s+{_YEAR}\b", re.I)),
    ("span", re.compile(rf"\b(?:in\s+|over\s+|during\s+)?(?:the\s+)?(?:last|past)\s+(\d+|{'|'.join(_NUMBERS)})\s+{_UNIT}\b", re.I)),
    ("this", re.compile(rf"\bthis\s+{_UNIT}\b", re.I)),
    ("past", re.compile(rf"\bpast\s+{_UNIT}\b", re.I)),
    ("last", re.compile(rf"\b(?:last|previous)\s+{_UNIT}\b", re.I)),
    ("today", re.compile(r"\btoday\b", re.I)),
    ("yesterday", re.compile(r"\byesterday\b", re.I)),
]


def _month_range(y: int, m: int) -> tuple[date, date]:
    return date(y, m, 1), date(y, m, calendar.monthrange(y, m)[1])


def _shift_months(d: date, months: int) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 + months, 12)
    return date(y, m + 1, min(d.day, calendar.monthrange(y, m + 1)[1]))


def parse_when(question: str, newest: str | None) -> When:
    """The date filter and/or recency preference `question` asks for, relative to the `newest` ISO date."""
    recency = bool(_RECENT.search(question))
    try:
        ref = date.fromisoformat(newest[:10]) if newest else None
    except ValueError:
        ref = None
    for kind, pattern in _PATTERNS:
        m = pattern.search(question)
        if not m:
            continue
        span = _span(kind, m, ref)
        if span is None:
            continue
        lo, hi = span
        filters = {}
        if lo is not None:
            filters["date_from"] = lo.isoformat()
        if hi is not None:
            filters["date_to"] = hi.isoformat()
        return When(filters, recency, m.group(0))
    return When({}, recency, _RECENT.search(question).group(0) if recency else "")  # type: ignore[union-attr]


def _span(kind: str, m: re.Match, ref: date | None) -> tuple[date | None, date | None] | None:
    if kind == "month":
        return _month_range(int(m.group(2)), MONTHS[m.group(1).lower().rstrip(".")])
    if kind == "year":
        y = int(m.group(1))
        return date(y, 1, 1), date(y, 12, 31)
    if kind == "since":
        y = int(m.group(1)) + (1 if m.group(0).lower().startswith("after") else 0)
        return date(y, 1, 1), None
    if kind == "before":
        return None, date(int(m.group(1)) - 1, 12, 31)
    if ref is None:  # relative phrases need a newest date
        return None
    if kind in ("span", "past"):
        n = 1 if kind == "past" else int(m.group(1)) if m.group(1).isdigit() else _NUMBERS[m.group(1).lower()]
        unit = m.group(m.lastindex or 1).lower()
        if unit in ("day", "week"):
            return ref - timedelta(days=n * (7 if unit == "week" else 1) - 1), ref
        return _shift_months(ref, -n * (12 if unit == "year" else 1)) + timedelta(days=1), ref
    if kind == "today":
        return ref, ref
    if kind == "yesterday":
        return ref - timedelta(days=1), ref - timedelta(days=1)
    unit = m.group(1).lower()
    back = 1 if kind == "last" else 0
    if unit == "day":
        d = ref - timedelta(days=back)
        return d, d
    if unit == "week":  # the 7 days up to the newest date, or the 7 before them
        end = ref - timedelta(weeks=back)
        return end - timedelta(days=6), end
    if unit == "month":
        first = _shift_months(ref.replace(day=1), -back)
        return _month_range(first.year, first.month)
    y = ref.year - back
    return date(y, 1, 1), date(y, 12, 31)


def recency_bonus(day: str | None, newest: str | None, half_life_days: float = 30.0, weight: float = 0.3) -> float:
    """Score added to a passage for "latest" questions: `weight` for the newest date, halving every half-life."""
    if not day or not newest:
        return 0.0
    try:
        age = (date.fromisoformat(newest[:10]) - date.fromisoformat(day[:10])).days
    except ValueError:
        return 0.0
    return weight * 0.5 ** (max(age, 0) / half_life_days)
