"""The web app: the real Gradio server on a copy of the test index, called over HTTP with gradio_client.

Also the start-up (seeds indexed once) and the escaping helpers of `assistant.render`.
"""
from __future__ import annotations

import json
import logging
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import CARD_QUESTION, SEED_ID, SEEDS
from gradio_client import Client

from assistant.answer import REFUSAL
from assistant.errors import InputError
from assistant.ports import free_port
from assistant.types import Answer, Article, Citation, Passage
from assistant.ui import app, render

pytestmark = [pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),  # inside gradio's queue
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]
OFF_TOPIC = "What is the best pizza recipe in Naples?"


@pytest.fixture(scope="module")
def client(served) -> Client:
    return Client(served[1], verbose=False)


def ask(client: Client, question: str, history=None) -> dict:
    return client.predict(question, history if history is not None else [], api_name="/ask")


# ---- the API --------------------------------------------------------------------------------------
def test_card_question_is_answered_with_the_military_base_passage(client):
    result = ask(client, CARD_QUESTION)
    assert not result["refused"]
    assert "lacks a military base near Libya" in result["answer"]
    assert "[1]" in result["answer"]
    cited = [c for c in result["citations"] if "lacks a military base near Libya" in c["text"]]
    assert cited and cited[0]["article_id"] == SEED_ID
    for c in result["citations"]:  # quote offsets are article offsets inside the passage
        assert c["text"][c["quote_start"] - c["start"]:c["quote_end"] - c["start"]] == c["quote"]
    assert set(result) >= {"answer", "refused", "citations", "passages", "question", "condensed_question"}


def test_filters_restrict_the_answer_to_matching_articles(client):
    result = client.predict("Why did the Turkish lira fall?", [], {"source": "Nile Wire", "date_from": "2019-12-01"},
                            api_name="/ask")
    assert result["passages"] and all(p["source"] == "Nile Wire" and p["date"] >= "2019-12-01"
                                      for p in result["passages"])
    assert not result["refused"] and result["citations"][0]["article_id"] == "turkish-lira"


def test_off_topic_question_is_refused_with_the_closest_passages(client):
    result = ask(client, OFF_TOPIC)
    assert result["refused"]
    assert result["answer"] == REFUSAL
    assert result["citations"] == []
    assert result["passages"], "a refusal still lists the closest passages"


def test_follow_up_question_uses_the_history(client):
    first = ask(client, "Who gave Haftar his drones?")
    assert "United Arab Emirates" in first["answer"]
    history = [{"role": "user", "content": "Who gave Haftar his drones?"},
               {"role": "assistant", "content": first["answer"]}]
    follow = ask(client, "And who sends him mercenaries?", history)
    assert not follow["refused"]
    assert "Wagner" in follow["answer"]
    assert "Haftar" in follow["condensed_question"]
    as_json = ask(client, "And who sends him mercenaries?", json.dumps(history))  # history as a JSON string
    assert as_json["answer"] == follow["answer"]


@pytest.mark.parametrize("question, history, message", [
    ("   ", [], "The question is empty"),
    ("x" * 2500, [], "keep it under"),
    ("Who gave Haftar his drones?", [{"role": "system", "content": "hi"}], "history[0]"),
    ("Who gave Haftar his drones?", "not json", "not valid JSON"),
])
def test_bad_input_is_a_friendly_error_not_a_traceback(client, question, history, message):
    with pytest.raises(Exception) as info:
        ask(client, question, history)
    assert message in str(info.value)
    assert "Traceback" not in str(info.value)


@pytest.mark.parametrize("filters, message", [("source=AFP", "filters must be a dict"),
                                              ({"article_id": 5}, "filter article_id must be a string")])
def test_bad_filters_through_the_api_say_what_was_expected(client, filters, message):
    with pytest.raises(Exception) as info:
        client.predict(CARD_QUESTION, [], filters, api_name="/ask")
    assert message in str(info.value) and "upstream Gradio app has raised" not in str(info.value)


def test_concurrent_requests_are_all_answered(client):
    questions = [CARD_QUESTION, "Who gave Haftar his drones?", OFF_TOPIC]
    with ThreadPoolExecutor(len(questions)) as pool:
        results = list(pool.map(lambda q: Client(client.src, verbose=False).predict(q, [], api_name="/ask"),
                                questions))
    assert [r["question"] for r in results] == questions
    assert [r["refused"] for r in results] == [False, False, True]


