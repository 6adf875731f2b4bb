"""What an operator sees: metrics, one JSON log line per question, /healthz, and the in-flight work that a
graceful shutdown waits for. This is the server's side of `ui.access.Hooks`."""
from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..assistant import Assistant
from ..types import Answer
from ..ui.access import Hooks
from .metrics import Metrics

log = logging.getLogger(__name__)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class Operations:
    """`write_line` receives each JSON log line (stderr by default, one write per line so lines never interleave)."""

    def __init__(self, assistant: Assistant, log_questions: bool = False,
                 write_line: Callable[[str], None] = _stderr):
        self.assistant = assistant
        self.metrics = Metrics()
        self.log_questions = log_questions
        self.write_line = write_line
        self.draining = False
        self._idle = threading.Condition()

    def hooks(self) -> Hooks:
        return Hooks(asked=self.asked, denied=self.denied, working=self.working)

    def asked(self, user: str | None, seconds: float, answer: Answer | None, error: str | None,
              question: str = "") -> None:
        refused = bool(answer and answer.refused)
        self.metrics.observe(seconds, refused, error)
        line = {"time": _now(), "event": "question", "user": user, "seconds": round(seconds, 3), "refused": refused,
                "citations": len(answer.citations) if answer else 0, "error": error}
        if self.log_questions:
            line["question"] = question
        self.write_line(json.dumps(line, ensure_ascii=False))

    def denied(self, user: str | None, action: str) -> None:
        self.metrics.add("denied")
        self.write_line(json.dumps({"time": _now(), "event": "denied", "user": user, "action": action}))

    @contextmanager
    def working(self) -> Iterator[None]:
        with self._idle:
            self.metrics.add("in_flight")
        try:
            yield
        finally:
            with self._idle:
                self.metrics.add("in_flight", -1)
                self._idle.notify_all()

    def drain(self, timeout: float) -> bool:
        """Stop taking new work and wait for the running questions and writes; False when time ran out."""
        self.draining = True
        with self._idle:
            return self._idle.wait_for(lambda: self.metrics.in_flight == 0, timeout)

    def index_stats(self) -> dict:
        """The generation being served (a replica picks up a newer one here) and the counts."""
        self.assistant.index.refresh()
        return self.assistant.stats()

    def health(self) -> tuple[int, dict]:
        """(HTTP status, body) for /healthz: 200 when the index answers and the server takes questions."""
        try:
            stats = self.index_stats()
        except Exception as exc:  # a probe must get an answer, whatever broke
            log.warning("health check failed: %s", exc)
            return 503, {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
        body = {"status": "draining" if self.draining else "ok", "index": str(self.assistant.path),
                "generation": stats["generation"], "articles": stats["articles"], "chunks": stats["chunks"]}
        return (503 if self.draining else 200), body

    def metrics_text(self) -> str:
        return self.metrics.render(self.index_stats)


def _now() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"
