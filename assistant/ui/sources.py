"""The Sources tab's handlers and write controls: list, upload, fetch and remove articles; the index updates live.

Every write handler asks `access` first, so the browser and a direct call to the same event meet the same check.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import gradio as gr

from ..assistant import Assistant
from ..errors import AssistantError
from ..ingest.fetch import is_url
from ..ingest.loaders import SUFFIXES, load_file
from ..ingest.sources import load_sources
from . import render
from .access import Access, Hooks

log = logging.getLogger(__name__)

MAX_UPLOAD_FILES = 20
MAX_UPLOAD_BYTES = 5 * 2**20
LISTED = 200  # rows the tab sends: all 19,043 Reuters articles took 4 MB and 4.5-6 s to show on every visit


def sources_ui(assistant: Assistant, access: Access = Access(), hooks: Hooks = Hooks()):
    """Event handlers of the Sources tab: list, upload and remove articles; the index updates live.

    Each write handler checks the caller's role first: the browser and a direct API call meet the same check.
    """

    def refused(request: gr.Request | None, action: str) -> str | None:
        refusal = access.write_refusal(request)
        if refusal:
            hooks.denied(getattr(request, "username", None), action)
        return refusal

    def listing(match: str | None = "", request: gr.Request | None = None):
        return _listing(match, access.may_read(request))

    def _listing(match: str | None = "", allowed: bool = True):
        """The `LISTED` articles added last, or those of them that match the filter: the table, the summary, the
        remove menu's choices and the originals' links (an upload shows at the top)."""
        match = " ".join((match or "").split())[:200]
        rows = assistant.articles(match, LISTED) if allowed else []
        stats = assistant.stats()
        summary = f"**{stats['articles']:,}** articles, **{stats['chunks']:,}** passages indexed."
        if allowed and match:
            found = assistant.count_articles(match)
            summary += f" {found:,} {'matches' if found == 1 else 'match'} “{render.escape_markdown(match)}”"
            summary += f"; the {len(rows)} added last are listed." if len(rows) < found else "."
        elif allowed and len(rows) < stats["articles"]:
            summary += f" The {len(rows)} added last are listed: the filter finds the others."
        choices = [(f"{a['id']} — {a['title']}"[:120], a["id"]) for a in rows]
        return (render.article_rows(rows), summary, gr.update(choices=choices, value=None),
                render.article_links_html(rows))

    def _relisted(allowed: bool = True):
        """What a write (or a refused one) sends back after its own outputs: the filter cleared, the listing."""
        return ("", *_listing("", allowed))

    def fetch(url: str, is_feed: bool, request: gr.Request | None = None):
        """Fetch a page (or a feed and its linked pages) the user typed, and add it; errors per item."""
        if refusal := refused(request, "fetch"):
            return _status([f"✗ {refusal}"]), url, *_relisted(access.may_read(request))
        with hooks.working():
            return _fetch(url, is_feed)

    def _fetch(url: str, is_feed: bool):
        url = (url or "").strip()
        if not url:
            return _status(["Type the http(s) address of a page or feed."]), url, *_relisted()
        if not is_url(url):
            return _status([f"✗ {url[:200]}: only http:// and https:// addresses can be fetched"]), url, *_relisted()
        lines: list[str] = []
        try:
            articles, errors = load_sources([url], feed=bool(is_feed))
        except Exception:
            log.exception("fetching %r failed", url[:200])
            articles, errors = [], [f"{url[:200]}: something went wrong; the details are in the server log"]
        lines += [f"✗ {e}" for e in errors]
        if articles:
            try:
                result = assistant.add(articles)
            except AssistantError as exc:
                lines.append(f"✗ not added: {exc}")
            else:
                lines.insert(0, f"✓ {url[:200]}: {result.added} new, {result.updated} updated, "
                                f"{result.unchanged} unchanged ({result.chunks} passages embedded)")
        return _status(lines or ["Nothing found at that address."]), "" if articles else url, *_relisted()

    def upload(paths, request: gr.Request | None = None):
        if refusal := refused(request, "upload"):
            return _status([f"✗ {refusal}"]), None, *_relisted(access.may_read(request))
        with hooks.working():
            return _upload(paths)

    def _upload(paths):
        paths = [p for p in (paths or []) if p]
        lines: list[str] = []
        if len(paths) > MAX_UPLOAD_FILES:
            lines.append(f"✗ {len(paths)} files: upload at most {MAX_UPLOAD_FILES} at a time.")
            return _status(lines), None, *_relisted()
        articles, names = [], []
        for path in paths:
            name = Path(path).name  # the original basename (Gradio keeps it); never a path
            try:
                if os.path.getsize(path) > MAX_UPLOAD_BYTES:
                    raise AssistantError(f"{name}: larger than {MAX_UPLOAD_BYTES // 2**20} MB; split it into smaller files")
                loaded = load_file(path, name=name)
            except AssistantError as exc:
                lines.append(f"✗ {exc}")
                continue
            except OSError:
                lines.append(f"✗ {name}: could not read the uploaded file")
                continue
            articles += loaded
            names.append(f"{name} ({len(loaded)} article{'s' if len(loaded) != 1 else ''})")
        if articles:
            try:
                result = assistant.add(articles)
            except AssistantError as exc:
                lines.append(f"✗ not added: {exc}")
            except Exception:
                log.exception("adding uploaded articles failed")
                lines.append("✗ not added: something went wrong; the details are in the server log")
            else:
                lines.insert(0, f"✓ {', '.join(names)}: {result.added} new, {result.updated} updated, "
                                f"{result.unchanged} unchanged ({result.chunks} passages embedded)")
        if not lines:
            lines.append("No files received.")
        return _status(lines), None, *_relisted()

    def remove(article_id: str | None, request: gr.Request | None = None):
        if refusal := refused(request, "remove"):
            return _status([f"✗ {refusal}"]), *_relisted(access.may_read(request))
        with hooks.working():
            return _remove(article_id)

    def _remove(article_id: str | None):
        if not article_id:
            return _status(["Choose an article to remove."]), *_relisted()
        try:
            removed = assistant.remove(article_id)
        except AssistantError as exc:
            return _status([f"✗ {exc}"]), *_relisted()
        msg = f"✓ removed {article_id}" if removed else f"✗ no article with id {article_id}"
        return _status([msg]), *_relisted()

    return listing, upload, remove, fetch


def _status(lines: list[str]) -> str:
    """Status lines as inert Markdown (file names and errors may contain anything)."""
    return "\n\n".join(render.escape_markdown(line) for line in lines)


def write_controls():
    """Upload, remove and fetch: created only on a writable server, shown only to editors."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            files = gr.File(label="Add articles", file_count="multiple", file_types=sorted(SUFFIXES),
                            type="filepath", elem_id="upload", height=140)
            gr.Markdown(f"Files: {', '.join(sorted(SUFFIXES))} (one article per text/HTML file, one "
                        f"JSON object per .jsonl line); up to {MAX_UPLOAD_FILES} files at a time, "
                        f"{MAX_UPLOAD_BYTES // 2**20} MB each. A file whose id is already indexed "
                        "replaces that article.", elem_id="upload-help")
        with gr.Column(scale=2):
            remove_id = gr.Dropdown(label="Remove an article", choices=[], elem_id="remove-id")
            remove_btn = gr.Button("Remove", variant="stop", elem_id="remove")
    with gr.Row(equal_height=False):
        url_box = gr.Textbox(label="Add a web page or feed", placeholder="https://…", scale=4, elem_id="fetch-url")
        is_feed = gr.Checkbox(label="RSS/Atom feed", value=False, scale=1, elem_id="fetch-feed")
        fetch_btn = gr.Button("Fetch", scale=1, elem_id="fetch")
    return files, remove_id, remove_btn, url_box, is_feed, fetch_btn
