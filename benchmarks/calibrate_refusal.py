"""Refusal calibration: confidence of the best sentence on answerable vs unanswerable questions.

Seed set: seeds/qa.jsonl over the seed article plus the test distractors.
SQuAD dev: the paragraphs split in two halves by position (MRQA keeps a Wikipedia article's paragraphs
together); questions about half A, searched within half A, are answerable; questions about half B,
searched within half A only (an `article_id` filter), are not. Prints both error rates per threshold.

    python benchmarks/calibrate_refusal.py --squad-index /tmp/squad-index-torch --n 300
"""
from __future__ import annotations

import argparse
import json
import random
import tempfile
from pathlib import Path

import numpy as np

from assistant import Assistant
from assistant.answer import ExtractiveGenerator, Tuning

ROOT = Path(__file__).resolve().parent.parent
SQUAD = ROOT.parent / "shared" / "data" / "squad-dev"


def confidences(a: Assistant, items) -> list[tuple[float, bool]]:
    return [(a.ask(q, filters=f).confidence, ok) for q, f, ok in items]


def table(name: str, rows: list[tuple[float, bool]]) -> None:
    sc = np.array([r[0] for r in rows])
    ok = np.array([r[1] for r in rows])
    print(f"\n{name}: {ok.sum()} answerable, {(~ok).sum()} unanswerable")
    print("| threshold | false refusals (answerable) | answered (unanswerable) |\n|---|---|---|")
    for t in np.arange(0.35, 0.60, 0.025):
        print(f"| {t:.3f} | {(sc[ok] < t).mean():.1%} | {(sc[~ok] >= t).mean():.1%} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--squad-index", help="an index of the SQuAD dev paragraphs (skipped when absent)")
    ap.add_argument("--n", type=int, default=300, help="questions per SQuAD half")
    args = ap.parse_args()
    never = ExtractiveGenerator(Tuning(refuse_below=-1e9))
    with tempfile.TemporaryDirectory() as tmp:
        a = Assistant.open(tmp, generator=never)
        a.add_path(ROOT / "seeds", ROOT / "tests" / "fixtures" / "distractors.jsonl")
        qa = [json.loads(line) for line in open(ROOT / "seeds" / "qa.jsonl")]
        table("seed set", confidences(a, [(q["question"], None, q.get("answerable", True)) for q in qa]))
    if args.squad_index and (SQUAD / "qa.jsonl").exists():
        s = Assistant.open(args.squad_index, generator=never)
        ids = [json.loads(line)["id"] for line in open(SQUAD / "articles.jsonl")]
        half = sorted(ids[: len(ids) // 2])
        qs = [json.loads(line) for line in open(SQUAD / "qa.jsonl")]
        random.Random(2).shuffle(qs)
        inside = [q for q in qs if q["article_id"] in set(half)][: args.n]
        outside = [q for q in qs if q["article_id"] not in set(half)][: args.n]
        flt = {"article_id": half}
        table("SQuAD dev halves", confidences(s, [(q["question"], flt, True) for q in inside]
                                              + [(q["question"], flt, False) for q in outside]))


if __name__ == "__main__":
    main()
