"""Filter masks against the definition (each row's article tested one by one), validation, stale snapshots."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import SEED_ID

from assistant import InputError
from assistant.search.filters import check_filters, mask, row_fields

CASES = [
    {"date_from": "2019-12-01"},
    {"date_to": "2019-11-30"},
    {"date_from": "2019-11-01", "date_to": "2019-12-31"},
    {"date_from": "Nov 2, 2019", "date_to": "13 December 2019"},
    {"source": "Nile Wire"},
    {"source": "NILE WIRE"},
    {"article_id": SEED_ID},
    {"article_id": ["greek-ferries", "sudan-grain", "no-such-article"]},
    {"source": "Nile Wire", "date_from": "2019-12-01"},
    {"date_from": "2030-01-01"},
]


def expected_mask(assistant, filters) -> np.ndarray:
    """The definition, row by row: the chunk's article must pass every filter; undated articles fail date filters."""
    wanted = check_filters(filters)
    out = []
    for cid in assistant.index.snapshot.vectors.ids.tolist():
        row = assistant.index.store.rows([cid]).get(cid)
        if row is None:
            out.append(False)
            continue
        article_id, date, source = row[1], row[7], row[8]
        ok = True
        if "date_from" in wanted:
            ok &= bool(date) and date >= wanted["date_from"]
        if "date_to" in wanted:
            ok &= bool(date) and date <= wanted["date_to"]
        if "source" in wanted:
            ok &= (source or "").casefold() == wanted["source"]
        if "article_id" in wanted:
            ok &= article_id in wanted["article_id"]
        out.append(ok)
    return np.array(out, dtype=bool)


@pytest.mark.parametrize("filters", CASES, ids=[str(c) for c in CASES])
def test_mask_equals_the_definition(assistant, filters):
    got = mask(assistant.index, assistant.index.snapshot, check_filters(filters))
    np.testing.assert_array_equal(got, expected_mask(assistant, filters))


def test_no_filter_is_no_mask(assistant):
    for filters in (None, {}, {"source": "", "date_from": None, "article_id": []}):
        assert mask(assistant.index, assistant.index.snapshot, check_filters(filters)) is None


def test_validation():
    assert check_filters({"date_from": "26 Dec 2019", "source": "AFP", "article_id": "a1"}) == {
        "date_from": "2019-12-26", "source": "afp", "article_id": ["a1"]}
    with pytest.raises(InputError, match="Unknown filter author"):
        check_filters({"author": "x"})
    with pytest.raises(InputError, match="filter date_to: invalid date"):
        check_filters({"date_to": "not a date"})


def test_source_matches_beyond_ascii(writable, seed_article):
    writable.add([dataclasses.replace(seed_article, id="umlaut", source="Süddeutsche Zeitung")])
    passages = writable.search("Haftar drones", k=10, filters={"source": "SÜDDEUTSCHE ZEITUNG"})
    assert passages and {p.article_id for p in passages} == {"umlaut"}


def test_fields_are_read_once_per_generation(writable, seed_article):
    snap = writable.index.snapshot
    assert row_fields(writable.index, snap) is row_fields(writable.index, snap)
    writable.add([dataclasses.replace(seed_article, id="later", date="2021-05-05")])
    newer = writable.index.snapshot
    assert newer is not snap
    hits = writable.search("Haftar drones", k=10, filters={"date_from": "2021-01-01"})
    assert {p.article_id for p in hits} == {"later"}


def test_a_snapshot_older_than_the_database(writable):
    # rows removed after the snapshot was taken are outside every filter, so no search returns them
    old = writable.index.snapshot
    gone = set(writable.index.store.chunk_ids(["turkish-lira"]))
    kept = set(writable.index.store.chunk_ids(["sudan-grain"]))
    writable.remove("turkish-lira")
    got = dict(zip(old.vectors.ids.tolist(), mask(writable.index, old, check_filters({"source": "Nile Wire"})).tolist()))
    assert gone and kept and gone <= set(got)
    assert {c for c, ok in got.items() if ok} == kept
