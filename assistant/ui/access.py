"""Who may do what in the web app. Every handler asks here, on the server: a hidden button is only a courtesy.

Readers chat and see the sources; editors also upload, fetch and remove. Without sign-in (one person on
loopback, `make run`) that person is an editor. A read-only server registers no write handler at all, and these
checks refuse writes anyway.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

READER, EDITOR = "reader", "editor"
ROLES = (READER, EDITOR)


def _everyone_edits(user: str | None) -> str | None:
    return EDITOR


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _ignore(*args: Any) -> None:
    return None


@dataclass(frozen=True)
class Access:
    """`role_of(username)` is the user's role now (None: not a user any more); `writable=False`: read-only mode."""

    writable: bool = True
    role_of: Callable[[str | None], str | None] = _everyone_edits

    def role(self, request: Any) -> str | None:
        """The role of the user behind a `gr.Request` (Gradio puts the signed-in name on it)."""
        return self.role_of(getattr(request, "username", None))

    def may_read(self, request: Any) -> bool:
        return self.role(request) in ROLES

    def may_write(self, request: Any) -> bool:
        return self.writable and self.role(request) == EDITOR

    def write_refusal(self, request: Any) -> str | None:
        """Why this request may not change the articles, or None when it may."""
        if not self.writable:
            return "This server is read-only: articles cannot be added or removed here."
        role = self.role(request)
        if role == EDITOR:
            return None
        user = getattr(request, "username", None) or "this user"
        return (f"Only editors can add or remove articles; {user} is signed in as {role}." if role
                else f"{user} is not a user of this server any more.")


@dataclass(frozen=True)
class Hooks:
    """What a server wraps around the handlers: `asked(user, seconds, answer or None, error or None, question)`
    after every question (error: "handled" when the user was shown why, "unexpected" for a bug), `denied(user,
    action)` for every refused write, and `working()`, held while a question or a write runs (a graceful shutdown
    waits for it)."""

    asked: Callable[..., None] = _ignore
    denied: Callable[[str | None, str], None] = _ignore
    working: Callable[[], AbstractContextManager] = field(default=_nothing)
