"""Log set-up for the command line (and anything else that wants it): leveled lines or JSON lines on stderr.

`-v` logs INFO, `-vv` DEBUG; without a flag `ASSISTANT_LOG_LEVEL` (debug|info|warning|error) decides.
`--log-json` or `ASSISTANT_LOG=json` writes one JSON object per line: time, level, logger, message and any
`extra=` fields the caller attached (generation, articles, seconds...), for log collectors.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import time

# Fields every LogRecord has; anything else on a record came from `extra=` and is worth emitting.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}
# Libraries that log chattily at INFO/DEBUG (bm25s even forces its logger to DEBUG on import).
NOISY = ("bm25s", "sentence_transformers", "transformers", "huggingface_hub", "urllib3", "filelock", "httpx",
         "faiss", "matplotlib", "PIL")
HUMAN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        out.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class _Stderr(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at the time (so redirection and test capture keep working)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


class _QuietLibraries(logging.Filter):
    """Drop other libraries' records below WARNING unless we log at DEBUG."""

    def __init__(self, level: int):
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if self.level <= logging.DEBUG or record.levelno >= logging.WARNING:
            return True
        return record.name.split(".")[0] not in NOISY


def level_for(verbosity: int = 0) -> int:
    if verbosity >= 2:
        return logging.DEBUG
    if verbosity == 1:
        return logging.INFO
    name = os.environ.get("ASSISTANT_LOG_LEVEL", "").strip().upper()
    level = logging.getLevelName(name) if name else logging.WARNING
    return level if isinstance(level, int) else logging.WARNING


def json_wanted() -> bool:
    return os.environ.get("ASSISTANT_LOG", "").strip().lower() == "json"


def setup(verbosity: int = 0, json_lines: bool | None = None) -> logging.Handler:
    """Install (or replace) this module's handler on the root logger and return it."""
    level = level_for(verbosity)
    json_lines = json_wanted() if json_lines is None else json_lines
    root = logging.getLogger()
    for h in [h for h in root.handlers if getattr(h, "_assistant", False)]:
        root.removeHandler(h)
    handler = _Stderr()
    handler._assistant = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(HUMAN_FORMAT))
    handler.addFilter(_QuietLibraries(level))
    handler.setLevel(level)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
