"""An OpenAI-compatible chat-completions client (Ollama, llama.cpp server, vLLM, hosted APIs), streaming over SSE.

Every failure a user can meet (server down, timeout, rate limit, a reply that is not the protocol) becomes an
`LLMError` with a message that says what happened; the caller falls back to the extractive answer. Timeouts
apply to connecting, to each read, and to the whole reply, so a server that trickles bytes cannot hang a turn.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import httpx

from ..errors import AssistantError

ENV_URL, ENV_MODEL, ENV_KEY = "ASSISTANT_LLM_URL", "ASSISTANT_LLM_MODEL", "ASSISTANT_LLM_API_KEY"


class LLMError(AssistantError):
    """The language model could not answer (unreachable, too slow, rate-limited, or an unreadable reply)."""


@dataclass
class ChatClient:
    """`base_url` is the API root (`http://host:port/v1`; a bare `http://host:port` gets `/v1` added)."""

    base_url: str
    model: str = "default"
    api_key: str | None = None
    timeout: float = 60.0  # seconds for the whole reply
    connect_timeout: float = 5.0
    max_tokens: int = 256
    temperature: float = 0.0
    extra: dict = field(default_factory=dict)  # server-specific request fields (llama.cpp: grammar, repeat_penalty)

    def __post_init__(self) -> None:
        url = self.base_url.rstrip("/")
        self.base_url = url if url.endswith("/v1") or "/v1/" in url + "/" else url + "/v1"

    @classmethod
    def from_env(cls, base_url: str | None = None, model: str | None = None, api_key: str | None = None,
                 **kwargs) -> ChatClient:
        """Arguments win over `ASSISTANT_LLM_URL` / `ASSISTANT_LLM_MODEL` / `ASSISTANT_LLM_API_KEY`."""
        url = base_url or os.environ.get(ENV_URL)
        if not url:
            raise LLMError(f"no language model configured: pass a URL or set {ENV_URL}")
        return cls(url, model or os.environ.get(ENV_MODEL) or "default", api_key or os.environ.get(ENV_KEY),
                   **kwargs)

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def stream(self, messages: Sequence[Mapping[str, str]], max_tokens: int | None = None,
               extra: Mapping[str, object] | None = None) -> Iterator[str]:
        """The reply's text, piece by piece as the server sends it; raises `LLMError` on any failure. `extra`
        adds request fields for this call only."""
        body = {"model": self.model, "messages": list(messages), "stream": True,
                "max_tokens": max_tokens or self.max_tokens, "temperature": self.temperature, **self.extra,
                **(extra or {})}
        timeout = httpx.Timeout(self.timeout, connect=self.connect_timeout, pool=self.connect_timeout)
        deadline = time.monotonic() + self.timeout
        where = f"the language model at {self.base_url}"
        try:
            with httpx.Client(timeout=timeout, trust_env=False) as http, \
                    http.stream("POST", f"{self.base_url}/chat/completions", json=body, headers=self._headers()) as r:
                if r.status_code != 200:
                    r.read()
                    raise LLMError(_status_message(where, r))
                if "event-stream" not in r.headers.get("content-type", ""):  # a server that ignored stream=True
                    r.read()
                    yield _whole_reply(r.text, where)
                    return
                for line in r.iter_lines():
                    if time.monotonic() > deadline:
                        raise LLMError(f"{where} took longer than {self.timeout:g} s to answer")
                    piece = _sse_piece(line, where)
                    if piece is None:
                        return
                    if piece:
                        yield piece
        except httpx.TimeoutException as exc:
            raise LLMError(f"{where} did not answer within {self.timeout:g} s ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise LLMError(f"cannot reach {where}: {exc or type(exc).__name__}") from exc

    def complete(self, messages: Sequence[Mapping[str, str]], max_tokens: int | None = None) -> str:
        return "".join(self.stream(messages, max_tokens))


def _status_message(where: str, r: httpx.Response) -> str:
    detail = " ".join(r.text.split())[:200]
    if r.status_code == 429:
        return f"{where} is rate-limiting requests (HTTP 429); try again later. {detail}".strip()
    if r.status_code in (401, 403):
        return f"{where} refused the API key (HTTP {r.status_code}); set ASSISTANT_LLM_API_KEY. {detail}".strip()
    if r.status_code == 404:
        return f"{where} has no chat-completions endpoint or no such model (HTTP 404). {detail}".strip()
    return f"{where} answered HTTP {r.status_code}. {detail}".strip()


def _whole_reply(text: str, where: str) -> str:
    try:
        return str(json.loads(text)["choices"][0]["message"]["content"] or "")
    except json.JSONDecodeError as exc:
        raise LLMError(f"{where} sent a reply that is not JSON ({exc.msg}): {text[:80]!r}") from exc
    except (KeyError, IndexError, TypeError) as exc:
        raise LLMError(f"{where} sent a reply outside the chat-completions protocol: {text[:80]!r}") from exc


def _sse_piece(line: str, where: str) -> str | None:
    """The text in one SSE line: "" for keep-alives and non-text events, None at `[DONE]`."""
    line = line.strip()
    if not line or line.startswith(":") or not line.startswith("data:"):
        return ""
    data = line[5:].strip()
    if data == "[DONE]":
        return None
    try:
        event = json.loads(data)
    except json.JSONDecodeError as exc:
        raise LLMError(f"{where} sent a reply that is not JSON ({exc.msg}): {data[:80]!r}") from exc
    if not isinstance(event, dict):
        raise LLMError(f"{where} sent an unexpected event: {data[:80]!r}")
    if "error" in event:
        raise LLMError(f"{where} reported an error: {str(event['error'])[:200]}")
    try:
        choice = event["choices"][0] if event.get("choices") else {}
        delta = choice.get("delta") or choice.get("message") or {}
        return str(delta.get("content") or "")
    except (AttributeError, TypeError, KeyError) as exc:
        raise LLMError(f"{where} sent an event outside the chat-completions protocol: {data[:80]!r}") from exc
