"""Which scorer should choose the quotes and refuse: the overlap scorer, the reader, or both combined?

Every candidate sentence of every question is scored once by both (the overlap scorer's full score, all sentences
encoded; the reader's raw logit), labelled (does it hold the gold `answer_start`?), and cached; then policies are
compared offline. A policy picks the best sentence per question and refuses below a bar. The combination is a
logistic regression over (overlap score, reader logit, passage rank), and every bar is fitted on `train`
questions; figures are on `test`. Unanswerable questions come from the halves protocol of
benchmarks/calibrate_refusal.py (a question about half B of a split's paragraphs, searched within half A).

    python benchmarks/answer_study.py --index /tmp/squad-idx --n 400
"""
from __future__ import annotations

import argparse
import json
import pickle
import random
from pathlib import Path

import numpy as np

from assistant import Assistant
from assistant.answer import ExtractiveGenerator, Tuning
from assistant.answer.base import refusal
from assistant.reader import ReaderInput, shipped

ROOT = Path(__file__).resolve().parent.parent
SQUAD = ROOT.parent / "shared" / "data" / "squad-dev"


class Recorder:
    """A generator that answers nothing but records each candidate's (overlap score, reader logit, rank, span)."""

    def __init__(self) -> None:
        self.overlap = ExtractiveGenerator(Tuning(shortlist=0), reader=None)
        self.reader = shipped()
        self.rows: list = []
        self.pair: list = []

    def generate(self, question, passages, context):  # noqa: ANN001, ANN201
        cands = self.overlap.candidates(passages)
        if cands:  # scored before questions are dropped: a question passes its score on to the next sentence
            self.overlap.score(question, cands, context)
        cands = [c for c in cands if not c.text.rstrip().endswith("?")]
        logits, _ = self.reader.scores([ReaderInput(question, c.text, c.passage.title, c.before) for c in cands]) \
            if cands else (np.zeros(0), [])
        self.rows = [(c.score, float(lg), c.rank, c.passage.article_id, c.passage.start + c.start,
                      c.passage.start + c.end) for c, lg in zip(cands, logits)]
        # what the product reads: the best `reader_reads` by overlap, as one batch (int8 logits depend on the batch)
        best = sorted(range(len(cands)), key=lambda i: (-cands[i].score, cands[i].rank, cands[i].start))
        best = best[:Tuning().reader_reads]
        pair, _ = self.reader.scores([ReaderInput(question, cands[i].text, cands[i].passage.title, cands[i].before)
                                      for i in best]) if best else (np.zeros(0), [])
        self.pair = [(i, float(lg)) for i, lg in zip(best, pair)]
        return refusal(question, passages)


