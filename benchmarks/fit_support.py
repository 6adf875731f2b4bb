"""Fit and compare the support scorers of answer/support.py on SQuAD *train* claims; judge them on *test* claims.

Labelled claims (/work/shared/data/squad-dev; nothing is copied into the repo), built the same way from `train`
questions (the fit) and from `test` questions over `test` paragraphs only (the held-out check):
  supported   = the gold sentence (the one holding answer_start), and the question with its answer put in place
                of the wh-word ("Denver Broncos NFL team represented the AFC at Super Bowl 50"), each checked
                against its own paragraph;
  unsupported = the same claims checked against the *closest other* paragraph of the split (most content words
                shared with the claim, usually the same Wikipedia article: what a wrong marker looks like), and
                the question-claim with its answer swapped for another question's answer (a wrong name or number)
                checked against its own paragraph.
Every scorer sees each (claim, passage) pair as the product does (the same methods of support.py), and
every one keeps the hard rule (`hard_rule`: numbers and names the passage lacks, a negation its quote lacks): a
claim it fails is rejected whatever the score. (The negation part is judged here on the feature scorer's best
window for every scorer, at the product's coverage weight; the reader's own best sentence can differ, so its
figures approximate the product's reader path on that one rule.)
  feature   coverage weight and threshold on a grid (FeatureScorer, pair penalty included);
  reader    the reader's best calibrated probability over the passage's sentences (ReaderScorer); threshold fitted;
  combined  logistic regression on [coverage, similarity of the feature scorer's best window, the reader's best
            calibrated logit] (claims that pass the hard rule), then its threshold.
Thresholds: the middle of the accuracy plateau (within 0.2 points of the best) on the train claims. The scorer with
a reader-based scorer becomes the default only when it beats the feature scorer on the test claims in accuracy
without accepting more unsupported claims (what a check lets through reaches the user); of several, the more
accurate (a tie goes to the cheaper one: reader, then combined). Writes benchmarks/results/support_fit.json and assistant/models/support.json (what `default_scorer`
reads; bound to the reader file's SHA-256, so a retrained reader is not used until this is rerun).
The reader's calibrated logits are cached per reader file in --cache, so a rerun with the same reader is quick.
Run: PYTHONPATH=. python benchmarks/fit_support.py [--n 200] [--test-n 200]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.answer.support import (  # noqa: E402
    COVERAGE_WEIGHT,
    FIT_FILE,
    THRESHOLD,
    FeatureScorer,
    ReaderScorer,
    content_terms,
    hard_rule,
    reader_inputs,
)
from assistant.encoders import load_encoder  # noqa: E402
from assistant.text.sentences import sentence_spans  # noqa: E402

DATA = Path("/work/shared/data/squad-dev")
WH = re.compile(r"^\s*(what|which|who|whom|whose|when|where|how many|how much)\b", re.I)
ORDER = ("feature", "reader", "combined")  # cheapest first: ties go to the cheaper scorer
# thresholds for probability-like scores, even in log-odds: the reader's probabilities for a claim (not a question)
# sit far below 0.5, where a linear grid has no resolution
PROB_GRID = [float(f"{1 / (1 + np.exp(-z)):.6g}") for z in np.arange(-9.0, 6.0, 0.05)]


def load(n: int, split: str = "train", seed: int = 0):
    articles = {a["id"]: a["text"] for a in map(json.loads, (DATA / "articles.jsonl").open())}
    ids = set(json.loads((DATA / "split.json").read_text())[split])
    qa = [q for q in map(json.loads, (DATA / "qa.jsonl").open()) if q["article_id"] in ids]
    rng = random.Random(seed)
    rng.shuffle(qa)
    return articles, sorted(ids), qa[:n], rng


def closest_other(claim: str, own: str, terms: dict[str, set[str]]) -> str:
    want = content_terms(claim)
    return max((pid for pid in terms if pid != own), key=lambda pid: len(want & terms[pid]))


def claims(articles, ids, qa, rng) -> list[tuple[str, str, int, str]]:
    """(claim, passage, label, kind) for the questions `qa`; other paragraphs come from `ids` only."""
    out = []
    terms = {pid: content_terms(articles[pid]) for pid in ids}
    answers = [q["answers"][0] for q in qa]
    for q in qa:
        text = articles[q["article_id"]]
        gold = next((text[s:e] for s, e in sentence_spans(text) if s <= q["answer_start"] < e), None)
        substituted = None
        if WH.match(q["question"]):
            substituted = WH.sub(q["answers"][0], q["question"], count=1).rstrip(" ?") + "."
        for c, kind in ((gold, "gold sentence"), (substituted, "question+answer")):
            if c:
                out += [(c, text, 1, kind), (c, articles[closest_other(c, q["article_id"], terms)], 0,
                                              f"{kind}, other paragraph")]
        if substituted:
            wrong = rng.choice([a for a in answers if a.lower() != q["answers"][0].lower()])
            if re.search(r"[A-Z0-9]", wrong) and wrong not in text:
                out.append((WH.sub(wrong, q["question"], count=1).rstrip(" ?") + ".", text, 0, "answer swapped"))
    return out


def figures(pred: np.ndarray, labels: np.ndarray) -> dict:
    tp, fp = int((pred & (labels == 1)).sum()), int((pred & (labels == 0)).sum())
    fn = int((~pred & (labels == 1)).sum())
    return {"accuracy": round(float((pred == (labels == 1)).mean()), 4), "f1": round(2 * tp / max(1, 2 * tp + fp + fn), 4),
            "false_accept": round(fp / max(1, int((labels == 0).sum())), 4),
            "false_reject": round(fn / max(1, int((labels == 1).sum())), 4)}


def plateau(rows: list[dict], key: str = "threshold") -> dict:
    """The middle of the accuracy plateau (rows within 0.2 points of the best accuracy), by `key`."""
    top = max(r["accuracy"] for r in rows)
    flat = sorted((r for r in rows if r["accuracy"] >= top - 0.002), key=lambda r: r[key])
    return flat[len(flat) // 2]


def fit_threshold(scores: np.ndarray, labels: np.ndarray) -> dict:
    return plateau([{"threshold": t, **figures(scores >= t, labels)} for t in PROB_GRID])


class Claims:
    """One split's claims with every scorer's inputs computed once."""

    def __init__(self, name: str, data: list[tuple[str, str, int, str]], features: FeatureScorer,
                 reader: ReaderScorer | None, cache: dict[str, float]) -> None:
        self.name, self.data = name, data
        self.labels = np.array([lab for _, _, lab, _ in data])
        self.kinds = [k for *_, k in data]
        t = time.monotonic()
        self.windows = [features.features(c, p) for c, p, _, _ in data]
        best = [features.best_window(c, p) for c, p, _, _ in data]  # cached vectors: no new encoding
        self.lost = np.array([bool(hard_rule(c, p, (b[3], b[4]))) for (c, p, _, _), b in zip(data, best)])
        self.cov = np.array([b[1] for b in best])
        self.sim = np.array([b[2] for b in best])
        self.feature_seconds = time.monotonic() - t
        self.z = None if reader is None else self.reader_logits(reader, cache)

    def reader_logits(self, reader: ReaderScorer, cache: dict[str, float]) -> np.ndarray:
        """Best calibrated reader logit per claim; all (claim, sentence) pairs scored in large batches."""
        per_claim, todo = [], {}
        for c, p, _, _ in self.data:
            _, items = reader_inputs(c, p)
            keys = [key(i) for i in items]
            per_claim.append(keys)
            todo.update({k: i for k, i in zip(keys, items) if k not in cache})
        t = time.monotonic()
        pending = list(todo.items())
        step = 256
        for first in range(0, len(pending), step):
            chunk = pending[first:first + step]
            cache.update(zip((k for k, _ in chunk), map(float, reader.logits([i for _, i in chunk]))))
            done = min(first + step, len(pending))
            rate = done / max(1e-9, time.monotonic() - t)
            print(f"  {self.name}: reader {done}/{len(pending)} sentences, {rate:.1f}/s, "
                  f"~{(len(pending) - done) / rate / 60:.1f} min left", flush=True)
        self.reader_seconds, self.reader_rows = time.monotonic() - t, len(pending)
        return np.array([max((cache[k] for k in keys), default=-30.0) for keys in per_claim])

    def feature_scores(self, w: float) -> np.ndarray:
        return np.array([0.0 if lost else max((FeatureScorer.window_score(c, s, pair, w) for c, s, _, _, pair in f),
                                              default=0.0) for f, lost in zip(self.windows, self.lost)])

    def reader_scores(self) -> np.ndarray:
        assert self.z is not None
        return np.where(self.lost, 0.0, 1.0 / (1.0 + np.exp(-self.z)))

    def x(self) -> np.ndarray:
        assert self.z is not None
        return np.column_stack([self.cov, self.sim, np.maximum(self.z, -30.0)])

    def combined_scores(self, coef: np.ndarray, intercept: float) -> np.ndarray:
        return np.where(self.lost, 0.0, 1.0 / (1.0 + np.exp(-np.clip(self.x() @ coef + intercept, -60, 60))))

    def by_kind(self, pred: np.ndarray) -> dict:
        out = {}
        for kind in dict.fromkeys(self.kinds):
            m = np.array([k == kind for k in self.kinds])
            out[kind] = {"claims": int(m.sum()), "accepted": round(float(pred[m].mean()), 4)}
        return out


class CachedEncoder:
    """The product's encoder with a disk cache of vectors (the claims and windows are the same on every rerun)."""

    def __init__(self, encode, path: Path) -> None:
        self.inner, self.path = encode, path
        self.vectors: dict[str, np.ndarray] = {}
        if path.exists():
            with np.load(path) as z:
                self.vectors = dict(zip(z["keys"].tolist(), z["vectors"]))
        self.new = 0

    def encode(self, texts):
        keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
        todo = {k: t for k, t in zip(keys, texts) if k not in self.vectors}
        if todo:
            self.vectors.update(zip(todo, self.inner(list(todo.values()))))
            self.new += len(todo)
        return np.stack([self.vectors[k] for k in keys])

    def save(self) -> None:
        if self.new:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(self.path, keys=np.array(list(self.vectors)), vectors=np.stack(list(self.vectors.values())))
            self.new = 0


