"""Web chat over the news index: the Gradio Blocks and their handlers (served by `assistant/serve/`).

UI only: retrieval and answering live in the rest of `assistant`, HTML/Markdown escaping in `render.py`, who may
do what in `access.py` (checked inside every handler).
"""
from __future__ import annotations

import logging
import os
import queue
import threading
import time
from pathlib import Path
from typing import Any

import gradio as gr  # after the package's __init__, which switched every library's telemetry off

from ..assistant import Assistant
from ..errors import AssistantError
from ..ingest.loaders import load_paths
from ..ports import free_port
from . import render
from .access import Access, Hooks
from .sources import MAX_UPLOAD_BYTES, sources_ui, write_controls

log = logging.getLogger(__name__)

EXAMPLES = [
    "Why won't Turkey send combat aircraft?",
    "Who gave Haftar his drones?",
    "What can Turkey provide to the reconciliation government?",
]
CONCURRENCY = 2  # answers are CPU-bound; more parallel requests would only slow each other down
EXTRACTIVE, LOCAL, ENDPOINT = "Quoted sentences", "Local model (SmolLM2)", "Endpoint (ASSISTANT_LLM_URL)"
MODES = [EXTRACTIVE, LOCAL, ENDPOINT]
UNEXPECTED = "Something went wrong while answering; please try again. (The details are in the server log.)"
NO_ROLE = "This account has no role on this server any more; ask an editor to add it again."

CSS = """
#sources .sources { font-size: 0.95rem; line-height: 1.5; }
#sources .src-question { font-weight: 600; margin-bottom: 0.6rem; }
#sources .src-note { color: var(--body-text-color-subdued); margin: 0.4rem 0 0.8rem; }
#sources .src { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 0.6rem 0.8rem;
                margin-bottom: 0.7rem; background: var(--background-fill-secondary); }
#sources .src-head { font-weight: 600; }
#sources .src-n { color: var(--color-accent); }
#sources .src-meta { font-size: 0.8rem; color: var(--body-text-color-subdued); margin: 0.15rem 0 0.4rem; }
#sources .src-meta code { font-size: 0.8rem; }
#sources .src-text { white-space: pre-wrap; overflow-wrap: anywhere; }
#sources mark { background: #ffe066; color: #000; padding: 0 1px; border-radius: 2px; }
#sources .refused .src-note, #sources .error .src-note { color: var(--body-text-color); }
#examples button { white-space: normal; }
#upload-help p { font-size: 0.85rem; color: var(--body-text-color-subdued); }
#examples-label p { margin: 0.3rem 0 -0.4rem; font-size: 0.85rem; color: var(--body-text-color-subdued); }
"""


# ---- start-up -------------------------------------------------------------------------------------
def open_assistant(index: str | os.PathLike, seeds: str | os.PathLike | None) -> Assistant:
    """Open the index; when it holds no articles, index the seeds folder (an existing index is reused as is)."""
    assistant = Assistant.open(index)
    if assistant.stats()["articles"] == 0 and seeds and Path(seeds).exists():
        log.info("index %s is empty: indexing %s", assistant.path, seeds)
        articles, errors = load_paths([seeds])
        for err in errors:
            log.warning("skipped %s", err)
        result = assistant.add(articles, progress=True)
        log.info("indexed %d articles (%d chunks)", result.added, result.chunks)
    stats = assistant.stats()
    log.info("index %s: %d articles, %d chunks", assistant.path, stats["articles"], stats["chunks"])
    return assistant


