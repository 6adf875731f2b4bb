"""Fit the support threshold (and the coverage/similarity weight) of answer/support.py on SQuAD *train*.

Labelled claims, built from SQuAD train paragraphs (/work/shared/data/squad-dev, split.json "train"; nothing
is copied into the repo):
  supported   = the gold sentence (the one holding answer_start), and the question with its answer put in place
                of the wh-word ("Denver Broncos NFL team represented the AFC at Super Bowl 50"), each checked
                against its own paragraph;
  unsupported = the same claims checked against the *closest other* train paragraph (most content words shared
                with the claim, usually the same Wikipedia article: what a wrong marker looks like), and the
                question-claim with its answer swapped for another question's answer (a wrong name or number)
                checked against its own paragraph.
Prints accuracy/F1 per (weight, threshold) and writes benchmarks/results/support_fit.json.
Run: PYTHONPATH=. python benchmarks/fit_support.py [--n 250]
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.answer.support import FeatureScorer, content_terms, missing  # noqa: E402
from assistant.encoders import load_encoder  # noqa: E402
from assistant.text.sentences import sentence_spans  # noqa: E402

DATA = Path("/work/shared/data/squad-dev")
WH = re.compile(r"^\s*(what|which|who|whom|whose|when|where|how many|how much)\b", re.I)


def load(n: int, seed: int = 0):
    articles = {a["id"]: a["text"] for a in map(json.loads, (DATA / "articles.jsonl").open())}
    train = set(json.loads((DATA / "split.json").read_text())["train"])
    qa = [q for q in map(json.loads, (DATA / "qa.jsonl").open()) if q["article_id"] in train]
    rng = random.Random(seed)
    rng.shuffle(qa)
    return articles, sorted(train), qa[:n], rng


def closest_other(claim: str, own: str, terms: dict[str, set[str]]) -> str:
    want = content_terms(claim)
    return max((pid for pid in terms if pid != own), key=lambda pid: len(want & terms[pid]))


def claims(articles, train, qa, rng):
    """(claim, passage, label) triples."""
    out = []
    terms = {pid: content_terms(articles[pid]) for pid in train}
    answers = [q["answers"][0] for q in qa]
    for q in qa:
        text = articles[q["article_id"]]
        gold = next((text[s:e] for s, e in sentence_spans(text) if s <= q["answer_start"] < e), None)
        substituted = None
        if WH.match(q["question"]):
            substituted = WH.sub(q["answers"][0], q["question"], count=1).rstrip(" ?") + "."
        for c in filter(None, (gold, substituted)):
            out += [(c, text, 1), (c, articles[closest_other(c, q["article_id"], terms)], 0)]
        if substituted:
            wrong = rng.choice([a for a in answers if a.lower() != q["answers"][0].lower()])
            if re.search(r"[A-Z0-9]", wrong) and wrong not in text:
                out.append((WH.sub(wrong, q["question"], count=1).rstrip(" ?") + ".", text, 0))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=250, help="train questions to build claims from")
    args = ap.parse_args()
    articles, train, qa, rng = load(args.n)
    data = claims(articles, train, qa, rng)
    scorer = FeatureScorer(load_encoder().encode)
    feats = []
    for claim, passage, label in data:
        f = scorer.features(claim, passage)
        feats.append((f, bool(missing(claim, passage)), label))
    labels = np.array([lab for _, _, lab in feats])
    results = []
    for w in (0.3, 0.4, 0.5, 0.6, 0.7):
        scores = np.array([0.0 if lost else max((w * c + (1 - w) * s for c, s, _, _ in f), default=0.0)
                           for f, lost, _ in feats])
        for thr in np.arange(0.30, 0.91, 0.025):
            pred = scores >= thr
            tp, fp = int((pred & (labels == 1)).sum()), int((pred & (labels == 0)).sum())
            fn = int((~pred & (labels == 1)).sum())
            acc = float((pred == (labels == 1)).mean())
            f1 = 2 * tp / max(1, 2 * tp + fp + fn)
            results.append({"coverage_weight": w, "threshold": round(float(thr), 3), "accuracy": round(acc, 4),
                            "f1": round(f1, 4), "false_accept": round(fp / max(1, int((labels == 0).sum())), 4)})
    top = max(r["accuracy"] for r in results)
    plateau = [r for r in results if r["accuracy"] >= top - 0.002]
    weights = sorted({r["coverage_weight"] for r in plateau})
    w = weights[len(weights) // 2]
    ties = sorted(r["threshold"] for r in plateau if r["coverage_weight"] == w)
    best = next(r for r in plateau if r["coverage_weight"] == w and r["threshold"] == ties[len(ties) // 2])
    report = {"claims": len(data), "supported": int(labels.sum()), "unsupported": int((labels == 0).sum()),
              "questions": args.n, "split": "train",
              "rule": "the middle of the accuracy plateau (within 0.2 points of the best)", "best": best, "grid": results}
    out = ROOT / "benchmarks" / "results" / "support_fit.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"{len(data)} claims ({report['supported']} supported); best: {best}")
    for r in sorted(results, key=lambda r: -r["accuracy"])[:8]:
        print(r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
