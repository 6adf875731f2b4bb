"""HTML and Markdown for the web UI (app.py). Article text is untrusted: all of it is escaped here.

Two outputs reach the browser:
- chat messages, rendered by Gradio's Markdown: every character from an article or a user is HTML-escaped
  and Markdown punctuation is backslash-escaped, so a `[link](javascript:…)` or `<img onerror>` stays text;
- the sources panel, raw HTML: built only from `html.escape`d strings and our own fixed tags.
"""
from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence

from ..errors import InputError
from ..types import Answer, Citation, Passage
from ..validate import check_history

MAX_ANSWER_CHARS = 4000  # one chat message; the full answer is still in the API result
MAX_HISTORY_TURNS = 20  # messages kept (and accepted) as conversation context
ROLES = ("user", "assistant")

_MD_PUNCT = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>:$=\"'@^])")
_MARKER = re.compile(r"\\\[(\d+)\\\]")


def esc(value: object) -> str:
    """HTML-escape anything (None becomes an empty string), quotes included."""
    return html.escape("" if value is None else str(value), quote=True)


def escape_markdown(text: str) -> str:
    """Text that Markdown renders literally: no tags, links, emphasis, code, lists or math."""
    text = html.escape(text, quote=False)  # & < > become entities, which Markdown leaves alone
    text = _MD_PUNCT.sub(r"\\\1", text)
    # escaped entities (&lt; etc.) must keep their & and ; so they are not touched above
    return text


