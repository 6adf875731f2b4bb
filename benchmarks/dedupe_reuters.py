"""Syndicated-duplicate grouping over all Reuters-21578 articles, without an index.

    python benchmarks/dedupe_reuters.py [--articles PATH] [--sample 50] [--seed 0]

Prints how many articles fall into groups of two or more and how many such groups there are, the time taken
(signatures and LSH), and a seeded sample of groups as title pairs (first article vs. another member) to
check by eye.
"""
from __future__ import annotations

import argparse
import json
import random
import time
from collections import defaultdict
from pathlib import Path

from assistant.index.groups import THRESHOLD, Grouper
from assistant.text.minhash import NUM_PERM, SHINGLE, signature

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "reuters21578" / "articles.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--articles", default=str(DEFAULT))
    ap.add_argument("--sample", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rows = [json.loads(line) for line in open(args.articles, encoding="utf-8") if line.strip()]
    started = time.perf_counter()
    sigs = [(r["id"], signature(r["text"])) for r in rows]
    t_sig = time.perf_counter() - started
    g = Grouper()
    groups = {art_id: g.assign(art_id, sig) for art_id, sig in sigs}
    t_all = time.perf_counter() - started
    members: dict[str, list[str]] = defaultdict(list)
    for art_id, group in groups.items():
        members[group].append(art_id)
    multi = {k: v for k, v in members.items() if len(v) > 1}
    titles = {r["id"]: r["title"] for r in rows}
    print(f"{len(rows)} articles; word {SHINGLE}-shingles, {NUM_PERM} permutations, Jaccard >= {THRESHOLD}")
    print(f"{sum(len(v) for v in multi.values())} articles grouped into {len(multi)} groups of 2 or more "
          f"(largest: {max((len(v) for v in multi.values()), default=0)}); "
          f"{len(rows) - sum(len(v) for v in multi.values())} articles stand alone")
    print(f"time: {t_all:.1f} s ({t_sig:.1f} s signatures, {t_all - t_sig:.1f} s LSH), "
          f"{len(rows) / t_all:.0f} articles/s")
    rng = random.Random(args.seed)
    sample = rng.sample(sorted(multi), min(args.sample, len(multi)))
    print(f"\nsample of {len(sample)} groups (seed {args.seed}): first title || another member's title")
    for n, k in enumerate(sample, 1):
        other = rng.choice(multi[k][1:])
        print(f"{n:2d}. [{len(multi[k])}] {titles[k][:60]} || {titles[other][:60]}  ({k}, {other})")


if __name__ == "__main__":
    main()