def collect(a: Assistant, rec: Recorder, split_ids: list[str], qs: list[dict], n: int) -> list[dict]:
    half = sorted(split_ids[: len(split_ids) // 2])
    inside = [q for q in qs if q["article_id"] in set(half)][:n]
    outside = [q for q in qs if q["article_id"] in set(split_ids[len(split_ids) // 2:])][:n]
    out = []
    for q, ok in [(q, True) for q in inside] + [(q, False) for q in outside]:
        a.ask(q["question"], filters={"article_id": half}, generator=rec)
        label = [ok and art == q["article_id"] and s <= q["answer_start"] < e for _, _, _, art, s, e in rec.rows]
        out.append({"answerable": ok, "feats": np.array([r[:3] for r in rec.rows], dtype=float).reshape(-1, 3),
                    "label": np.array(label, dtype=bool), "pair": rec.pair})
    return out


def features(f: np.ndarray) -> np.ndarray:
    return np.column_stack([f[:, 0], f[:, 1], 1.0 / (1.0 + f[:, 2])])


def policy_scores(groups: list[dict], kind: str, model=None, shortlist: int = 0) -> list[np.ndarray]:  # noqa: ANN001
    out = []
    for g in groups:
        f = g["feats"]
        if kind == "overlap":
            s = f[:, 0].copy()
        elif kind == "reader":
            s = f[:, 1].copy()
        else:
            s = model.decision_function(features(f)) if len(f) else np.zeros(0)
        if shortlist and len(f) > shortlist:  # the reader reads only the overlap scorer's best `shortlist`
            s[np.argsort(-f[:, 0], kind="stable")[shortlist:]] = -np.inf
        out.append(s)
    return out


def evaluate(groups: list[dict], scores: list[np.ndarray], bar: float, answered: list[bool] | None = None) -> dict:
    """Figures of a policy that cites the best-scored sentence and answers when its score clears `bar` (or when
    `answered` says so)."""
    ans = [g["answerable"] for g in groups]
    best = [float(s.max()) if len(s) else -np.inf for s in scores]
    right = [bool(len(s)) and bool(g["label"][int(np.argmax(s))]) for g, s in zip(groups, scores)]
    answered = answered if answered is not None else [b >= bar for b in best]
    n_ans = sum(ans)
    n_un = len(ans) - n_ans
    given = [r for r, a, k in zip(right, answered, ans) if a and k]
    return {"top_right": sum(r for r, k in zip(right, ans) if k) / max(1, n_ans),
            "precision": sum(given) / max(1, len(given)),
            "recall": sum(r and a for r, a, k in zip(right, answered, ans) if k) / max(1, n_ans),
            "false_refusals": sum(not a for a, k in zip(answered, ans) if k) / max(1, n_ans),
            "unanswerable_answered": sum(a for a, k in zip(answered, ans) if not k) / max(1, n_un)}


def balance_bar(groups: list[dict], scores: list[np.ndarray]) -> float:
    """The bar where false refusals and unanswerable-answered are closest (fitted on train)."""
    best = np.array([s.max() if len(s) else -np.inf for s in scores])
    cands = np.unique(best[np.isfinite(best)])
    errs = [abs(evaluate(groups, scores, b)["false_refusals"] - evaluate(groups, scores, b)["unanswerable_answered"])
            for b in cands]
    return float(cands[int(np.argmin(errs))])


def both(groups: list[dict], combined: list[np.ndarray], bars: tuple[float, float]) -> list[bool]:
    """Answer when the best overlap score clears its bar and the best combined logit its own."""
    return [bool(len(g["feats"])) and g["feats"][:, 0].max() >= bars[0] and c.max() >= bars[1]
            for g, c in zip(groups, combined)]


def shipped_scores(groups: list[dict], model, overlap_bar: float) -> list[np.ndarray]:  # noqa: ANN001
    """The product's combined logits: only the overlap scorer's best two, read as one batch, and of them the best one
    and those that clear the overlap bar; every other sentence -inf."""
    out = []
    for g in groups:
        f, s = g["feats"], np.full(len(g["feats"]), -np.inf)
        for j, (i, lg) in enumerate(g["pair"]):
            if j == 0 or f[i, 0] >= overlap_bar:
                s[i] = model.decision_function(features(np.array([[f[i, 0], lg, f[i, 2]]])))[0]
        out.append(s)
    return out


SLACK = 0.1  # seed decisions must hold with the combined logit moved this much: a margin, not a knife edge


def fit_gates(train: list[dict], seed: list[dict], model) -> tuple[float, float] | None:  # noqa: ANN001
    """The (overlap, combined) bars with the smallest worse-of (false refusals, unanswerable answered) on the train
    halves, among the pairs that answer every answerable seed question and refuse every unanswerable one."""
    best = None
    want = [g["answerable"] for g in seed]
    for bo in np.round(np.arange(0.30, 0.50, 0.005), 3):
        comb, seed_comb = shipped_scores(train, model, bo), shipped_scores(seed, model, bo)
        for bc in np.round(np.arange(-8.0, 0.01, 0.025), 3):
            if any(both(seed, seed_comb, (bo, bc + d)) != want for d in (-SLACK, SLACK)):
                continue
            r = evaluate(train, comb, 0.0, both(train, comb, (bo, bc)))
            key = (max(r["false_refusals"], r["unanswerable_answered"]), -bo, bc)
            best = min(best or (key, (bo, bc)), (key, (bo, bc)))
    return best[1] if best else None


def seed_groups(rec: Recorder, path: Path, newswire: bool) -> tuple[list[dict], list[dict]]:
    """The seed Q&A (the tuning set) and the on-topic unanswerable questions (held out), among the seed and the four
    distractors of tests/fixtures, with its 300 newswire briefs when `newswire`: the answer tests' two indexes."""
    from assistant.ingest.loaders import load_file, load_paths

    fixtures = ROOT / "tests" / "fixtures"
    a = Assistant.open(path)
    if not a.stats().get("articles"):
        more = load_file(fixtures / "newswire.jsonl") if newswire else []
        a.add(load_paths([ROOT / "seeds"])[0] + load_file(fixtures / "distractors.jsonl") + more, progress=False)
    out: dict[str, list[dict]] = {"seed": [], "ontopic": []}
    for name, file in (("seed", ROOT / "seeds" / "qa.jsonl"), ("ontopic", fixtures / "unanswerable_ontopic.jsonl")):
        for q in map(json.loads, filter(str.strip, file.read_text().splitlines())):
            a.ask(q["question"], generator=rec)
            out[name].append({"answerable": bool(q.get("answerable")), "question": q["question"],
                              "feats": np.array([r[:3] for r in rec.rows], dtype=float).reshape(-1, 3),
                              "label": np.zeros(len(rec.rows), dtype=bool), "pair": rec.pair})
    return out["seed"], out["ontopic"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", required=True, help="an index of all SQuAD dev paragraphs (built if missing)")
    ap.add_argument("--n", type=int, default=400, help="questions per half per split")
    ap.add_argument("--cache", default="/tmp/answer_study.pkl")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "answer_study.json"))
    ap.add_argument("--seed-index", default="/tmp/answer_study_seed", help="seed indexes' folder (built if missing)")
    args = ap.parse_args()
    cache = Path(args.cache)
    if cache.exists():
        data = pickle.loads(cache.read_bytes())
    else:
        a = Assistant.open(args.index)
        if not a.stats().get("articles"):
            a.add_path(SQUAD / "articles.jsonl", progress=True)
        split = json.loads((SQUAD / "split.json").read_text())
        ids = [json.loads(line)["id"] for line in open(SQUAD / "articles.jsonl")]
        qs = [json.loads(line) for line in open(SQUAD / "qa.jsonl")]
        random.Random(2).shuffle(qs)
        rec = Recorder()
        data = {name: collect(a, rec, [i for i in ids if i in set(split[name])], qs, args.n) for name in ("train", "test")}
        cache.write_bytes(pickle.dumps(data))
    from sklearn.linear_model import LogisticRegression

    train = data["train"]
    X = np.vstack([features(g["feats"]) for g in train if len(g["feats"])])
    y = np.concatenate([g["label"] for g in train if len(g["feats"])])
    model = LogisticRegression(C=1.0, max_iter=1000).fit(X, y)
    report = {"n_per_half": args.n, "combined_coef": model.coef_.tolist()[0], "combined_intercept": float(model.intercept_[0])}
    print("| policy | bar (fitted on train) | top sentence right | citation precision | recall | false refusals | unanswerable answered |")
    print("|---|---|---|---|---|---|---|")
    policies = [("overlap", "overlap", 0), ("reader", "reader", 0), ("combined", "combined", 0)]
    policies += [(f"combined, reader reads top {k}", "combined", k) for k in (3, 4, 6, 8)]
    for name, kind, k in policies:
        bar = balance_bar(train, policy_scores(train, kind, model, k))
        res = evaluate(data["test"], policy_scores(data["test"], kind, model, k), bar)
        report[name] = {"bar": bar, **res}
        print(f"| {name} | {bar:.3f} | {res['top_right']:.3f} | {res['precision']:.3f} | {res['recall']:.3f} | "
              f"{res['false_refusals']:.1%} | {res['unanswerable_answered']:.1%} |")
    two, bar = Tuning().reader_reads, Tuning().refuse_below
    rec = Recorder()
    small, _ = seed_groups(rec, Path(args.seed_index) / "small", newswire=False)
    seed, ontopic = seed_groups(rec, Path(args.seed_index) / "newswire", newswire=True)
    gate = (bar, -np.inf)
    test_two = shipped_scores(data["test"], model, bar)
    res = evaluate(data["test"], test_two, 0.0, both(data["test"], test_two, gate))
    both_seed = seed + small
    seed_right = int(sum(a == g["answerable"]
                         for g, a in zip(both_seed, both(both_seed, [np.zeros(1)] * len(both_seed), gate))))
    refused = [not a for a in both(ontopic, [np.zeros(1)] * len(ontopic), gate)]
    name = f"shipped: combined over the overlap scorer's best {two}, overlap bar"
    report[name] = {"bar": bar, **res, "seed_right": seed_right, "seed": len(both_seed),
                    "ontopic_refused": int(sum(refused)), "ontopic": len(refused)}
    print(f"| {name} | {bar:.3f} | {res['top_right']:.3f} | {res['precision']:.3f} | "
          f"{res['recall']:.3f} | {res['false_refusals']:.1%} | {res['unanswerable_answered']:.1%} |")
    print(f"seed Q&A answered or refused rightly (two indexes): {seed_right} of {len(both_seed)}; on-topic "
          f"unanswerable questions (held out) refused: {sum(refused)} of {len(refused)}")
    bars = fit_gates(train, both_seed, model)
    if bars:  # would a bar on the combination refuse better? (it ships only if it does)
        test_two = shipped_scores(data["test"], model, bars[0])
        res = evaluate(data["test"], test_two, 0.0, both(data["test"], test_two, bars))
        name = "combined over the best 2, overlap and combined bars fitted with the seed Q&A kept right"
        report[name] = {"bars": bars, **res}
        print(f"| {name} | {bars[0]:.3f} / {bars[1]:.3f} | {res['top_right']:.3f} | {res['precision']:.3f} | "
              f"{res['recall']:.3f} | {res['false_refusals']:.1%} | {res['unanswerable_answered']:.1%} |")
    res = evaluate(data["test"], policy_scores(data["test"], "overlap"), bar)
    report["overlap, shipped bar"] = res
    print(f"| overlap, shipped bar | {bar:.3f} | {res['top_right']:.3f} | {res['precision']:.3f} | {res['recall']:.3f} | "
          f"{res['false_refusals']:.1%} | {res['unanswerable_answered']:.1%} |")
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
