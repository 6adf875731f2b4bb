"""Time phrases: a small explicit parser, and its effect on a hand-made set of dated articles and questions."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.ingest.dates import header_date, leading_date, text_date
from assistant.ingest.loaders import load_file, make_article
from assistant.search.when import parse_when

FIXTURES = Path(__file__).resolve().parent / "fixtures"
NEWEST = "2020-03-10"  # a Tuesday


@pytest.mark.parametrize("question, filters, recency", [
    ("What happened in 2019?", {"date_from": "2019-01-01", "date_to": "2019-12-31"}, False),
    ("What happened in December 2019?", {"date_from": "2019-12-01", "date_to": "2019-12-31"}, False),
    ("Strikes since 2018", {"date_from": "2018-01-01"}, False),
    ("Strikes after 2018", {"date_from": "2019-01-01"}, False),
    ("Strikes before 2018", {"date_to": "2017-12-31"}, False),
    ("What happened last year?", {"date_from": "2019-01-01", "date_to": "2019-12-31"}, False),
    ("What happened this year?", {"date_from": "2020-01-01", "date_to": "2020-12-31"}, False),
    ("What happened last month?", {"date_from": "2020-02-01", "date_to": "2020-02-29"}, False),
    ("What happened this week?", {"date_from": "2020-03-04", "date_to": "2020-03-10"}, False),
    ("What happened last week?", {"date_from": "2020-02-26", "date_to": "2020-03-03"}, False),
    ("in the past 3 days", {"date_from": "2020-03-08", "date_to": "2020-03-10"}, False),
    ("in the last two weeks", {"date_from": "2020-02-26", "date_to": "2020-03-10"}, False),
    ("over the past year", {"date_from": "2019-03-11", "date_to": "2020-03-10"}, False),
    ("What is the latest on the strike?", {}, True),
    ("What happened most recently in 2019?", {"date_from": "2019-01-01", "date_to": "2019-12-31"}, True),
    ("What did the 2019 budget say?", {}, False),  # a bare year may be part of a name: left alone
    ("Who won Euro 2016?", {}, False),
])
def test_parse_when(question, filters, recency):
    w = parse_when(question, NEWEST)
    assert (w.filters, w.recency) == (filters, recency)


def test_relative_phrases_need_a_newest_date():
    assert parse_when("What happened last week?", None).filters == {}
    assert parse_when("What happened in 2019?", None).filters["date_from"] == "2019-01-01"


def test_datelines_and_reuters_headers():
    assert header_date("26-FEB-1987 15:01:01.79\nCOCOA REVIEW") == "1987-02-26"
    assert text_date("TRIPOLI, Dec 26 (Reuters) - Forces loyal to ...") is None, "no year: undated, not guessed"
    assert text_date("TRIPOLI, Dec 26 (Reuters) - Forces loyal to ...", 2019) == "2019-12-26"
    assert text_date("NEW YORK, March 3 - Stocks rose.", 2020) == "2020-03-03"
    assert text_date("WASHINGTON, Sept. 9, 2021 (AP) — The Senate voted.") == "2021-09-09"
    assert text_date("He flew to Paris, March 3 - no, the 4th.", 2020) is None, "a dateline opens a line with a place"
    a = make_article("x", "t", "LONDON, June 2 (Reuters) - Rates rose.", "x", url="https://news.example/2020/06/02/rates")
    assert a.date == "2020-06-02"
    assert make_article("y", "t", "LONDON, June 2 (Reuters) - Rates rose.", "y").date is None
    assert make_article("z", "t", "LONDON, June 2 (Reuters) - Rates rose.", "z", date="2020-06-03").date == "2020-06-03"


@pytest.mark.parametrize("value, iso", [
    ("27-MAR-1987 00:02:59.13&#5;&#5;&#5;RM", "1987-03-27"), ("9-APR-1987 00:00:00.00    # date added by S Finch", "1987-04-09"),
    ("31-MAR-1987 605:12:19.12", "1987-03-31"), (" 2019-12-26 (updated)", "2019-12-26"),
    ("2019-13-45 x", None), ("31/31/2019", None), ("yesterday", None), ("Posted 2019-12-26", None), ("2019-12-261", None)])
def test_a_metadata_date_is_read_by_the_full_date_it_starts_with(value, iso):
    assert leading_date(value) == iso


def hit_at_1(assistant: Assistant, questions: list[dict], when: bool) -> float:
    hits = 0
    for q in questions:
        top = assistant.search(q["question"], k=1, when=when)
        hits += bool(top) and top[0].article_id in q["expected"]
    return hits / len(questions)


@pytest.fixture(scope="module")
def dated(tmp_path_factory):
    a = Assistant.open(tmp_path_factory.mktemp("dated") / "index")
    a.add(load_file(FIXTURES / "dated.jsonl"))
    yield a
    a.close()


def test_time_phrases_on_dated_articles(dated):
    questions = [json.loads(line) for line in (FIXTURES / "dated_questions.jsonl").read_text().splitlines() if line.strip()]
    with_when, without = hit_at_1(dated, questions, True), hit_at_1(dated, questions, False)
    print(f"hit@1 with time phrases {with_when:.2f}, without {without:.2f} ({len(questions)} questions)")
    assert with_when >= 0.9 and with_when > without


def test_explicit_filter_wins_and_ask_uses_time_phrases(dated):
    hits = dated.search("Why did the Harbour City dockers strike in 2018?", k=3, filters={"date_from": "2017-01-01",
                                                                                         "date_to": "2017-12-31"})
    assert [h.article_id for h in hits] == ["port-2017"]
    ans = dated.ask("What was the latest central bank interest rate decision?")
    assert ans.citations and ans.citations[0].article_id == "rate-2020-02" and ans.citations[0].date == "2020-02-18"


def test_undated_index_ignores_time_phrases_and_empty_ranges_fall_back(dated, assistant):
    # the shared test index is mostly undated; a year that holds nothing falls back to the plain search
    plain = assistant.search("Why won't Turkey send combat aircraft?", k=3, when=False)
    assert [p.chunk_id for p in assistant.search("Why won't Turkey send combat aircraft in 1990?", k=3)] \
        == [p.chunk_id for p in assistant.search("Why won't Turkey send combat aircraft in 1990?", k=3, when=False)]
    assert plain
    hits = dated.search("Why did the Harbour City dockers strike in 1995?", k=2)
    assert hits and hits[0].article_id.startswith("port-")