def key(item) -> str:
    return hashlib.sha1(f"{item.question}\x00{item.sentence}\x00{item.before}".encode()).hexdigest()


def logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, steps: int = 50) -> tuple[np.ndarray, float]:
    """Logistic regression by Newton's method on standardised features (a small L2 keeps it finite when the
    classes separate); coefficients returned on the raw features."""
    mu, sd = x.mean(0), x.std(0) + 1e-9
    xs = np.column_stack([(x - mu) / sd, np.ones(len(x))])
    w = np.zeros(xs.shape[1])
    reg = np.diag([l2] * (xs.shape[1] - 1) + [0.0]) * len(x)
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(xs @ w, -60, 60)))
        grad = xs.T @ (p - y) + reg @ w
        hess = xs.T @ (xs * (p * (1 - p))[:, None]) + reg
        delta = np.linalg.solve(hess, grad)
        w -= delta
        if np.abs(delta).max() < 1e-8:
            break
    coef = w[:-1] / sd
    return coef, float(w[-1] - (coef * mu).sum())


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200, help="train questions to build the fitting claims from")
    ap.add_argument("--test-n", type=int, default=200, help="test questions to build the held-out claims from")
    ap.add_argument("--cache", default="/tmp/news-assistant-fit-support", help="reader logits, per reader file")
    ap.add_argument("--no-reader", action="store_true", help="the feature scorer only")
    ap.add_argument("--no-write", action="store_true", help="do not rewrite assistant/models/support.json")
    args = ap.parse_args()
    started = time.monotonic()
    encoder = CachedEncoder(load_encoder().encode, Path(args.cache) / "minilm-onnx-int8-vectors.npz")
    features = FeatureScorer(encoder.encode)
    reader = None if args.no_reader else ReaderScorer.load()
    if reader is None and not args.no_reader:
        print("the reader is missing or damaged: fitting the feature scorer only", flush=True)
    sha = reader.reader.meta.get("sha256", "") if reader else ""
    cache_file = Path(args.cache) / f"{sha[:16] or 'none'}.json"
    cache: dict[str, float] = json.loads(cache_file.read_text()) if reader and cache_file.exists() else {}
    sets = {}
    for split, n in (("train", args.n), ("test", args.test_n)):
        articles, ids, qa, rng = load(n, split)
        data = claims(articles, ids, qa, rng)
        print(f"{split}: {len(data)} claims from {len(qa)} questions ({sum(d[2] for d in data)} supported)", flush=True)
        sets[split] = Claims(split, data, features, reader, cache)
        encoder.save()
        if reader:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            cache_file.write_text(json.dumps(cache))
    train, test = sets["train"], sets["test"]

    # (a) the feature scorer: weight x threshold grid, as before
    grid = []
    for w in (0.3, 0.4, 0.5, 0.6, 0.7):
        scores = train.feature_scores(w)
        grid += [{"coverage_weight": w, "threshold": round(float(t), 3), **figures(scores >= t, train.labels)}
                 for t in np.arange(0.30, 0.91, 0.025)]
    top = max(r["accuracy"] for r in grid)
    weights = sorted({r["coverage_weight"] for r in grid if r["accuracy"] >= top - 0.002})
    w = weights[len(weights) // 2]
    best = plateau([r for r in grid if r["coverage_weight"] == w])
    fitted_feature = {"coverage_weight": w, "threshold": best["threshold"]}
    results: dict[str, dict] = {"feature": {"params": fitted_feature}}
    # the product runs the constants in support.py; judge those (and say when the fit moved away from them)
    product = {"coverage_weight": COVERAGE_WEIGHT, "threshold": THRESHOLD}
    for name, s in sets.items():
        pred = s.feature_scores(COVERAGE_WEIGHT) >= THRESHOLD
        results["feature"][name] = figures(pred, s.labels)
        results["feature"][f"{name}_by_kind"] = s.by_kind(pred)
        results["feature"][f"{name}_at_fitted_params"] = figures(s.feature_scores(w) >= best["threshold"], s.labels)
    results["feature"]["product_constants"] = product
    results["feature"]["test_grid_best"] = max(
        ({"coverage_weight": cw, "threshold": round(float(t), 3), **figures(test.feature_scores(cw) >= t, test.labels)}
         for cw in (0.3, 0.4, 0.5, 0.6, 0.7) for t in np.arange(0.30, 0.91, 0.025)), key=lambda r: r["accuracy"])
    if fitted_feature != product:
        print(f"NOTE: the feature fit moved to {fitted_feature}; support.py runs {product}", flush=True)

    if reader is not None:
        # (b) the reader alone
        thr = fit_threshold(train.reader_scores(), train.labels)["threshold"]
        results["reader"] = {"params": {"threshold": thr, "reader_refusal_bar": round(reader.reader.threshold, 4)}}
        # (c) logistic regression on [coverage, similarity, reader logit], on the claims the hard rule lets through
        ok = ~train.lost
        coef, intercept = logistic(train.x()[ok], train.labels[ok].astype(float))
        cthr = fit_threshold(train.combined_scores(coef, intercept), train.labels)["threshold"]
        results["combined"] = {"params": {"features": ["coverage", "similarity", "reader calibrated logit"],
                                          "coef": [round(float(c), 5) for c in coef],
                                          "intercept": round(intercept, 5), "threshold": cthr}}
        for name, s in sets.items():
            for label, scores, t in (("reader", s.reader_scores(), thr),
                                     ("combined", s.combined_scores(coef, intercept), cthr)):
                results[label][name] = figures(scores >= t, s.labels)
                results[label][f"{name}_by_kind"] = s.by_kind(scores >= t)
            results["reader"][f"{name}_at_refusal_bar"] = figures(s.reader_scores() >= reader.reader.threshold,
                                                                  s.labels)

    base = results["feature"]["test"]
    better = [n for n in ORDER if n in results and n != "feature" and results[n]["test"]["accuracy"] > base["accuracy"]
              and results[n]["test"]["false_accept"] <= base["false_accept"]]
    winner = max(better, key=lambda n: (results[n]["test"]["accuracy"], -ORDER.index(n))) if better else "feature"
    report = {
        "written_by": "benchmarks/fit_support.py", "date": date.today().isoformat(),
        "rule": "thresholds at the middle of the accuracy plateau (within 0.2 points of the best) on the train "
                "claims; a reader-based default must beat the feature scorer's test accuracy without more false "
                "accepts",
        "train": {"split": "train", "questions": args.n, "claims": len(train.data), "supported": int(train.labels.sum()),
                  "unsupported": int((train.labels == 0).sum())},
        "test": {"split": "test", "questions": args.test_n, "claims": len(test.data), "supported": int(test.labels.sum()),
                 "unsupported": int((test.labels == 0).sum())},
        "reader": {"sha256": sha, "meta_training": reader.reader.meta.get("training", {}) if reader else None,
                   "note": "the reader was trained on train paragraphs: its train-claim figures flatter it; "
                           "judge on test"} if reader else None,
        "default": winner, "scorers": results,
        "seconds": {"total": round(time.monotonic() - started, 1),
                    **{f"{n}_features": round(s.feature_seconds, 1) for n, s in sets.items()},
                    **({f"{n}_reader": round(s.reader_seconds, 1) for n, s in sets.items()} if reader else {}),
                    **({f"{n}_reader_rows_scored": s.reader_rows for n, s in sets.items()} if reader else {})},
        "feature_grid": grid,
    }
    out = ROOT / "benchmarks" / "results" / "support_fit.json"
    out.write_text(json.dumps(report, indent=2))
    if not args.no_write:
        fit_file = {"written_by": "benchmarks/fit_support.py (figures: benchmarks/results/support_fit.json)",
                   "date": report["date"], "default": winner, "reader_sha256": sha or None,
                   "feature": product,
                   "reader": results.get("reader", {}).get("params"),
                   "combined": results.get("combined", {}).get("params"),
                   "test": {n: results[n]["test"] for n in results}}
        FIT_FILE.write_text(json.dumps(fit_file, indent=2) + "\n")
    print("\n| scorer | params | train acc / F1 / false accept | test acc / F1 / false accept |\n|---|---|---|---|")
    for n in (n for n in ORDER if n in results):
        r = results[n]
        tr, te = r["train"], r["test"]
        params = r["params"] if n != "feature" else product
        print(f"| {n} | {params} | {tr['accuracy']} / {tr['f1']} / {tr['false_accept']} | "
              f"{te['accuracy']} / {te['f1']} / {te['false_accept']} |")
    print(f"default: {winner}; wrote {out.relative_to(ROOT)}" + ("" if args.no_write else f" and {FIT_FILE.relative_to(ROOT)}")
          + f" in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
