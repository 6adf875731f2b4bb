"""Refusal: both error rates of the product's decisions (default), or of a bar on one scorer's confidence.

Seed set: seeds/qa.jsonl over the seed article plus the test distractors.
SQuAD dev ("halves" protocol): the paragraphs of one split (`--split`, from split.json) are cut in two halves by
position (a Wikipedia article's paragraphs stay together); questions about half A, searched within half A, are
answerable; questions about half B, searched within half A only (an `article_id` filter), are not. The bar is
fitted on `train`; figures that judge it come from `test`. `--scorer product` asks the shipped generator (refusal by
the answerability model over the overlap scorer and the reader) and prints its two error rates.

    python benchmarks/calibrate_refusal.py --squad-index /tmp/squad-index --split test --n 300 [--scorer product]
"""
from __future__ import annotations

import argparse
import json
import random
import tempfile
from pathlib import Path

import numpy as np

from assistant import Assistant
from assistant.answer import ExtractiveGenerator, ReaderGenerator, ReaderTuning, Tuning

ROOT = Path(__file__).resolve().parent.parent
SQUAD = ROOT.parent / "shared" / "data" / "squad-dev"


def confidences(a: Assistant, items) -> list[tuple[float, bool]]:
    return [(a.ask(q, filters=f).confidence, ok) for q, f, ok in items]


def decisions(a: Assistant, items) -> list[tuple[float, bool]]:
    """1.0 for an answer, 0.0 for a refusal: the product's decision, whatever produced it."""
    return [(0.0 if a.ask(q, filters=f).refused else 1.0, ok) for q, f, ok in items]


def table(name: str, rows: list[tuple[float, bool]], bars: np.ndarray, shipped: float) -> dict:
    sc = np.array([r[0] for r in rows])
    ok = np.array([r[1] for r in rows])
    print(f"\n{name}: {ok.sum()} answerable, {(~ok).sum()} unanswerable")
    print("| bar | false refusals (answerable) | answered (unanswerable) |\n|---|---|---|")
    for t in sorted({*bars.tolist(), shipped}):
        mark = " (shipped)" if t == shipped else ""
        print(f"| {t:.3f}{mark} | {(sc[ok] < t).mean():.1%} | {(sc[~ok] >= t).mean():.1%} |")
    return {"false_refusals": float((sc[ok] < shipped).mean()) if ok.any() else None,
            "unanswerable_answered": float((sc[~ok] >= shipped).mean()) if (~ok).any() else None}


def halves(ids: list[str], qs: list[dict], n: int) -> tuple[list, list, list[str]]:
    half = sorted(ids[: len(ids) // 2])
    inside = [q for q in qs if q["article_id"] in set(half)][:n]
    outside = [q for q in qs if q["article_id"] in set(ids[len(ids) // 2:])][:n]
    return inside, outside, half


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--squad-index", help="an index of all SQuAD dev paragraphs (skipped when absent)")
    ap.add_argument("--split", default="test", help="the split whose paragraphs are halved (default: test)")
    ap.add_argument("--n", type=int, default=300, help="questions per half")
    ap.add_argument("--scorer", choices=("reader", "overlap", "product"), default="product")
    args = ap.parse_args()
    if args.scorer == "reader":
        gen = ReaderGenerator(ReaderTuning(refuse_below=-1.0))
        shipped, bars = gen.reader.threshold, np.round(np.arange(0.05, 0.96, 0.05), 3)
    elif args.scorer == "overlap":
        gen, shipped = ExtractiveGenerator(Tuning(refuse_below=-1e9), reader=None), Tuning().refuse_below
        bars = np.round(np.arange(0.35, 0.60, 0.025), 3)
    else:  # answered (1.0) or refused (0.0): one "bar" at 0.5
        gen, shipped, bars = ExtractiveGenerator(), 0.5, np.array([])
    score = decisions if args.scorer == "product" else confidences
    out = {"scorer": args.scorer, "bar": shipped}
    with tempfile.TemporaryDirectory() as tmp:
        a = Assistant.open(tmp, generator=gen)
        a.add_path(ROOT / "seeds", ROOT / "tests" / "fixtures" / "distractors.jsonl")
        qa = [json.loads(line) for line in open(ROOT / "seeds" / "qa.jsonl")]
        out["seed"] = table("seed set", score(a, [(q["question"], None, q.get("answerable", True)) for q in qa]),
                            bars, shipped)
        a.close()
    if args.squad_index and (SQUAD / "qa.jsonl").exists():
        s = Assistant.open(args.squad_index, generator=gen)
        split = set(json.loads((SQUAD / "split.json").read_text())[args.split])
        ids = [json.loads(line)["id"] for line in open(SQUAD / "articles.jsonl")]
        ids = [i for i in ids if i in split]
        qs = [json.loads(line) for line in open(SQUAD / "qa.jsonl")]
        random.Random(2).shuffle(qs)
        inside, outside, half = halves(ids, qs, args.n)
        flt = {"article_id": half}
        out[f"squad_{args.split}_halves"] = table(
            f"SQuAD dev {args.split} halves", score(s, [(q["question"], flt, True) for q in inside]
                                                   + [(q["question"], flt, False) for q in outside]), bars, shipped)
        s.close()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
