"""Publication dates found in an article's own text, when no metadata gives one, and in noisy metadata.

- a Reuters-21578 style header "26-FEB-1987" (optionally with a time) near the start: a full date;
- a dateline "TRIPOLI, Dec 26 (Reuters) -" or "NEW YORK, March 3 -": month and day only, so the year must come
  from other metadata (`year`); without it the article stays undated rather than guessed;
- a metadata date that starts with a full date and carries noise after it (`leading_date`).
"""
from __future__ import annotations

import re
from datetime import date

MONTHS = {m: i for i, names in enumerate(
    [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
     ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
     ("dec", "december")], 1) for m in names}
_MONTH = r"(?P<month>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
_ISO_START = re.compile(r"\s*(?P<year>(?:19|20)\d\d)-(?P<month>\d\d)-(?P<day>\d\d)(?!\d)")
_HEADER = re.compile(r"\b(?P<day>\d{1,2})-(?P<month>[A-Z]{3})-(?P<year>(?:19|20)\d\d)\b", re.I)
# PLACE[, REGION], Month Day[, Year] [(Agency)] - ; the place is capitalised words at a line start.
_DATELINE = re.compile(
    r"^[ \t]*(?:[A-Z][A-Za-z.'\-]+(?:[ \t]+[A-Z][A-Za-z.'\-]+){0,3})(?:,[ \t]*[A-Z][A-Za-z.'\-]+(?:[ \t]+[A-Z][A-Za-z.'\-]+){0,2})?"
    rf",[ \t]*{_MONTH}[ \t]+(?P<day>\d{{1,2}})(?:,[ \t]*(?P<year>(?:19|20)\d\d))?"
    r"[ \t]*(?:\([A-Za-z .&]{1,40}\))?[ \t]*(?:-|–|—|--)", re.M)


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def header_date(text: str, head: int = 300) -> str | None:
    """A "26-FEB-1987" header in the first `head` characters."""
    return _header_iso(_HEADER.search(text[:head]))


def _header_iso(m: re.Match | None) -> str | None:
    if not m or m.group("month").lower() not in MONTHS:
        return None
    return _iso(int(m.group("year")), MONTHS[m.group("month").lower()], int(m.group("day")))


def leading_date(value: str) -> str | None:
    """The full date a metadata value starts with, ISO ("2019-12-26 (updated)") or Reuters-style ("27-MAR-1987
    00:02:59.13&#5;&#5;&#5;RM", "31-MAR-1987 605:12:19.12": 299 rows of Reuters-21578 carry such SGML debris or a
    broken time), when the whole value is not a date a parser reads."""
    m = _ISO_START.match(value)
    if m:
        return _iso(int(m.group("year")), int(m.group("month")), int(m.group("day")))
    return _header_iso(_HEADER.match(value.strip()))


def dateline(text: str, head: int = 600) -> tuple[int | None, int, int] | None:
    """(year or None, month, day) of a dateline in the first `head` characters."""
    m = _DATELINE.search(text[:head])
    if not m:
        return None
    month = MONTHS.get(m.group("month").lower().rstrip("."))
    if month is None:
        return None
    return (int(m.group("year")) if m.group("year") else None), month, int(m.group("day"))


def text_date(text: str, year: int | None = None) -> str | None:
    """The date the text itself gives (header, or dateline with its own year or `year`), else None."""
    found = header_date(text)
    if found:
        return found
    line = dateline(text)
    if line is None:
        return None
    y, month, day = line
    y = y or year
    return _iso(y, month, day) if y else None


def year_hint(*values: object) -> int | None:
    """The first plausible year in other metadata (a URL path like /2019/12/, a feed or page date)."""
    for value in values:
        if not value:
            continue
        m = re.search(r"(?<!\d)((?:19|20)\d\d)(?!\d)", str(value))
        if m:
            return int(m.group(1))
    return None
