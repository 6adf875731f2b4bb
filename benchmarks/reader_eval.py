"""The shipped reader on SQuAD `test` questions (never trained or fitted on): sentence accuracy, short-answer EM/F1,
calibration, the halves refusal rates at the shipped bar, and the latency of one 24-sentence read.

    python benchmarks/reader_eval.py [--data ../shared/data/squad-dev] [--limit N]

Retrieval for the halves runs over all 2,067 paragraphs (BM25): answerable = the gold paragraph + the 3 closest
others; unanswerable = the 4 closest paragraphs that are not the gold one and do not mention an answer.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's package, not an installed one

from assistant.eval.metrics import exact_match, token_f1
from assistant.reader.calibrate import halves, reliability
from assistant.reader.data import load
from assistant.reader.model import Reader, ReaderInput
from assistant.reader.ship import score_groups, summarise

ROOT = Path(__file__).resolve().parent.parent
SQUAD = ROOT.parent / "shared" / "data" / "squad-dev"


def latency(path: str | None, rows: list[ReaderInput], threads: int, runs: int = 30) -> dict:
    reader = Reader.load(path)
    if threads:
        reader = Reader(reader.path, reader.meta, threads=threads)
    reader.read(rows)  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        reader.read(rows)
        times.append((time.perf_counter() - t) * 1000)
    return {"threads": threads, "sentences": len(rows), "median_ms": statistics.median(times),
            "p90_ms": float(np.percentile(times, 90))}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(SQUAD))
    p.add_argument("--model", default=None, help="reader-int8.onnx to evaluate (default: the shipped one)")
    p.add_argument("--limit", type=int, default=0, help="test questions (0: all)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "reader_eval.json"))
    args = p.parse_args()
    paras, qs, split = load(args.data)
    reader = Reader.load(args.model)
    groups = halves(paras, qs, split["test"], list(paras))
    if args.limit:
        groups = groups[:args.limit]
    t0 = time.time()
    scored = score_groups(reader, groups)
    took = time.time() - t0
    res = summarise(groups, scored, reader)
    probs = np.concatenate([reader.calibrated(lg) for lg, _ in scored])
    labels = np.concatenate([g.labels for g in groups])
    keep = labels >= 0
    res["reliability"] = reliability(probs[keep], labels[keep])
    res["brier"] = float(((probs[keep] - labels[keep]) ** 2).mean())
    gold_em, gold_f1, shown = [], [], []
    for g, (_, spans) in zip(groups, scored):
        for i, lab in enumerate(g.labels):
            if lab == 1:
                span, sp = spans[i]
                text = g.rows[i][1][span[0]:span[1]] if span else ""
                gold_em.append(exact_match(text, g.question.answers))
                gold_f1.append(token_f1(text, g.question.answers))
                shown.append(sp >= reader.span_threshold)
    shown_a = np.array(shown)
    res["gold_sentence_span"] = {"em": float(np.mean(gold_em)), "f1": float(np.mean(gold_f1)),
                                 "shown": float(shown_a.mean()),
                                 "em_when_shown": float(np.array(gold_em)[shown_a].mean()) if shown_a.any() else None}
    res["threshold"], res["span_threshold"] = reader.threshold, reader.span_threshold
    res["rows_scored"], res["rows_per_second"] = int(len(probs)), len(probs) / took
    g24 = next(g for g in groups if len(g.rows) >= 24)
    rows = [ReaderInput(*r) for r in g24.rows[:24]]
    res["latency"] = [latency(args.model, rows, t) for t in (1, 2)]
    res["sha256"] = reader.meta.get("sha256")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    print(f"test questions: {res['questions']} (answerable {sum(g.answerable for g in groups)})")
    print(f"sentence accuracy (gold paragraph): {res['sentence_accuracy']:.1%}")
    print(f"short answer from the top sentence: EM {res['em']:.1%}  F1 {res['f1']:.1%}")
    print(f"short answer in the gold sentence: EM {res['gold_sentence_span']['em']:.1%}  F1 {res['gold_sentence_span']['f1']:.1%}"
          f"  shown (span_prob >= {reader.span_threshold:.3f}): {res['gold_sentence_span']['shown']:.1%}")
    print(f"halves at threshold {reader.threshold:.3f}: false refusals {res['false_refusal']:.1%}, "
          f"unanswerable answered {res['unanswerable_answered']:.1%}")
    print(f"Brier {res['brier']:.4f}\n| bin | n | predicted | observed |\n|---|---|---|---|")
    for b in res["reliability"]:
        fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
        print(f"| {b['bin']} | {b['n']} | {fmt(b['predicted'])} | {fmt(b['observed'])} |")
    for lat in res["latency"]:
        print(f"latency, 24 sentences, {lat['threads']} thread(s): median {lat['median_ms']:.1f} ms, p90 {lat['p90_ms']:.1f} ms")


if __name__ == "__main__":
    main()
