"""The operator's side without a server: the Prometheus text, the per-question JSON line, draining, /healthz."""
from __future__ import annotations

import json
import threading
import time

from serving import metric

from assistant.serve.metrics import Metrics
from assistant.serve.ops import Operations
from assistant.types import Answer, Citation


def cited(n: int) -> Answer:
    c = Citation(1, "a", "T", "a#0", 0, 10, "text", "text", 0, 4, 0.9)
    return Answer("text [1]", [c] * n)


def test_the_exposition_counts_and_buckets():
    m = Metrics()
    m.observe(0.07, refused=False, error=None)
    m.observe(3.0, refused=True, error=None)
    m.observe(0.2, refused=False, error="handled")
    text = m.render(lambda: {"generation": 7, "articles": 5, "chunks": 9})
    assert metric(text, "assistant_questions_total") == 3 and metric(text, "assistant_refusals_total") == 1
    assert metric(text, 'assistant_errors_total{kind="handled"}') == 1
    assert metric(text, 'assistant_answer_seconds_bucket{le="0.05"}') == 0
    assert metric(text, 'assistant_answer_seconds_bucket{le="0.1"}') == 1
    assert metric(text, 'assistant_answer_seconds_bucket{le="5.0"}') == 3
    assert metric(text, 'assistant_answer_seconds_bucket{le="+Inf"}') == 3
    assert abs(metric(text, "assistant_answer_seconds_sum") - 3.27) < 1e-9
    assert metric(text, "assistant_index_generation") == 7
    for line in text.splitlines():  # every sample line is `name{labels} number`, every series has HELP and TYPE
        assert line.startswith("# ") or float(line.rsplit(" ", 1)[1]) >= 0
    assert text.count("# TYPE") == text.count("# HELP") == 9


def test_one_line_per_question_and_the_question_only_when_asked_for(assistant):
    lines: list[str] = []
    ops = Operations(assistant, write_line=lines.append)
    ops.asked("rita", 0.1234, cited(2), None, "secret question?")
    ops.asked(None, 0.5, None, "unexpected", "another?")
    first, second = map(json.loads, lines)
    assert first["user"] == "rita" and first["seconds"] == 0.123 and first["citations"] == 2
    assert first["refused"] is False and first["error"] is None and first["time"].endswith("Z")
    assert second["error"] == "unexpected" and second["user"] is None
    assert "secret" not in "".join(lines)
    logged = Operations(assistant, log_questions=True, write_line=lines.append)
    logged.asked("ed", 0.1, cited(1), None, "secret question?")
    assert json.loads(lines[-1])["question"] == "secret question?"


def test_drain_waits_for_the_work_in_flight(assistant):
    ops = Operations(assistant, write_line=lambda line: None)
    started, release = threading.Event(), threading.Event()

    def work():
        with ops.working():
            started.set()
            release.wait(5)

    threading.Thread(target=work).start()
    started.wait(5)
    assert not ops.drain(0.2)  # still running
    assert ops.draining and ops.health()[0] == 503
    threading.Timer(0.3, release.set).start()
    t = time.monotonic()
    assert ops.drain(5) and time.monotonic() - t >= 0.2
    assert ops.metrics.in_flight == 0


def test_health_reports_the_index(assistant):
    status, body = Operations(assistant).health()
    assert status == 200 and body["status"] == "ok"
    assert body["articles"] == assistant.stats()["articles"] and body["generation"] >= 1
