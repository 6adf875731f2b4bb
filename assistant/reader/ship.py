"""After training: export fp32 and int8 ONNX, fit calibration and bars on the dev paragraphs with the int8 model
(the one that ships), check int8 against fp32, and put the int8 file and reader.json into the models folder."""
from __future__ import annotations

import logging
import random
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..eval.metrics import exact_match, token_f1
from ..index.checksums import full_hash
from .calibrate import Group, fit_platt, fit_span_threshold, fit_threshold, halves, refusal_rates
from .encoding import RECIPE
from .export import export, quantize
from .model import Reader, ReaderInput

log = logging.getLogger("reader.ship")
SCORE_MINUTES = 6.0  # dev groups are scored in seeded random order until this much time is spent (shared cores)


def score_groups(reader: Reader, groups: Sequence[Group]) -> list[tuple[np.ndarray, list]]:
    """Uncalibrated logits and (span, span_prob) of every row of every group."""
    flat = [ReaderInput(q, s, t, b) for g in groups for (q, s, t, b) in g.rows]
    logits, spans = reader.scores(flat) if flat else (np.zeros(0), [])
    out, at = [], 0
    for g in groups:
        out.append((logits[at:at + len(g.rows)], spans[at:at + len(g.rows)]))
        at += len(g.rows)
    return out


def summarise(groups: Sequence[Group], scored, reader: Reader) -> dict:
    """Halves error rates at the reader's bar, sentence accuracy and short-answer EM/F1 in the gold paragraph."""
    best = np.array([reader.calibrated(lg).max() if len(lg) else 0.0 for lg, _ in scored])
    ans = np.array([g.answerable for g in groups])
    fr, ua = refusal_rates(best, ans, reader.threshold)
    acc, em, f1 = [], [], []
    for g, (lg, spans) in zip(groups, scored):
        if not g.answerable:
            continue
        top = max(g.gold_para, key=lambda i: lg[i])
        acc.append(g.labels[top] == 1)
        span = spans[top][0]
        text = g.rows[top][1][span[0]:span[1]] if span else ""
        em.append(exact_match(text, g.question.answers))
        f1.append(token_f1(text, g.question.answers))
    return {"questions": len(groups), "false_refusal": fr, "unanswerable_answered": ua,
            "sentence_accuracy": float(np.mean(acc)) if acc else 0.0,
            "em": float(np.mean(em)) if em else 0.0, "f1": float(np.mean(f1)) if f1 else 0.0}


def ship(state: dict, work: Path, out: Path, paras, questions, dev_ids, corpus_ids, args, figures: dict) -> dict:  # noqa: ANN001
    from .net import make_net

    net = make_net(eager=True)  # eager attention traces to the pattern onnxruntime fuses
    net.load_state_dict(state)
    fp32, int8 = work / "reader-fp32.onnx", work / "reader-int8.onnx"
    export(net, str(fp32), net.bert.config.num_attention_heads, net.bert.config.hidden_size, fuse=not args.no_fuse)
    quantize(str(fp32), str(int8))
    groups = halves(paras, questions, dev_ids, corpus_ids)
    random.Random(args.seed).shuffle(groups)
    if args.dev_limit:
        groups = groups[:args.dev_limit]
    reader = Reader(int8, {"max_len": args.max_len})
    scored, stop = [], time.time() + 60 * SCORE_MINUTES
    for first in range(0, len(groups), 50):
        if time.time() > stop:
            groups = groups[:first]
            break
        scored += score_groups(reader, groups[first:first + 50])
    log.info("scored %d dev groups", len(groups))
    logits = np.concatenate([lg for lg, _ in scored])
    labels = np.concatenate([g.labels for g in groups])
    keep = labels >= 0
    reader.temperature, reader.bias = fit_platt(logits[keep], labels[keep])
    best = np.array([reader.calibrated(lg).max() if len(lg) else 0.0 for lg, _ in scored])
    ans = np.array([g.answerable for g in groups])
    reader.threshold = fit_threshold(best, ans)
    sp, good = [], []
    for g, (_, spans) in zip(groups, scored):
        for i, lab in enumerate(g.labels):
            if lab == 1:
                span, p = spans[i]
                text = g.rows[i][1][span[0]:span[1]] if span else ""
                sp.append(p)
                good.append(token_f1(text, g.question.answers) >= 0.5)
    reader.span_threshold = fit_span_threshold(np.array(sp), np.array(good)) if sp else 0.5
    dev = summarise(groups, scored, reader)
    dev["int8_vs_fp32"] = compare(Reader(fp32, {"max_len": args.max_len}), reader, groups[:24], scored[:24])
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(int8, out / "reader-int8.onnx")
    return {"file": "reader-int8.onnx", "sha256": full_hash(out / "reader-int8.onnx"),
            "bytes": (out / "reader-int8.onnx").stat().st_size, "recipe": RECIPE, "max_len": args.max_len,
            "temperature": reader.temperature, "bias": reader.bias, "threshold": reader.threshold,
            "span_threshold": reader.span_threshold, "base_model": "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0)",
            "outputs": ["class_logit", "start_logits", "end_logits"], "training": figures, "dev": dev}


def compare(fp: Reader, q8: Reader, groups: Sequence[Group], scored) -> dict:  # noqa: ANN001
    """How far int8 moves the calibrated probabilities and the top sentence from fp32 (same calibration)."""
    fp.temperature, fp.bias = q8.temperature, q8.bias
    ref = score_groups(fp, groups)
    diffs, same_top, same_span = [], [], []
    for (a, sa), (b, sb) in zip(ref, scored):
        if not len(a):
            continue
        diffs.append(np.abs(fp.calibrated(a) - q8.calibrated(b)))
        same_top.append(int(np.argmax(a)) == int(np.argmax(b)))
        same_span.append(sa[int(np.argmax(a))][0] == sb[int(np.argmax(a))][0])
    d = np.concatenate(diffs) if diffs else np.zeros(1)
    return {"groups": len(same_top), "mean_abs_prob_diff": float(d.mean()), "max_abs_prob_diff": float(d.max()),
            "top_sentence_agreement": float(np.mean(same_top)) if same_top else 1.0,
            "span_agreement": float(np.mean(same_span)) if same_span else 1.0}