def shorten(text: str, limit: int = MAX_ANSWER_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " …"


def user_markdown(question: str) -> str:
    """A user's chat bubble: their text, shown as typed."""
    return escape_markdown(shorten(question))


def answer_markdown(answer: Answer) -> str:
    """The assistant's chat bubble: the answer with bold [n] markers, or a clearly marked refusal."""
    body = escape_markdown(shorten(answer.text))
    if answer.refused:
        return f"**No answer in the articles.** {body}"
    numbers = {str(c.n) for c in answer.citations}
    body = _MARKER.sub(lambda m: f"**\\[{m.group(1)}\\]**" if m.group(1) in numbers else m.group(0), body)
    short = escape_markdown(" ".join(answer.short.split())) if answer.short else ""
    if short and short in body:  # the short answer, in bold where the quote says it
        body = body.replace(short, f"**{short}**", 1)
    return body


def llm_answer_markdown(answer: Answer) -> str:
    """A language model's verified answer: checked sentences with their markers; any sentence that failed the
    check struck through and labelled, so it is never read as fact; a fallback says why."""
    if answer.generator != "llm":
        body = answer_markdown(answer)
        return f"{body}\n\n*{escape_markdown(shorten(answer.note, 400))}*" if answer.note else body
    parts = []
    for claim in answer.claims:
        text = escape_markdown(shorten(claim.text, 1000))
        if claim.verified:
            parts.append(text + " " + "".join(f"**\\[{n}\\]**" for n in claim.cited))
        elif claim.text in answer.text:  # kept with strict=False: shown, but never as fact
            parts.append(f"~~{text}~~ *(unverified: {escape_markdown(claim.note)})*")
    dropped = sum(not c.verified and c.text not in answer.text for c in answer.claims)
    if dropped:
        parts.append(f"\n\n*{dropped} sentence{'s' if dropped > 1 else ''} of the model's draft dropped: "
                     "not supported by the passage cited.*")
    return " ".join(parts)


def draft_markdown(draft: str) -> str:
    """The model's text while it streams: plainly a draft, to be replaced by the checked answer."""
    return f"*Draft, being checked against the passages…*\n\n{escape_markdown(shorten(draft))}"


def error_markdown(message: str) -> str:
    return f"⚠️ {escape_markdown(shorten(message, 600))}"


def clamp_span(text: str, start: int, end: int, quote: str = "") -> tuple[int, int] | None:
    """A valid [start, end) inside `text`, or the quote's position when the offsets do not fit."""
    if 0 <= start < end <= len(text):
        return start, end
    at = text.find(quote) if quote else -1
    return (at, at + len(quote)) if at >= 0 else None


def highlight(text: str, start: int, end: int, quote: str = "", bold: tuple[int, int] | None = None) -> str:
    """Escaped `text` with `[start:end]` wrapped in <mark>, and `bold` (inside it) in <strong>."""
    span = clamp_span(text, start, end, quote)
    if span is None:
        return esc(text)
    s, e = span
    inner = esc(text[s:e])
    if bold and s <= bold[0] < bold[1] <= e:
        bs, be = bold
        inner = f'{esc(text[s:bs])}<strong class="src-short">{esc(text[bs:be])}</strong>{esc(text[be:e])}'
    return f"{esc(text[:s])}<mark>{inner}</mark>{esc(text[e:])}"


def quote_in_passage(c: Citation) -> tuple[int, int]:
    """Citation offsets are article offsets; the passage starts at `c.start`."""
    return c.quote_start - c.start, c.quote_end - c.start


def _meta(date: str | None, source: str | None, article_id: str, start: int, end: int, extra: str = "") -> str:
    parts = [f'<span class="src-date">{esc(date or "undated")}</span>',
             f'<span class="src-source">{esc(source or "unknown source")}</span>',
             f'<span class="src-id">id <code>{esc(article_id)}</code></span>',
             f'<span class="src-chars">chars {start}–{end}</span>']
    if extra:
        parts.append(extra)
    return '<div class="src-meta">' + " · ".join(parts) + "</div>"


def safe_url(url: object) -> str | None:
    """`url` when it is an absolute http(s) URL (article data is untrusted: no javascript:, data:, file:)."""
    if not isinstance(url, str) or any(ch in url for ch in "\x00\r\n\t <>\"'`"):
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def link_html(url: object, label: str = "original") -> str:
    """An escaped link to an http(s) URL (opening in a new tab, no referrer), or the URL as inert text."""
    ok = safe_url(url)
    if ok:
        return f'<a class="src-link" href="{esc(ok)}" target="_blank" rel="noopener noreferrer nofollow">{esc(label)}</a>'
    return f'<span class="src-url">{esc(url)}</span>' if url else ""


def also_in_html(also_in: Sequence[str]) -> str:
    if not also_in:
        return ""
    n = len(also_in)
    return (f'<span class="src-also" title="{esc(", ".join(also_in))}">also in: {n} source{"s" if n != 1 else ""} '
            f'({esc(", ".join(also_in[:5]))}{", …" if n > 5 else ""})</span>')


def _extras(url: object, also_in: Sequence[str]) -> str:
    return " · ".join(x for x in (link_html(url), also_in_html(also_in)) if x)


def citation_html(c: Citation) -> str:
    qs, qe = quote_in_passage(c)
    quote = f'<span class="src-quote">quote {c.quote_start}–{c.quote_end}</span>'
    extra = " · ".join(x for x in (quote, _extras(c.url, c.also_in)) if x)
    return (f'<section class="src" id="src-{c.n}" data-n="{c.n}">'
            f'<div class="src-head"><span class="src-n">[{c.n}]</span> <span class="src-title">{esc(c.title)}</span></div>'
            f"{_meta(c.date, c.source, c.article_id, c.start, c.end, extra)}"
            f'<div class="src-text">{highlight(c.text, qs, qe, c.quote, short_in_passage(c))}</div></section>')


def short_in_passage(c: Citation) -> tuple[int, int] | None:
    """Passage offsets of the short answer, when this citation carries one."""
    if c.answer_start is None or c.answer_end is None:
        return None
    return c.answer_start - c.start, c.answer_end - c.start


def passage_html(n: int, p: Passage) -> str:
    return (f'<section class="src closest" data-n="{n}">'
            f'<div class="src-head"><span class="src-n">{n}.</span> <span class="src-title">{esc(p.title)}</span></div>'
            f"{_meta(p.date, p.source, p.article_id, p.start, p.end, _extras(p.url, p.also_in))}"
            f'<div class="src-text">{esc(p.text)}</div></section>')


def sources_html(answer: Answer, closest: int = 3) -> str:
    """The side panel: cited passages numbered like the markers, or the closest passages of a refusal."""
    head = f'<div class="src-question">Sources for <q>{esc(shorten(answer.question, 300))}</q></div>'
    if answer.refused:
        shown = answer.passages[:closest]
        note = ("No passage answers this question. The closest passages, for you to check:" if shown
                else "No passage answers this question, and no article comes close.")
        body = "".join(passage_html(i, p) for i, p in enumerate(shown, 1))
        return f'<div class="sources refused">{head}<div class="src-note">{esc(note)}</div>{body}</div>'
    body = "".join(citation_html(c) for c in answer.citations)
    return f'<div class="sources">{head}{body}</div>'


def placeholder_html(articles: int | None = None) -> str:
    count = f" across {articles} indexed article{'s' if articles != 1 else ''}" if articles is not None else ""
    return ('<div class="sources empty"><div class="src-note">Ask a question: the passages that support the '
            f"answer{esc(count)} appear here, numbered like the [n] markers, with the quoted words highlighted."
            "</div></div>")


def busy_html(question: str) -> str:
    return (f'<div class="sources busy"><div class="src-note">Searching the articles for '
            f"<q>{esc(shorten(question, 300))}</q>…</div></div>")


def error_html(message: str) -> str:
    return f'<div class="sources error"><div class="src-note">⚠️ {esc(shorten(message, 600))}</div></div>'


def article_rows(articles: Iterable[Mapping[str, object]]) -> list[list[object]]:
    """Rows for the Sources table (Gradio renders "str" cells as text)."""
    return [[a.get("id"), a.get("title"), a.get("date") or "", a.get("source") or "", a.get("chunks") or 0]
            for a in articles]


def article_links_html(articles: Iterable[Mapping[str, object]], limit: int = 500) -> str:
    """The Sources tab's list of originals: date, source, title linking to the article's URL (http/https only)."""
    items = []
    for a in list(articles)[:limit]:
        url = a.get("url")
        title = esc(a.get("title"))
        ok = safe_url(url)
        head = (f'<a href="{esc(ok)}" target="_blank" rel="noopener noreferrer nofollow">{title}</a>' if ok
                else title)
        shown_url = f' <span class="src-url">{esc(url)}</span>' if url else ""
        items.append(f'<li><span class="src-date">{esc(a.get("date") or "undated")}</span> · '
                     f'<span class="src-source">{esc(a.get("source") or "unknown source")}</span> · {head}{shown_url}</li>')
    return f'<ul class="article-links">{"".join(items)}</ul>' if items else ""


def parse_history(history: object) -> list[dict[str, str]]:
    """Chat history from the API or UI: a list of {"role", "content"} dicts, or that list as a JSON string."""
    if history in (None, "", []):
        return []
    if isinstance(history, str):
        try:
            history = json.loads(history)
        except json.JSONDecodeError as exc:
            raise InputError(f"history is not valid JSON ({exc.msg}); send a list of {{role, content}} objects") from exc
    out = check_history(history, roles=ROLES)
    return out[-MAX_HISTORY_TURNS:]
