"""Concurrency: 20 chat sessions through the Gradio API while another client uploads and removes articles.

The real app serves a private copy of the session's test index. 20 threads, each with its own
`gradio_client.Client`, hold distinct two-turn conversations through `/ask` (40 requests); meanwhile a
writer thread uploads a small article and removes it again through the app's own upload/remove handlers,
on the very `Assistant` the app answers from. The scenario and its checks live in `benchmarks/load.py`
(which also measures it at a larger size); here they are asserted:

- zero exceptions, in the sessions and in the writer;
- no conversation sees another's history: each answer echoes its own question, and its condensed question
  is exactly what `condense` makes of that session's own history, with its own (invented, article-free)
  name and no other session's;
- every citation's (article_id, start, end, text) and quote match the article text: the seed and the
  distractors (never removed) as stored in the index now, the writer's articles as uploaded;
- afterwards the index holds exactly the articles it started with and `check(index)` is clean.
"""
from __future__ import annotations

import importlib.util
import sys
import threading
import time

import pytest
from conftest import ROOT, serve_copy

from assistant import Article
from assistant.index.check import check

_spec = importlib.util.spec_from_file_location("load_benchmark", ROOT / "benchmarks" / "load.py")
load = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = load  # dataclasses look their module up
_spec.loader.exec_module(load)

pytestmark = [pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),  # inside gradio's queue
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]
SESSIONS, TURNS = 20, 2
REQUEST_TIMEOUT = 120.0  # seconds; the whole run is bounded by REQUEST_TIMEOUT * TURNS + 60 (see load.run)


@pytest.fixture
def served(tmp_path, built_index):
    """(assistant, demo, url) of the app serving a private copy of the session's test index."""
    assistant, demo, url = serve_copy(built_index, tmp_path)
    yield assistant, demo, url
    demo.close()
    assistant.close()


def test_twenty_sessions_chat_while_another_client_uploads_and_removes_articles(served, tmp_path):
    assistant, demo, url = served
    before = sorted(a["id"] for a in assistant.articles())
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    add, remove = load.app_handlers(demo)  # the Sources tab's own handlers, bound to the app's Assistant
    writer = load.Writer(add, remove, uploads, max_cycles=60, pause=0.2)

    def article_text(article_id: str) -> str | None:
        article = assistant.article(article_id)
        return article.text if article else None

    started = time.monotonic()
    report = load.run(url, SESSIONS, TURNS, writer, article_text, timeout=REQUEST_TIMEOUT)
    print(f"\n{report.summary()}\n(test ran {time.monotonic() - started:.0f} s)")

    assert report.errors == []
    assert report.writer_errors == []
    assert len(report.requests) == SESSIONS * TURNS
    assert {(r.session, r.turn) for r in report.requests} == {(s, t) for s in range(SESSIONS)
                                                              for t in range(1, TURNS + 1)}
    assert writer.writes >= 2, "the writer must have uploaded and removed at least once during the chats"
    assert report.leaks == []
    assert report.bad_citations == []
    assert report.citations >= SESSIONS // 2, "most conversations should be answered with citations"
    assert sorted(a["id"] for a in assistant.articles()) == before
    assert check(assistant.index) == []


# ---- the two races behind it, made deterministic ---------------------------------------------------
TUNA = Article("tuna", "Malta sets bluefin tuna quota", load.WRITER_TEXT.format(tonnes=300, n=0))
TUNA_QUESTION = "What quota did Malta set for bluefin tuna?"


def test_a_search_on_a_snapshot_taken_before_a_removal_skips_the_removed_passages(writable, monkeypatch):
    """A reader holds the snapshot it started with while a writer removes an article: the vectors of the
    removed chunks are still in that snapshot, their rows are gone (was: KeyError in `retrieval._rescore`)."""
    writable.add([TUNA])
    stale = writable.index.snapshot
    assert any(c.article_id == "tuna" for c in writable.ask(TUNA_QUESTION).citations)
    assert writable.remove("tuna")
    monkeypatch.setattr(writable.index, "refresh", lambda: stale)  # as if the search began before the removal
    ans = writable.ask(TUNA_QUESTION)
    assert all(p.article_id != "tuna" for p in ans.passages)
    assert all(c.article_id != "tuna" for c in ans.citations)
    assert writable.search("Turkey combat aircraft military base")[0].article_id != "tuna"


def test_a_reader_refreshing_during_a_commit_waits_for_the_new_generation(writable, monkeypatch):
    """Was: the writer installed its snapshot before committing, so a reader refreshing in between saw the
    database one generation behind, reloaded the old generation from disk and put it back over the new one."""
    index = writable.index
    commit = index.store.commit
    seen: dict[str, int] = {}
    reader = threading.Thread(target=lambda: seen.setdefault("reader", index.refresh().generation))

    def slow_commit(*args, **kwargs):
        seen["during"] = index.snapshot.generation  # not yet switched: the database still names the old one
        reader.start()
        reader.join(1.0)  # the reader must wait for the commit, not load the generation being replaced
        seen["reader_done_before_commit"] = not reader.is_alive()
        return commit(*args, **kwargs)

    before = index.snapshot.generation
    monkeypatch.setattr(index.store, "commit", slow_commit)
    writable.add([TUNA])
    reader.join(30)
    after = index.snapshot.generation
    assert seen == {"during": before, "reader_done_before_commit": False, "reader": after}
    assert after == before + 1 == index.generation_on_disk()
    assert check(index) == []
