"""Search filters (date range, source, article ids) as a boolean mask over a snapshot's rows.

The article fields of every row are read from SQLite once per published generation and kept as arrays, so a
filtered search costs a few vectorised comparisons instead of a SQL query, a Python set and `np.isin` over all
chunks (~145 ms at 100k chunks; see docs/speed.md).
"""
from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from ..validate import check_filter_types, normalize_date

if TYPE_CHECKING:
    from ..index.index import Index, Snapshot

FILTER_KEYS = {"date_from", "date_to", "source", "article_id"}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class RowFields:
    """Article fields of each snapshot row; rows whose chunk is gone from the database are `present=False`."""

    present: np.ndarray
    article_id: np.ndarray
    date: np.ndarray  # ISO strings, "" when undated
    source: np.ndarray  # casefolded, "" when unknown


def check_filters(filters: Mapping[str, object] | None) -> dict[str, object]:
    """The filters that restrict anything, validated; dates normalised to ISO."""
    filters = check_filter_types(filters)
    if not filters:
        return {}
    unknown = set(filters) - FILTER_KEYS
    if unknown:
        raise InputError(f"Unknown filter {', '.join(sorted(unknown))}; use {', '.join(sorted(FILTER_KEYS))}")
    out: dict[str, object] = {}
    for key in ("date_from", "date_to"):
        if filters.get(key):
            out[key] = normalize_date(filters[key], f"filter {key}")
    if filters.get("source"):
        out["source"] = str(filters["source"]).casefold()
    if filters.get("article_id"):
        ids = filters["article_id"]
        out["article_id"] = [ids] if isinstance(ids, str) else list(ids)  # type: ignore[call-overload]
    return out


def row_fields(index: Index, snap: Snapshot) -> RowFields:
    """The snapshot's `RowFields`, read from the database on first use (one thread reads, the others wait)."""
    cached = snap.cache.get("row_fields")
    if cached is None:
        with _LOCK:
            cached = snap.cache.get("row_fields")
            if cached is None:
                cached = snap.cache["row_fields"] = _read_fields(index, snap)
    return cached


def _read_fields(index: Index, snap: Snapshot) -> RowFields:
    ids = snap.vectors.ids
    n = len(ids)
    present = np.zeros(n, dtype=bool)
    article, date, source = (np.full(n, "", dtype=object) for _ in range(3))
    rows = index.store.row_fields()
    if rows and n:
        chunk_ids, arts, days, sources = (np.asarray(col, dtype=object) for col in zip(*rows))
        chunk_ids = chunk_ids.astype("int64")
        order = np.argsort(ids, kind="stable")
        at = order[np.minimum(np.searchsorted(ids, chunk_ids, sorter=order), n - 1)]
        hit = ids[at] == chunk_ids  # chunks published after this snapshot have no row in it
        at = at[hit]
        present[at] = True
        article[at] = arts[hit]
        date[at] = [d or "" for d in days[hit]]
        source[at] = [(s or "").casefold() for s in sources[hit]]
    return RowFields(present, article.astype(str), date.astype(str), source.astype(str))


def mask(index: Index, snap: Snapshot, wanted: Mapping[str, object]) -> np.ndarray | None:
    """Rows that pass filters already checked by `check_filters`, or None when nothing is filtered."""
    if not wanted:
        return None
    f = row_fields(index, snap)
    keep = f.present.copy()
    if "date_from" in wanted:
        keep &= (f.date != "") & (f.date >= wanted["date_from"])
    if "date_to" in wanted:
        keep &= (f.date != "") & (f.date <= wanted["date_to"])
    if "source" in wanted:
        keep &= f.source == wanted["source"]
    if "article_id" in wanted:
        keep &= np.isin(f.article_id, np.asarray(wanted["article_id"], dtype=str))
    return keep