def test_only_the_ask_endpoint_is_public(client):
    assert list(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == ["/ask"]


# ---- start-up -------------------------------------------------------------------------------------
def test_first_start_indexes_the_seeds_and_a_restart_reuses_the_index(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="assistant.ui.app")
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(SEEDS / f"{SEED_ID}.txt", seeds)
    (seeds / "qa.jsonl").write_text('{"question": "a Q&A set, not an article"}\n')  # left out silently
    (seeds / "broken.jsonl").write_text('{"id": "x", "text": \n')  # reported and skipped
    index = tmp_path / "index"
    first = app.open_assistant(index, seeds)
    stats = first.stats()
    first.close()
    assert stats["articles"] == 1 and stats["generation"] == 1
    assert "skipped" in caplog.text and "indexing" in caplog.text
    caplog.clear()

    again = app.open_assistant(index, seeds)
    try:
        assert again.stats()["generation"] == 1, "an existing index must not be rebuilt"
        assert [a["id"] for a in again.articles()] == [SEED_ID]
    finally:
        again.close()
    assert "indexing" not in caplog.text


# ---- rendering: article text is untrusted ---------------------------------------------------------
HOSTILE = '<img src=x onerror="window.__pwned=1"> [click](javascript:alert(1)) **bold** `code` $x$ <script>x</script>'


def citation(text: str, quote: str, passage_start: int = 100) -> Citation:
    at = text.index(quote)
    return Citation(1, "a<b>", "T<i>itle", "a#0", passage_start, passage_start + len(text), text, quote,
                    passage_start + at, passage_start + at + len(quote), 0.9, "2020-01-01", "S&P <wire>")


def test_sources_panel_escapes_everything_and_marks_the_quote():
    text = f"Before. {HOSTILE} After."
    c = citation(text, HOSTILE)
    out = render.sources_html(Answer(f"{HOSTILE} [1]", [c], question="<q>?"))
    assert "<img" not in out and "<script" not in out and "<b>" not in out and "<i>" not in out
    assert f"<mark>{render.esc(HOSTILE)}</mark>" in out
    assert "S&amp;P &lt;wire&gt;" in out and "chars 100–" in out and 'id="src-1"' in out


def test_chat_markdown_is_inert_and_keeps_the_markers():
    c = citation(f"x {HOSTILE} y", HOSTILE)
    md = render.answer_markdown(Answer(f"{HOSTILE} [1]", [c]))
    assert "<" not in md and "](" not in md and "**bold**" not in md and "`" not in md.replace("\\`", "")
    assert md.endswith("**\\[1\\]**")
    assert render.answer_markdown(Answer(REFUSAL, refused=True)).startswith("**No answer in the articles.**")


def test_long_answers_are_capped():
    md = render.answer_markdown(Answer("word " * 3000))
    assert len(md) < render.MAX_ANSWER_CHARS + 20 and md.endswith("…")


def test_refusal_panel_lists_the_closest_passages():
    p = Passage("id1", "<Title>", "id1#0", 0, 10, "some <text>", 0.3)
    out = render.sources_html(Answer(REFUSAL, refused=True, passages=[p], question="q"))
    assert "closest" in out and "&lt;Title&gt;" in out and "some &lt;text&gt;" in out


def test_highlight_falls_back_to_the_quote_when_offsets_do_not_fit():
    assert render.highlight("a <b> c", 50, 60, "<b>") == "a <mark>&lt;b&gt;</mark> c"
    assert render.highlight("abc", 50, 60, "zzz") == "abc"


def test_parse_history_accepts_lists_and_json_and_rejects_the_rest():
    turns = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    assert render.parse_history(turns) == turns
    assert render.parse_history(json.dumps(turns)) == turns
    assert render.parse_history(None) == [] and render.parse_history("") == []
    for bad in ("{", {"role": "user"}, [{"role": "user", "content": 3}], ["hi"]):
        with pytest.raises(InputError):
            render.parse_history(bad)


def test_llm_mode_streams_the_draft_then_shows_the_checked_answer(assistant):
    """The chat's language-model setting: draft updates while the model writes, then the verified answer, the
    fabricated sentence struck through and labelled (never shown as fact)."""
    from fake_llm import FakeLLM
    from test_verify import GOOD

    from assistant.answer.llm import LLMGenerator
    from assistant.llm import ChatClient

    passages = assistant.search(CARD_QUESTION, k=6)
    good = next(i for i, p in enumerate(passages) if GOOD in p.text) + 1
    with FakeLLM(f"{GOOD} [{good}]. Turkey sent 400 jets to Libya [{good}].") as fake:
        writers = app.Writers()
        writers.made[app.ENDPOINT] = LLMGenerator(ChatClient(fake.url, timeout=5), strict=False)
        _, respond, _, _ = app._chat_ui(assistant, writers)
        updates = list(respond(CARD_QUESTION, [], [], mode=app.ENDPOINT))
    drafts = [u[0][-1]["content"] for u in updates[:-1]]
    assert drafts and all(d.startswith("*Draft") for d in drafts)
    chat, history, panel = updates[-1]
    final = chat[-1]["content"]
    assert "**\\[1\\]**" in final and "~~Turkey sent 400 jets to Libya\\.~~ *(unverified" in final
    assert "Draft" not in final and 'data-n="1"' in panel
    assert history[-1]["role"] == "assistant"


def test_llm_mode_with_the_endpoint_down_falls_back_with_a_note(assistant):
    from assistant.answer.llm import LLMGenerator
    from assistant.llm import ChatClient

    writers = app.Writers()
    writers.made[app.LOCAL] = LLMGenerator(ChatClient(f"http://127.0.0.1:{free_port()}", timeout=2))
    _, respond, _, _ = app._chat_ui(assistant, writers)
    chat, _, _ = list(respond(CARD_QUESTION, [], [], mode=app.LOCAL))[-1]
    assert "lacks a military base near Libya" in chat[-1]["content"] and "cannot reach" in chat[-1]["content"]


# ---- the Sources tab's upload limits ----------------------------------------------------------------
@pytest.fixture
def upload(writable):
    from assistant.ui import sources

    return sources.sources_ui(writable)[1]


def status_of(result) -> str:
    return result[0].replace("\\", "")  # the status is escaped Markdown


def test_upload_takes_at_most_20_files_at_a_time(upload, writable, tmp_path):
    files = []
    for i in range(21):
        path = tmp_path / f"harbour-{i:02d}.txt"
        path.write_text(f"Harbour log {i}\n\nThe harbour master logged {i + 3} arrivals on day {i}.\n")
        files.append(str(path))
    before = writable.stats()["articles"]
    assert "21 files: upload at most 20 at a time." in status_of(upload(files))
    assert writable.stats()["articles"] == before
    assert ": 20 new, 0 updated" in status_of(upload(files[:20]))
    assert writable.stats()["articles"] == before + 20


def test_upload_refuses_a_file_over_5_mb_and_adds_the_others(upload, writable, tmp_path):
    from assistant.ui.sources import MAX_UPLOAD_BYTES

    assert MAX_UPLOAD_BYTES == 5 * 2**20
    at_limit, over = tmp_path / "at-limit.txt", tmp_path / "over-limit.txt"
    for path, size in ((at_limit, MAX_UPLOAD_BYTES), (over, MAX_UPLOAD_BYTES + 1)):
        head = f"{path.stem} harbour report\n\nThe harbour reopened on Monday after the storm.".encode()
        path.write_bytes(head + b" " * (size - len(head)))  # the padding is cleaned away: one short article
    status = status_of(upload([str(at_limit), str(over)]))
    assert "at-limit.txt (1 article): 1 new" in status
    assert "✗ over-limit.txt: larger than 5 MB" in status
    assert writable.article("at-limit") is not None and writable.article("over-limit") is None


# ---- the Sources tab's listing --------------------------------------------------------------------
def test_the_sources_tab_lists_the_newest_articles_and_the_filter_finds_the_others(writable, monkeypatch):
    """An archive's tab sends the `LISTED` rows added last (all 19,043 Reuters articles took 4 MB and 5 s on every visit);
    the filter matches ids, titles and sources as plain text, SQL wildcards included."""
    from assistant.ui import sources

    monkeypatch.setattr(sources, "LISTED", 3)
    writable.add([Article(f"brief-{n}", f"Harbour brief {n}", f"The harbour logged {n} arrivals.", date=f"2021-01-{n:02d}",
                          source="Port_Wire") for n in range(1, 6)]
                 + [Article("rates", "Rates rise 50%", "Fees rose by half.", date="2020-05-01", source="Desk")])
    listing = sources.sources_ui(writable)[0]
    total = writable.stats()["articles"]
    rows, summary, choices, links = listing("")
    assert [r[0] for r in rows] == ["rates", "brief-5", "brief-4"]  # the last added first (an upload on top)
    assert f"**{total:,}** articles" in summary and "The 3 added last are listed: the filter finds the others." in summary
    assert [c[1] for c in choices["choices"]] == ["rates", "brief-5", "brief-4"]  # what can be removed: what is shown
    rows, summary, choices, _ = listing("  HARBOUR   brief ")
    assert [r[0] for r in rows] == ["brief-5", "brief-4", "brief-3"] and "5 match “HARBOUR brief”" in summary
    assert "the 3 added last are listed" in summary
    assert [r[0] for r in listing("50%")[0]] == ["rates"] and "1 matches “50%”." in listing("50%")[1]
    assert [r[0] for r in listing("port_wire")[0]][:1] == ["brief-5"] and listing("port%wire")[0] == []
    assert listing("<b>*x*</b>")[1].endswith("0 match “&lt;b&gt;\\*x\\*&lt;/b&gt;”.")
    assert writable.count_articles("harbour") == 5 and len(writable.articles("harbour", limit=2)) == 2
