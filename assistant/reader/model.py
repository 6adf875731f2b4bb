"""Inference: which sentences answer a question, how sure, and the short answer inside them, on onnxruntime.

One forward pass per batch gives a classification logit (calibrated here with the temperature and bias fitted on
held-out train paragraphs) and start/end logits over the sentence's tokens. No torch at run time.
"""
from __future__ import annotations

import json
import os
import string
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import int8
from ..errors import AssistantError, ModelMissingError
from ..index.checksums import full_hash
from .encoding import MAX_LEN, RECIPE, Encoded, batch_arrays, encode_many

MODELS = Path(__file__).resolve().parent.parent / "models"
DEFAULT_PATH = MODELS / "reader-int8.onnx"
MAX_SPAN = 30  # tokens
BATCH = 32
_STRIP = string.punctuation.replace("$", "").replace("%", "") + string.whitespace + "“”‘’«»–—"


class ReaderCorruptError(AssistantError):
    """The reader's weights do not match the checksum recorded beside them."""


@dataclass(frozen=True)
class ReaderInput:
    question: str
    sentence: str
    title: str = ""
    before: str = ""  # the previous sentence, may be empty


@dataclass(frozen=True)
class Reading:
    prob: float  # calibrated probability that the sentence answers the question
    span: tuple[int, int] | None  # char offsets of the short answer inside `sentence`
    span_prob: float  # softmax(start) * softmax(end) of that span


class Reader:
    """An onnxruntime session over the shipped (or a given) reader file and its calibration."""

    def __init__(self, path: str | os.PathLike, meta: dict, threads: int | None = None) -> None:
        self.path, self.meta = Path(path), meta
        self.temperature = float(meta.get("temperature", 1.0))
        self.bias = float(meta.get("bias", 0.0))
        self.threshold = float(meta.get("threshold", 0.5))
        self.span_threshold = float(meta.get("span_threshold", 0.0))
        self.max_len = int(meta.get("max_len", MAX_LEN))
        # One batch on all cores: 24 sentences took ~1.3 s on 2 threads vs ~2.7 s on 1 on the shared 2-core VM
        self.threads = threads or os.cpu_count() or 1
        self._session = None
        self._lock = threading.Lock()

    @property
    def session(self):  # noqa: ANN201
        """The onnxruntime session, made on first use (loading stays a checksum and a JSON read)."""
        with self._lock:
            if self._session is None:
                import onnxruntime as ort

                ort.disable_telemetry_events()  # nothing phones home
                opts = ort.SessionOptions()
                opts.intra_op_num_threads = self.threads
                opts.log_severity_level = 3
                self._session = int8.session(self.path, opts)  # unsigned weights where int8 kernels saturate
            return self._session

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> Reader:
        """The reader at `path` (default: the shipped one), its SHA-256 checked against `reader.json` beside it."""
        path = Path(path) if path else DEFAULT_PATH
        meta_path = path.parent / "reader.json"
        fix = "run `make reader` to rebuild it" if path != DEFAULT_PATH else \
            "reinstall the package, or run `make reader` to rebuild it"
        if not path.exists() or not meta_path.exists():
            missing = path if not path.exists() else meta_path
            raise ModelMissingError(f"The reader model is missing ({missing}); {fix}.")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("recipe") != RECIPE:
            raise ReaderCorruptError(f"{meta_path} is for input recipe {meta.get('recipe')!r}, not {RECIPE!r}; {fix}.")
        if full_hash(path) != meta.get("sha256"):
            raise ReaderCorruptError(f"The reader model {path} does not match its SHA-256 in {meta_path} "
                                     f"(damaged or replaced); {fix}.")
        return cls(path, meta)

    def raw(self, rows: Sequence[Encoded]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Uncalibrated class logits and the (start, end) logits of one padded batch."""
        logit, start, end = self.session.run(None, batch_arrays(rows))
        return logit.reshape(-1), start, end

    def scores(self, items: Sequence[ReaderInput]) -> tuple[np.ndarray, list[tuple[tuple[int, int] | None, float]]]:
        """Uncalibrated logits and (span, span_prob) per item, in input order; batches of up to BATCH rows of
        similar length, each padded to its longest."""
        rows = encode_many([(i.question, i.sentence, i.title, i.before) for i in items], self.max_len)
        logits = np.zeros(len(rows), dtype=np.float64)
        spans: list = [None] * len(rows)
        order = np.argsort([-len(r.ids) for r in rows], kind="stable")
        for first in range(0, len(order), BATCH):
            idx = order[first:first + BATCH]
            batch = [rows[i] for i in idx]
            logit, start, end = self.raw(batch)
            logits[idx] = logit
            for j, i in enumerate(idx):
                spans[i] = best_span(batch[j], start[j], end[j], items[i].sentence)
        return logits, spans

    def calibrated_logits(self, logits: np.ndarray) -> np.ndarray:
        """Raw logits on the calibrated scale: the log-odds of `calibrated`."""
        return np.asarray(logits, dtype=np.float64) / self.temperature + self.bias

    def calibrated(self, logits: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.calibrated_logits(logits)))

    def read(self, items: Sequence[ReaderInput]) -> list[Reading]:
        """One Reading per item, in input order."""
        if not items:
            return []
        logits, spans = self.scores(items)
        return readings(self.calibrated(logits), spans)


def readings(probs: np.ndarray, spans: Sequence[tuple[tuple[int, int] | None, float]]) -> list[Reading]:
    """`Reader.scores`' spans with their calibrated probabilities, as Readings."""
    return [Reading(float(p), span, sp) for p, (span, sp) in zip(probs, spans)]


def best_span(row: Encoded, start: np.ndarray, end: np.ndarray, sentence: str) -> tuple[tuple[int, int] | None, float]:
    """Most likely (start <= end, <= MAX_SPAN tokens) span over the sentence's tokens, as trimmed char offsets."""
    n = row.hi - row.lo
    if n <= 0:
        return None, 0.0
    ps = _softmax(start[row.lo:row.hi])
    pe = _softmax(end[row.lo:row.hi])
    grid = np.triu(np.outer(ps, pe)) - np.triu(np.ones((n, n)), MAX_SPAN)  # cut spans longer than MAX_SPAN
    i, j = np.unravel_index(int(np.argmax(grid)), grid.shape)
    a, b = row.offsets[i][0], row.offsets[j][1]
    while a < b and sentence[a] in _STRIP:
        a += 1
    while b > a and sentence[b - 1] in _STRIP:
        b -= 1
    return ((a, b) if b > a else None), float(grid[i, j])


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()