# ---- handlers -------------------------------------------------------------------------------------
class Writers:
    """The language-model generators, started on first use and shared by all sessions (one model server)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.made: dict[str, Any] = {}

    def get(self, mode: str):
        """None for the extractive answer; raises AssistantError when the chosen model cannot be set up."""
        if mode not in (LOCAL, ENDPOINT):
            return None
        with self.lock:
            if mode not in self.made:
                from ..answer.llm import LLMGenerator  # only when asked for: the default path loads no client

                self.made[mode] = LLMGenerator.local(strict=False) if mode == LOCAL else LLMGenerator.from_env(strict=False)
            return self.made[mode]

    def close(self) -> None:
        for g in self.made.values():
            g.close()


def _chat_ui(assistant: Assistant, writers: Writers | None = None, access: Access = Access(),
             hooks: Hooks = Hooks()):
    """Event handlers of the chat tab; the conversation lives in per-session gr.State, never in globals."""
    writers = writers or Writers()

    def start(question: str, chat: list):
        """Show the question at once, lock the input and show the busy state."""
        question = question or ""
        if not question.strip():  # nothing to show; respond() explains in a notice
            return gr.skip(), gr.skip(), gr.skip(), question, gr.skip()
        chat = list(chat or []) + [{"role": "user", "content": render.user_markdown(question)}]
        return (gr.update(value="", interactive=False), gr.update(interactive=False, value="Answering…"),
                chat, question, render.busy_html(question))

    def respond(question: str, chat: list, history: list, date_from: str = "", date_to: str = "", source: str = "",
                mode: str = EXTRACTIVE, request: gr.Request | None = None):
        """Yields the model's draft as it streams, then the verified answer in its place."""
        chat, history = list(chat or []), list(history or [])
        if not access.may_read(request):
            raise gr.Error(NO_ROLE, print_exception=False)
        if not question.strip():
            gr.Warning("The question is empty; type a question about the articles.")
            yield gr.skip(), gr.skip(), gr.skip()
            return
        filters = {k: v.strip() for k, v in (("date_from", date_from), ("date_to", date_to), ("source", source))
                   if v and v.strip()}
        user, started = getattr(request, "username", None), time.monotonic()
        with hooks.working():
            try:
                generator = writers.get(mode)
                if generator is None:
                    ans = assistant.ask(question, history, filters=filters or None)
                else:
                    ans = yield from _streamed(assistant, generator, question, history, filters, chat)
            except AssistantError as exc:
                hooks.asked(user, time.monotonic() - started, None, "handled", question)
                chat.append({"role": "assistant", "content": render.error_markdown(str(exc))})
                yield chat, history, render.error_html(str(exc))
                return
            except Exception:  # never show a traceback in the browser
                log.exception("answering %r failed", question[:200])
                hooks.asked(user, time.monotonic() - started, None, "unexpected", question)
                chat.append({"role": "assistant", "content": render.error_markdown(UNEXPECTED)})
                yield chat, history, render.error_html(UNEXPECTED)
                return
            hooks.asked(user, time.monotonic() - started, ans, None, question)
        content = render.answer_markdown(ans) if generator is None else render.llm_answer_markdown(ans)
        chat.append({"role": "assistant", "content": content})
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": ans.text}]
        yield chat, history[-render.MAX_HISTORY_TURNS:], render.sources_html(ans)

    def finish():
        return gr.update(interactive=True), gr.update(interactive=True, value="Ask")

    def reset():
        return [], [], render.placeholder_html(assistant.stats()["articles"])

    return start, respond, finish, reset


def _streamed(assistant: Assistant, generator, question: str, history: list, filters: dict, chat: list):
    """Run the turn in a thread; yield the chat with the growing draft; return the checked answer."""
    pieces: queue.Queue = queue.Queue()
    result: dict[str, Any] = {}

    def work() -> None:
        try:
            result["answer"] = assistant.ask(question, history, filters=filters or None, generator=generator,
                                             on_token=pieces.put)
        except BaseException as exc:  # re-raised in the handler, which turns it into a message
            result["error"] = exc
        finally:
            pieces.put(None)

    threading.Thread(target=work, daemon=True).start()
    draft = ""
    while (piece := pieces.get()) is not None:
        draft += piece
        yield chat + [{"role": "assistant", "content": render.draft_markdown(draft)}], gr.skip(), gr.skip()
    if "error" in result:
        raise result["error"]
    return result["answer"]


