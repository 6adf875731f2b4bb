"""Chunk-size study on SQuAD dev (one corpus of 2,067 paragraphs): hybrid hit@1/5/10 and MRR per setting.

    python benchmarks/chunk_study.py --encoder onnx-int8 --questions 1000 --work /tmp/chunk-study
"""
from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from assistant import Assistant
from assistant.ingest.chunking import ChunkSettings
from assistant.ingest.loaders import make_article

SQUAD = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "squad-dev"
SETTINGS = [ChunkSettings(96, 16), ChunkSettings(128, 24), ChunkSettings(200, 40), ChunkSettings(250, 50),
            ChunkSettings(200, 40, title_prefix=False)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--encoder", default="onnx-int8")
    ap.add_argument("--questions", type=int, default=1000)
    ap.add_argument("--work", default="/tmp/chunk-study")
    args = ap.parse_args()
    articles = [make_article(r["id"], r["title"], r["text"], "squad") for r in map(json.loads, open(SQUAD / "articles.jsonl"))]
    qs = [json.loads(line) for line in open(SQUAD / "qa.jsonl")]
    random.Random(0).shuffle(qs)
    qs = qs[: args.questions]
    print("| size (tokens) | overlap | title prefix | chunks | hit@1 | hit@5 | hit@10 | MRR@10 | index s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for s in SETTINGS:
        path = Path(args.work) / f"{args.encoder}-{s.size}-{s.overlap}-{int(s.title_prefix)}"
        a = Assistant.open(path, encoder=args.encoder, chunking=s)
        t = time.perf_counter()
        a.add(articles)
        built = time.perf_counter() - t
        h = {1: 0, 5: 0, 10: 0}
        mrr = 0.0
        for q in qs:
            ranks = [i for i, p in enumerate(a.search(q["question"], k=10, rerank=False))
                     if p.article_id == q["article_id"] and p.start <= q["answer_start"] < p.end]
            if ranks:
                mrr += 1 / (ranks[0] + 1)
                for k in h:
                    h[k] += ranks[0] < k
        n = len(qs)
        print(f"| {s.size} | {s.overlap} | {s.title_prefix} | {a.stats()['chunks']} | {h[1]/n:.3f} | {h[5]/n:.3f} "
              f"| {h[10]/n:.3f} | {mrr/n:.3f} | {built:.0f} |", flush=True)


if __name__ == "__main__":
    main()
