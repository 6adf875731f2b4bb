"""Counters and a latency histogram in Prometheus' text format (version 0.0.4), for `/metrics`.

Written out here rather than with prometheus_client: a dozen lines of format for five series, no dependency.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)  # seconds: answers take tens of ms to seconds
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """Thread-safe: handlers run in Gradio's worker threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.questions = 0
        self.refusals = 0
        self.errors: dict[str, int] = {"handled": 0, "unexpected": 0}
        self.denied = 0
        self.in_flight = 0
        self._buckets = [0] * len(BUCKETS)
        self._sum = 0.0

    def observe(self, seconds: float, refused: bool, error: str | None) -> None:
        with self._lock:
            self.questions += 1
            self.refusals += refused
            if error:
                self.errors[error] = self.errors.get(error, 0) + 1
            self._sum += seconds
            for i, bound in enumerate(BUCKETS):
                self._buckets[i] += seconds <= bound

    def add(self, name: str, delta: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + delta)

    def render(self, index: Callable[[], dict]) -> str:
        """The exposition; `index()` gives the index's generation and counts at scrape time."""
        stats = index()
        with self._lock:
            return "".join(self._lines(stats))

    def _lines(self, stats: dict) -> Iterator[str]:
        def one(name: str, kind: str, help: str, value: float, labels: str = "") -> Iterator[str]:
            yield f"# HELP {name} {help}\n# TYPE {name} {kind}\n{name}{labels} {value}\n"

        yield from one("assistant_questions_total", "counter", "Questions answered or failed.", self.questions)
        yield from one("assistant_refusals_total", "counter", "Questions the articles did not answer.", self.refusals)
        yield "# HELP assistant_errors_total Questions that failed: handled (the user was told why) or unexpected.\n"
        yield "# TYPE assistant_errors_total counter\n"
        for kind, n in sorted(self.errors.items()):
            yield f'assistant_errors_total{{kind="{kind}"}} {n}\n'
        yield from one("assistant_writes_denied_total", "counter", "Uploads, fetches and removals refused by role "
                       "or read-only mode.", self.denied)
        yield from one("assistant_in_flight", "gauge", "Questions and writes running now.", self.in_flight)
        yield ("# HELP assistant_answer_seconds Time to answer a question.\n"
               "# TYPE assistant_answer_seconds histogram\n")
        for bound, n in zip(BUCKETS, self._buckets):
            yield f'assistant_answer_seconds_bucket{{le="{bound}"}} {n}\n'
        yield f'assistant_answer_seconds_bucket{{le="+Inf"}} {self.questions}\n'
        yield f"assistant_answer_seconds_sum {round(self._sum, 6)}\nassistant_answer_seconds_count {self.questions}\n"
        yield from one("assistant_index_generation", "gauge", "The index generation being served.",
                       stats.get("generation", 0))
        yield from one("assistant_index_articles", "gauge", "Articles in the index.", stats.get("articles", 0))
        yield from one("assistant_index_chunks", "gauge", "Passages in the index.", stats.get("chunks", 0))