# ---- layout ---------------------------------------------------------------------------------------
def build_app(assistant: Assistant, writers: Writers | None = None, access: Access = Access(),
              hooks: Hooks = Hooks()) -> gr.Blocks:
    """The chat and Sources tabs. With `access.writable` False the write controls and their handlers do not exist."""
    start, respond, finish, reset = _chat_ui(assistant, writers, access, hooks)
    listing, upload, remove, fetch = sources_ui(assistant, access, hooks)

    with gr.Blocks(title="News assistant", analytics_enabled=False) as demo:
        gr.Markdown("## News assistant\nAnswers come only from the indexed articles; every sentence cites "
                    "the passage it quotes. If no passage answers, it says so.")
        history = gr.State([])  # raw {"role", "content"} turns of this browser session
        pending = gr.State("")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat-tab"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=5):
                        chatbot = gr.Chatbot(
                            label="Conversation", elem_id="chat", height=460, sanitize_html=True,
                            render_markdown=True, latex_delimiters=[], allow_tags=False, autoscroll=True,
                            buttons=["copy", "copy_all"],
                            placeholder="Ask about the news articles, or pick an example below.",
                        )
                        with gr.Row():
                            question = gr.Textbox(show_label=False, placeholder="Ask a question about the articles…",
                                                  elem_id="question", scale=5, lines=1, autofocus=True)
                            ask = gr.Button("Ask", variant="primary", scale=1, elem_id="ask", min_width=100)
                        gr.Markdown("Try an example:", elem_id="examples-label")
                        with gr.Row(elem_id="examples"):
                            examples = [gr.Button(q, size="sm", variant="secondary") for q in EXAMPLES]
                        with gr.Accordion("Filter the articles", open=False, elem_id="filters"):
                            with gr.Row():
                                date_from = gr.Textbox(label="From date", placeholder="YYYY-MM-DD", elem_id="date-from")
                                date_to = gr.Textbox(label="To date", placeholder="YYYY-MM-DD", elem_id="date-to")
                                source_filter = gr.Textbox(label="Source", placeholder="e.g. AFP", elem_id="source")
                        mode = gr.Radio(MODES, value=EXTRACTIVE, label="Answer with", elem_id="answer-mode",
                                        info="A model writes the answer; every sentence is checked against the "
                                             "passage it cites, and one that fails is struck through.")
                        new_chat = gr.Button("New conversation", size="sm", elem_id="new-chat")
                    with gr.Column(scale=4):
                        sources_panel = gr.HTML(render.placeholder_html(), elem_id="sources", label="Sources",
                                          js_on_load=None)
            with gr.Tab("Sources", id="sources-tab") as sources_tab:
                summary = gr.Markdown(elem_id="summary")
                article_filter = gr.Textbox(label="Filter", placeholder="words of an id, title or source",
                                            max_lines=1, elem_id="articles-filter")
                table = gr.Dataframe(headers=["id", "title", "date", "source", "passages"], interactive=False,
                                     wrap=True, latex_delimiters=[], elem_id="articles", max_height=420,
                                     column_widths=["18%", "46%", "12%", "14%", "10%"])
                if access.writable:
                    with gr.Column(elem_id="write-controls", visible=False) as write_box:  # shown to editors
                        files, remove_id, remove_btn, url_box, is_feed, fetch_btn = write_controls()
                else:
                    gr.Markdown("This server is read-only: the articles can be read here, not changed.",
                                elem_id="read-only-note")
                    remove_id = gr.Dropdown(choices=[], visible=False)  # keeps `listing`'s outputs the same
                status = gr.Markdown(elem_id="sources-status")
                with gr.Accordion("Originals (date · source · link)", open=False, elem_id="originals-box"):
                    originals = gr.HTML(elem_id="originals")

        # One question = show it, answer it (queued, at most CONCURRENCY at once), unlock the input.
        for trigger, source in [(question.submit, question), (ask.click, question)] + \
                [(b.click, b) for b in examples]:
            trigger(start, [source, chatbot], [question, ask, chatbot, pending, sources_panel], queue=False,
                    api_visibility="private") \
                .then(respond, [pending, chatbot, history, date_from, date_to, source_filter, mode],
                      [chatbot, history, sources_panel],
                      show_progress="minimal", api_visibility="private") \
                .then(finish, None, [question, ask], queue=False, api_visibility="private")
        for trigger in (new_chat.click, chatbot.clear):
            trigger(reset, None, [chatbot, history, sources_panel], queue=False, api_visibility="private")

        listed = [table, summary, remove_id, originals]
        relisted = [article_filter, *listed]  # after a write: the filter cleared, the last added listed
        if access.writable:
            writes: dict[str, Any] = {"concurrency_limit": 1, "concurrency_id": "index-write",
                                      "api_visibility": "private"}
            files.upload(upload, files, [status, files, *relisted], **writes)
            remove_btn.click(remove, remove_id, [status, *relisted], **writes)
            for trigger in (fetch_btn.click, url_box.submit):
                trigger(fetch, [url_box, is_feed], [status, url_box, *relisted], **writes)

            def show_write_controls(request: gr.Request):
                return gr.update(visible=access.may_write(request))

            demo.load(show_write_controls, None, write_box, queue=False, api_visibility="private")
        sources_tab.select(listing, article_filter, listed, queue=False, api_visibility="private")
        demo.load(listing, article_filter, listed, queue=False, api_visibility="private")
        article_filter.input(listing, article_filter, listed, queue=False, trigger_mode="always_last",
                             api_visibility="private")
        demo.load(lambda: render.placeholder_html(assistant.stats()["articles"]), None, sources_panel, queue=False,
                  api_visibility="private")

        def ask_api(question: str, history: list[dict] | str | None = None, filters: dict | None = None,
                    request: gr.Request | None = None) -> dict:
            """Answer `question` given the chat `history` (a list of {role, content}, or that list as JSON).

            `filters`: optional {"date_from", "date_to", "source", "article_id"}. Returns Answer.to_dict():
            answer, refused, citations (with quote offsets), passages, ...
            """
            if not access.may_read(request):
                raise gr.Error(NO_ROLE, print_exception=False)
            user, started = getattr(request, "username", None), time.monotonic()
            with hooks.working():
                try:
                    ans = assistant.ask(question, render.parse_history(history), filters=filters or None)
                except AssistantError as exc:
                    hooks.asked(user, time.monotonic() - started, None, "handled", question)
                    raise gr.Error(str(exc), print_exception=False) from None
                except Exception:
                    hooks.asked(user, time.monotonic() - started, None, "unexpected", question)
                    raise
            hooks.asked(user, time.monotonic() - started, ans, None, question)
            return ans.to_dict()

        gr.api(ask_api, api_name="ask")
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=64)
    return demo


def launch(demo: gr.Blocks, server_name: str | None = None, server_port: int | None = None, **kwargs):
    """Serve the app on Gradio's own server, without sign-in (tests, screenshots; `assistant serve` is the real
    server: serve/server.py). Returns Gradio's (app, local_url, share_url)."""
    return demo.launch(server_name=server_name or os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                       server_port=server_port or int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
                       css=CSS, ssr_mode=False, share=False, show_error=False,
                       max_file_size=MAX_UPLOAD_BYTES, **kwargs)


def serve_in_background(index: str | os.PathLike, seeds: str | os.PathLike | None = None,
                        port: int | None = None, host: str = "127.0.0.1"):
    """Open the index and serve the app without blocking (tests, screenshots): (assistant, demo, url).

    Stop it with `demo.close(); assistant.close()`.
    """
    assistant = open_assistant(index, seeds)
    demo = build_app(assistant)
    _, url, _ = launch(demo, server_name=host, server_port=port or free_port(host),
                       prevent_thread_lock=True, quiet=True)
    return assistant, demo, url

