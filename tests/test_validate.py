"""Types at the public boundary (issue item 6): a wrong type is an `InputError` saying what was expected."""
from __future__ import annotations

import pytest
from conftest import CARD_QUESTION
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant import Article, InputError
from assistant.validate import check_filter_types, check_history, check_k, normalize_date


@pytest.mark.parametrize("call, words", [
    (lambda a: a.search(CARD_QUESTION, k="5"), "k (the number of passages) must be a whole number"),
    (lambda a: a.search(CARD_QUESTION, k=2.5), "whole number"),
    (lambda a: a.ask(CARD_QUESTION, history="x"), "history must be a list"),
    (lambda a: a.ask(CARD_QUESTION, history=[None]), "history[0] must be a message"),
    (lambda a: a.ask(CARD_QUESTION, filters={"article_id": 5}), "filter article_id must be a string or a list"),
    (lambda a: a.search(CARD_QUESTION, filters={"source": ["AFP"]}), "filter source must be a string"),
    (lambda a: a.search(CARD_QUESTION, filters="source=AFP"), "filters must be a dict such as"),
    (lambda a: a.ask(123), "must be text"),
])
def test_wrong_types_are_input_errors_that_say_what_was_expected(assistant, call, words):
    with pytest.raises(InputError) as info:
        call(assistant)
    assert words in str(info.value)
    assert "Unknown filter =" not in str(info.value)


def test_add_refuses_a_date_that_is_not_a_date_and_normalises_the_rest(writable):
    with pytest.raises(InputError, match=r"article 'y': invalid date 'yesterday' \(use ISO format"):
        writable.add([Article("y", "Title", "Some text about grain.", date="yesterday")])
    assert writable.article("y") is None
    writable.add([Article("d", "Title", "Some text about grain.", date="26 December 2019")])
    assert writable.article("d").date == "2019-12-26"
    assert writable.search("grain", filters={"date_from": "2030-01-01"}, mode="bm25") == []


junk = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8),
                 st.binary(max_size=4), st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=4), st.integers(), max_size=2))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(k=junk, history=st.one_of(junk, st.lists(junk, max_size=3)), filters=st.one_of(junk, st.dictionaries(
    st.sampled_from(["date_from", "date_to", "source", "article_id"]), junk, max_size=3)), date=junk)
def test_validators_raise_only_input_errors(k, history, filters, date):
    for check, value in ((check_k, k), (check_history, history), (check_filter_types, filters)):
        try:
            check(value)
        except InputError as exc:
            assert "must be" in str(exc)
    try:
        normalize_date(date, "here")
    except InputError as exc:
        assert str(exc).startswith("here: ")
