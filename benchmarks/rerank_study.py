"""Which passage should come first: fit and judge the reader's passage reranking (`assistant/search/rerank.py`).

Each question is searched once without reranking; the first DEPTH passages are kept with their retrieval scores,
whether each holds a gold answer, and the reader's logits for the three sentences of each that hold most of the
question's terms, read as one batch. On `train` questions a logistic regression of "holds the answer" on
(retrieval score, its gap to the first, best reader logit, 1 / (1 + rank)) is fitted for each (depth, sentences per
passage); the setting kept is the best train hit@1 among those reading at most MAX_READS sentences, so that a reranked
search stays under the issue's 60 ms at 100k chunks on 2 cores, CPUs without VNNI included (README, "Reranking").
hit@1 is reported on `test` questions, all 2,067 paragraphs as the corpus. The product reads depth × sentences as
one batch, so its logits differ from these by int8's batch dependence (≤ ~0.3); `assistant eval` gives the
product's own hit@1.

    python benchmarks/rerank_study.py --index /tmp/squad-idx --n 800
"""
from __future__ import annotations

import argparse
import itertools
import json
import pickle
from pathlib import Path

import numpy as np

from assistant import Assistant
from assistant.eval.qa import in_split, load_qa, select
from assistant.eval.runner import prepare
from assistant.reader import shipped
from assistant.search.rerank import best_logits, features, fused, reads

ROOT = Path(__file__).resolve().parent.parent
SQUAD = ROOT.parent / "shared" / "data" / "squad-dev"
DEPTH, PER = 5, 3
MAX_READS = 2


def collect(index: str, n: int) -> dict:
    a = Assistant.open(index, rerank=False)
    if not a.stats().get("articles"):
        a.add_path(SQUAD / "articles.jsonl", progress=True)
    reader = shipped()
    items = load_qa(SQUAD / "qa.jsonl")
    prepare(a, items)
    data: dict = {}
    for name in ("train", "test"):
        rows = []
        for q in select(in_split(items, SQUAD / "split.json", name), None, n, 0):
            ps = a.search(q.question, k=DEPTH)
            inputs, owner = reads(q.question, ps, a.index.snapshot.lexical.term_weights(q.question), PER)
            logits, _ = reader.scores(inputs) if inputs else (np.zeros(0), [])
            rank = [sum(o == i for o in owner[:j]) for j, i in enumerate(owner)]  # the sentence's place in its passage
            rows.append({"scores": [p.score for p in ps], "gold": [q.supports(p.text, p.start, p.end, p.article_id)
                                                                   for p in ps],
                         "reads": [(i, r, float(g)) for i, r, g in zip(owner, rank, logits)]})
        data[name] = rows
    return data


def passages(row: dict, depth: int, per: int) -> tuple[list[float], np.ndarray, np.ndarray]:
    """The first `depth` passages as the product would see them reading `per` sentences of each: retrieval
    scores, best reader logits, and which hold the answer."""
    n = min(depth, len(row["scores"]))
    kept = [(i, g) for i, r, g in row["reads"] if i < n and r < per]
    best = best_logits([g for _, g in kept], [i for i, _ in kept], n)
    return row["scores"][:n], best, np.asarray(row["gold"][:n], dtype=bool)


def hit1(rows: list[dict], depth: int, per: int, w: tuple[float, ...] | None) -> float:
    hits = 0
    for row in rows:
        if not row["scores"]:
            continue
        if w is None:
            hits += row["gold"][0]
            continue
        scores, best, gold = passages(row, depth, per)
        hits += bool(gold[int(np.argmax(fused(scores, best, w)))])
    return hits / len(rows)


def fit(rows: list[dict], depth: int, per: int) -> tuple[float, ...]:
    from sklearn.linear_model import LogisticRegression

    got = [passages(r, depth, per) for r in rows if len(r["scores"]) > 1]
    X, y = [features(scores, best) for scores, best, _ in got], [gold for *_, gold in got]
    lr = LogisticRegression(C=10, max_iter=2000).fit(np.concatenate(X), np.concatenate(y))
    return tuple(round(float(v), 3) for v in [*lr.coef_[0], lr.intercept_[0]])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", required=True, help="an index of all SQuAD dev paragraphs (built if missing)")
    ap.add_argument("--n", type=int, default=800, help="questions per split")
    ap.add_argument("--cache", default="/tmp/rerank_study.pkl")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "rerank_study.json"))
    args = ap.parse_args()
    cache = Path(args.cache)
    data = pickle.loads(cache.read_bytes()) if cache.exists() else collect(args.index, args.n)
    cache.write_bytes(pickle.dumps(data))
    report: dict = {"n": args.n, "max_reads": MAX_READS, "retrieval": {s: hit1(data[s], 1, 1, None)
                                                                      for s in ("train", "test")}, "settings": {}}
    print(f"retrieval alone: hit@1 train {report['retrieval']['train']:.3f}, test {report['retrieval']['test']:.3f}")
    print("| depth | sentences per passage | reads | train hit@1 | test hit@1 | weights |")
    print("|---|---|---|---|---|---|")
    for depth, per in itertools.product((2, 3, 4, 5), (1, 2, 3)):
        w = fit(data["train"], depth, per)
        got = {"depth": depth, "per_passage": per, "weights": w,
               "train": hit1(data["train"], depth, per, w), "test": hit1(data["test"], depth, per, w)}
        report["settings"][f"{depth}x{per}"] = got
        print(f"| {depth} | {per} | {depth * per} | {got['train']:.3f} | {got['test']:.3f} | {w} |")
    affordable = [s for s in report["settings"].values() if s["depth"] * s["per_passage"] <= MAX_READS]
    report["chosen"] = max(affordable, key=lambda s: (s["train"], -s["depth"] * s["per_passage"]))
    print("chosen on train:", report["chosen"])
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
