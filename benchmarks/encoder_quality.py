"""Retrieval quality per encoder on SQuAD dev: hybrid `search` hit@1 / hit@5 on a fixed question sample.

    python benchmarks/encoder_quality.py [--questions 2000] [--encoders torch onnx-int8 onnx]
                                         [--index torch=/tmp/squad_torch --index onnx-int8=/tmp/squad_int8 ...]

All 2,067 SQuAD dev paragraphs form one corpus; a question is a hit at k when one of the top k passages comes
from its `article_id` and contains `answer_start` (start <= answer_start < end). The sample is the first N
questions after `random.Random(0).shuffle`, the same for every encoder. An index folder that already holds
the corpus is only opened (never written); an empty one is built with `Index(path, encoder=...).add(...)`.
Query encoding is timed per encoder too (single-query batches, as `search` does).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
from assistant.index import Index  # noqa: E402
from assistant.ingest.loaders import make_article  # noqa: E402
from assistant.search.hybrid import search  # noqa: E402

SQUAD = ROOT.parent / "shared" / "data" / "squad-dev"
DEFAULT_PATHS = {"torch": "/tmp/squad_torch", "onnx-int8": "/tmp/squad_int8", "onnx": "/tmp/squad_onnx"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", type=int, default=2000)
    ap.add_argument("--encoders", nargs="+", default=["torch", "onnx-int8", "onnx"])
    ap.add_argument("--index", action="append", default=[], help="ENCODER=PATH (default /tmp/squad_<encoder>)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "encoder_quality.json"))
    args = ap.parse_args()
    paths = dict(DEFAULT_PATHS, **dict(s.split("=", 1) for s in args.index))
    qs = [json.loads(line) for line in open(SQUAD / "qa.jsonl", encoding="utf-8")]
    random.Random(0).shuffle(qs)
    qs = qs[: args.questions]
    out = Path(args.out)
    previous = json.loads(out.read_text()).get("results", {}) if out.exists() else {}
    # Results of encoders not run this time are kept (same sample only), so encoders can be measured one by one.
    results = {k: v for k, v in previous.items() if v.get("questions") == len(qs) and k not in args.encoders}
    for enc in args.encoders:
        t0 = time.perf_counter()
        ix = Index(paths[enc], encoder=enc)
        built = None
        if ix.snapshot.generation == 0:
            articles = [make_article(r["id"], r["title"], r["text"], "squad")
                        for r in map(json.loads, open(SQUAD / "articles.jsonl", encoding="utf-8"))]
            t1 = time.perf_counter()
            ix.add(articles)
            built = time.perf_counter() - t1
        hits1 = hits5 = 0
        t1 = time.perf_counter()
        for q in qs:
            ps = search(ix, q["question"], k=5)
            hit = [p.article_id == q["article_id"] and p.start <= q["answer_start"] < p.end for p in ps]
            hits1 += any(hit[:1])
            hits5 += any(hit[:5])
        secs = time.perf_counter() - t1
        results[enc] = {"path": str(paths[enc]), "chunks": len(ix.snapshot.vectors), "questions": len(qs),
                        "hit@1": hits1 / len(qs), "hit@5": hits5 / len(qs), "build_s": built,
                        "search_ms_per_q": 1000 * secs / len(qs), "open_s": None if built else t1 - t0}
        print(f"{enc:<10} chunks {results[enc]['chunks']:>5}  hit@1 {100 * hits1 / len(qs):5.2f}  "
              f"hit@5 {100 * hits5 / len(qs):5.2f}  {1000 * secs / len(qs):.1f} ms/q"
              + (f"  (built in {built:.0f} s)" if built else ""), flush=True)
        ix.close()
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"cpu_count": os.cpu_count(), "sample_seed": 0, "results": results}, indent=2))
    print("\n| encoder | chunks | hit@1 | hit@5 | Δhit@1 vs torch | Δhit@5 vs torch |")
    print("|---|---|---|---|---|---|")
    ref = results.get("torch")
    for enc, r in sorted(results.items(), key=lambda kv: kv[0] != "torch"):
        d1 = f"{100 * (r['hit@1'] - ref['hit@1']):+.2f}" if ref else "–"
        d5 = f"{100 * (r['hit@5'] - ref['hit@5']):+.2f}" if ref else "–"
        print(f"| {enc} | {r['chunks']} | {100 * r['hit@1']:.2f} | {100 * r['hit@5']:.2f} | {d1} | {d5} |")


if __name__ == "__main__":
    main()
