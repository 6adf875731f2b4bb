"""Load test of the web app: concurrent chat sessions over the Gradio API while a writer adds and removes articles.

    python benchmarks/load.py [--sessions 20] [--turns 3]              # starts the app on a temp index
    python benchmarks/load.py --url http://127.0.0.1:7860 --index index  # against a running app

Each session is one thread with its own `gradio_client.Client`, holding a distinct conversation through
`/ask`: a question tagged with the session's own name ("For Abernathy: who gave Haftar his drones?"), then
follow-ups ("And what else do we know about it?") whose condensing must carry that name and nothing of
another session's. Meanwhile a writer thread uploads a small article and removes it again, over and over:
through the app's own upload/remove handlers on the app's `Assistant` when the app is started here, or
through the Python API on `--index` (another process writing the served index) with `--url`.

Checked for every answer: no exception; `question` is the session's own; `condensed_question` equals what
`condense` makes of the session's own history, holds its own name and no other session's; every citation's
(article_id, start, end, text) and quote match the article text (the writer's articles against the text it
uploaded, since it may have removed them since; the others against the index). Printed: requests/s over
the concurrent phase, p50/p95/max latency, and the error counts. Exit status 1 when anything failed.
`tests/test_concurrency.py` runs the same scenario (20 sessions x 2 turns) and asserts on it.

Everything stays on loopback; nothing is downloaded (the Gradio client's analytics are off).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

ROOT = Path(__file__).resolve().parent.parent
from assistant.answer.conversation import condense  # noqa: E402
from assistant.ingest.loaders import load_file  # noqa: E402
from assistant.search import check_query  # noqa: E402

# One invented surname per session: it appears in no article, so it can only reach a session's condensed
# question through that session's own history.
NAMES = ["Abernathy", "Bellweather", "Castellanos", "Dunmore", "Everhart", "Fairbanks", "Gallowglass",
         "Hollingsworth", "Ingersoll", "Jorgensen", "Kowalczyk", "Lindqvist", "Montgomery", "Northcott",
         "Okonkwo", "Pemberton", "Quimby", "Rutherford", "Strickland", "Thistlewood", "Underhill", "Vanderbilt",
         "Whitcombe", "Xenakis", "Yardley", "Zabriskie"]
TOPICS = [  # over the seed article, the test distractors, and the writer's own (coming and going) article
    "who gave Haftar his drones?",
    "why won't Turkey send combat aircraft?",
    "how much will Sudan's sorghum harvest fall short?",
    "what quota did Malta set for bluefin tuna?",
    "who sends mercenaries to Haftar's forces?",
    "what can Turkey provide to the reconciliation government?",
    "why are the Greek ferry crews on strike?",
    "how far did the Turkish lira fall?",
    "what is in the Misrata museum archive?",
    "what did the Turkish Parliament ratify?",
]
FOLLOW_UPS = ["And what else do we know about it?", "Does anyone dispute that?", "Why does that matter?",
              "What happened after that?"]
WRITER_TEXT = ("Malta set its bluefin tuna quota at {tonnes} tonnes for the coming season, the fisheries ministry "
               "said on Monday.\n\nFishermen in Marsaxlokk said the quota was too low to cover their costs. The "
               "ministry said stocks in the central Mediterranean had recovered more slowly than expected.\n\n"
               "Load-test article number {n}.")


def conversation(session: int, turns: int) -> list[str]:
    """The questions of one session: a tagged opening question, then follow-ups that refer back to it."""
    name = NAMES[session % len(NAMES)] + ("" if session < len(NAMES) else str(session // len(NAMES)))
    first = f"For {name}: {TOPICS[session % len(TOPICS)]}"
    return [first] + [FOLLOW_UPS[(session + t) % len(FOLLOW_UPS)] for t in range(turns - 1)]


def session_name(session: int) -> str:
    return conversation(session, 1)[0].split(":")[0].removeprefix("For ")


@dataclass
class Request:
    session: int
    turn: int
    question: str
    history: list[dict]
    seconds: float = 0.0
    result: dict | None = None
    error: str | None = None


@dataclass
class Report:
    sessions: int
    turns: int
    requests: list[Request]
    wall: float  # seconds from the start signal to the last answer
    writes: int = 0  # uploads + removals the writer completed
    writer_errors: list[str] = field(default_factory=list)
    citations: int = 0
    writer_citations: int = 0  # citations of the writer's (since removed) articles
    bad_citations: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return [f"session {r.session} turn {r.turn}: {r.error}" for r in self.requests if r.error]

    @property
    def ok(self) -> bool:
        return not (self.errors or self.writer_errors or self.bad_citations or self.leaks)

    def latency(self, q: float) -> float:
        times = sorted(r.seconds for r in self.requests if r.error is None)
        if not times:
            return float("nan")
        return times[min(len(times) - 1, max(0, round(q * len(times) + 0.5) - 1))]  # nearest rank

    def summary(self) -> str:
        done = [r for r in self.requests if r.error is None]
        return "\n".join([
            f"sessions {self.sessions} x turns {self.turns} = {len(self.requests)} requests in {self.wall:.1f} s "
            f"({len(done) / self.wall if self.wall else 0:.2f} requests/s), writer: {self.writes} uploads+removals",
            f"latency p50 {self.latency(0.5):.2f} s, p95 {self.latency(0.95):.2f} s, max {self.latency(1.0):.2f} s",
            f"answered {sum(not r.result['refused'] for r in done)}, refused {sum(r.result['refused'] for r in done)}; "
            f"citations checked {self.citations} (of the writer's articles: {self.writer_citations})",
            f"errors {len(self.errors)}, writer errors {len(self.writer_errors)}, bad citations "
            f"{len(self.bad_citations)}, history leaks {len(self.leaks)}",
        ] + [f"  {line}" for line in (self.errors + self.writer_errors + self.bad_citations + self.leaks)[:20]])


# ---- the writer -----------------------------------------------------------------------------------
class Writer(threading.Thread):
    """Uploads one small article, removes it, and again, until `stop` (or `max_cycles`).

    `add(path) -> str` and `remove(article_id) -> str` return a status line starting with ✓ on success.
    `texts` maps every id it ever uploaded to the stored text (recorded before the upload, so a reader
    can never see one of its articles without the text being known).
    """

    def __init__(self, add: Callable[[str], str], remove: Callable[[str], str], folder: Path,
                 max_cycles: int = 40, pause: float = 0.2):
        super().__init__(name="load-writer", daemon=True)
        self.add, self.remove, self.folder = add, remove, Path(folder)
        self.max_cycles, self.pause = max_cycles, pause
        self.stop = threading.Event()
        self.texts: dict[str, str] = {}
        self.writes = 0
        self.errors: list[str] = []

    def run(self) -> None:
        for n in range(self.max_cycles):
            if self.stop.is_set():
                break
            article_id = f"load-tuna-{n:03d}"
            path = self.folder / f"{article_id}.jsonl"
            path.write_text(json.dumps({"id": article_id, "title": f"Malta sets bluefin tuna quota ({n})",
                                        "date": "2020-03-02", "source": "Load Wire",
                                        "text": WRITER_TEXT.format(tonnes=300 + n, n=n)}) + "\n", encoding="utf-8")
            self.texts[article_id] = load_file(path)[0].text  # exactly what the app stores
            for action, call, arg in (("upload", self.add, str(path)), ("remove", self.remove, article_id)):
                try:
                    status = call(arg)
                except Exception as exc:  # noqa: BLE001 - every failure is a finding
                    self.errors.append(f"{action} {article_id}: {type(exc).__name__}: {exc}")
                    return
                if not status.startswith("✓"):
                    self.errors.append(f"{action} {article_id}: {status}")
                    return
                self.writes += 1
                self.stop.wait(self.pause)


# ---- the sessions ---------------------------------------------------------------------------------
def run_session(client, session: int, turns: int, go: threading.Event, timeout: float) -> list[Request]:
    """One conversation, turn after turn, each turn sending the session's own history."""
    out, history = [], []
    go.wait()
    for turn, question in enumerate(conversation(session, turns), 1):
        req = Request(session, turn, question, list(history))
        started = time.perf_counter()
        try:
            req.result = client.submit(question, history, api_name="/ask").result(timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - every failure is a finding
            req.error = f"{type(exc).__name__}: {exc}"[:500]
        req.seconds = time.perf_counter() - started
        out.append(req)
        if req.error:
            break  # the rest of the conversation would need this answer
        history = history + [{"role": "user", "content": question},
                             {"role": "assistant", "content": req.result["answer"]}]
    return out


def check_request(req: Request, sessions: int, article_text: Callable[[str], str | None],
                  writer_texts: dict[str, str], report: Report) -> None:
    """The answer belongs to this session's conversation and cites passages that exist."""
    res, where = req.result, f"session {req.session} turn {req.turn}"
    if res["question"] != check_query(req.question):
        report.leaks.append(f"{where}: answered {res['question']!r} instead of {req.question!r}")
    expected = condense(check_query(req.question), req.history)
    condensed = res["condensed_question"]
    if condensed != expected:
        report.leaks.append(f"{where}: condensed {condensed!r}, its own history gives {expected!r}")
    own, words = session_name(req.session), set(re.findall(r"\w+", condensed))
    if req.turn > 1 and own not in words:
        report.leaks.append(f"{where}: follow-up lost its own topic {own!r}: {condensed!r}")
    others = sorted(words & {session_name(s) for s in range(sessions) if s != req.session})
    if others:
        report.leaks.append(f"{where}: other sessions' names {others} in {condensed!r}")
    for c in res["citations"]:
        report.citations += 1
        article_id = c["article_id"]
        if article_id in writer_texts:
            report.writer_citations += 1
            text = writer_texts[article_id]
        else:
            text = article_text(article_id)
        if text is None:
            report.bad_citations.append(f"{where}: [{c['n']}] cites {article_id!r}, which is not in the index")
        elif text[c["start"]:c["end"]] != c["text"]:
            report.bad_citations.append(f"{where}: [{c['n']}] {article_id}[{c['start']}:{c['end']}] != passage")
        elif text[c["quote_start"]:c["quote_end"]] != c["quote"]:
            report.bad_citations.append(f"{where}: [{c['n']}] quote {c['quote_start']}:{c['quote_end']} != text")


def run(url: str, sessions: int = 20, turns: int = 3, writer: Writer | None = None,
        article_text: Callable[[str], str | None] = lambda _id: None, timeout: float = 300.0) -> Report:
    """The scenario against the app at `url`; `article_text(id)` reads the index (None when absent)."""
    from gradio_client import Client

    clients = [Client(url, verbose=False, analytics_enabled=False, download_files=False) for _ in range(sessions)]
    go = threading.Event()
    results: dict[int, list[Request]] = {}

    def worker(i: int) -> None:
        results[i] = run_session(clients[i], i, turns, go, timeout)

    threads = [threading.Thread(target=worker, args=(i,), name=f"session-{i}", daemon=True) for i in range(sessions)]
    for t in threads:
        t.start()
    if writer is not None:
        writer.start()
    started = time.perf_counter()
    go.set()
    deadline = time.monotonic() + timeout * turns + 60
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    wall = time.perf_counter() - started
    if writer is not None:
        writer.stop.set()
        writer.join(timeout)
    requests = [r for i in range(sessions) for r in results.get(i, [])]
    report = Report(sessions, turns, requests, wall)
    for i, t in enumerate(threads):
        if t.is_alive():
            requests.append(Request(i, 0, "", [], error=f"session {i} still running after {timeout * turns + 60:.0f} s"))
    if writer is not None:
        report.writes = writer.writes
        report.writer_errors = list(writer.errors)
        if writer.is_alive():
            report.writer_errors.append("the writer did not stop")
    for req in requests:
        if req.result is not None:
            check_request(req, sessions, article_text, writer.texts if writer else {}, report)
    return report


# ---- the app, in this process or elsewhere ---------------------------------------------------------
def app_handlers(demo) -> tuple[Callable[[str], str], Callable[[str], str]]:
    """The app's own upload and remove handlers (the ones its Sources tab calls), as `Writer` callables."""
    fns = {f.fn.__name__: f.fn for f in demo.fns.values() if f.fn is not None}
    upload, remove = fns["upload"], fns["remove"]
    return (lambda path: upload([path])[0]), (lambda article_id: remove(article_id)[0])


def build_index(path: Path) -> None:
    """The seed article and the test distractors: the index `tests/conftest.py` builds."""
    from assistant import Assistant
    from assistant.ingest.loaders import load_paths

    articles, errors = load_paths([ROOT / "seeds", ROOT / "tests" / "fixtures" / "distractors.jsonl"])
    if errors:
        raise SystemExit("; ".join(errors))
    assistant = Assistant.open(path)
    try:
        assistant.add(articles)
    finally:
        assistant.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--turns", type=int, default=3)
    ap.add_argument("--url", help="a running app (default: start one here on a temp index)")
    ap.add_argument("--index", help="with --url: the index that app serves (the writer writes it, citations are "
                                    "checked against it); without: an index to copy for the app started here")
    ap.add_argument("--no-writer", action="store_true", help="only the chat sessions")
    ap.add_argument("--writer-pause", type=float, default=0.2, help="seconds between the writer's steps")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds one request may take")
    args = ap.parse_args()
    if args.sessions > len(NAMES) * 10 or args.sessions < 1 or args.turns < 1:
        ap.error(f"--sessions must be 1..{len(NAMES) * 10}, --turns at least 1")

    from assistant import Assistant

    tmp = Path(tempfile.mkdtemp(prefix="load-"))
    uploads = tmp / "uploads"
    uploads.mkdir()
    assistant = demo = None
    try:
        if args.url:
            url = args.url
            if args.index:
                assistant = Assistant.open(args.index, create=False)  # another process writing the served index
                add = lambda path: "✓" if assistant.add(load_file(path)).added == 1 else "✗ not added"  # noqa: E731
                remove = lambda article_id: "✓" if assistant.remove(article_id) else "✗ not removed"  # noqa: E731
        else:
            from assistant.ui import app

            index = tmp / "index"
            if args.index:
                shutil.copytree(args.index, index, ignore=shutil.ignore_patterns("write.lock"))
            else:
                print("building a temp index of the seed and the test distractors …", flush=True)
                build_index(index)
            assistant, demo, url = app.serve_in_background(index)
            add, remove = app_handlers(demo)
        writer = None
        if not args.no_writer and assistant is not None:
            writer = Writer(add, remove, uploads, max_cycles=10_000, pause=args.writer_pause)
        article_text = (lambda i: (a.text if (a := assistant.article(i)) else None)) if assistant else (lambda i: None)
        cpus = os.cpu_count()
        print(f"app {url}; {args.sessions} sessions x {args.turns} turns; writer "
              f"{'on' if writer else 'off'}; load average {os.getloadavg()[0]:.1f} on {cpus} CPUs", flush=True)
        if assistant is None:
            print("(no --index: citations are not checked against article text, no writer)", flush=True)
        report = run(url, args.sessions, args.turns, writer, article_text, timeout=args.timeout)
        print(report.summary())
        print(f"load average after: {os.getloadavg()[0]:.1f}")
        if assistant is not None:
            from assistant.index.check import check

            problems = check(assistant.index)
            print(f"index check: {'clean' if not problems else '; '.join(problems)}")
            report.writer_errors += problems
        return 0 if report.ok else 1
    finally:
        if demo is not None:
            demo.close()
        if assistant is not None:
            assistant.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
