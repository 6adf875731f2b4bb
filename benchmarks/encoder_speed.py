"""Encode speed and agreement with torch for each encoder backend (a measurement, not a test).

    python benchmarks/encoder_speed.py [--n 500] [--chars 1000] [--cache-dir DIR]

Texts are ~1,000-character passages stitched deterministically from the seed article's sentences,
so runs are comparable; the one-off ONNX export/quantisation is timed as "load", not as speed.
"""
from __future__ import annotations

import argparse
import random
import re
import time
from pathlib import Path

import numpy as np

from assistant.encoders import load_encoder

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def make_texts(n: int, chars: int, seed: int = 0) -> list[str]:
    """n passages of about `chars` characters each, built from shuffled real news sentences."""
    raw = " ".join(p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt")))
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", raw) if len(s) > 30] or [raw]
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        parts: list[str] = []
        while sum(map(len, parts)) < chars:
            parts.append(rng.choice(sentences))
        texts.append(" ".join(parts)[: int(chars * rng.uniform(0.8, 1.2))])
    return texts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--chars", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=None, help="default: each encoder's own (torch 64, onnx 8)")
    ap.add_argument("--cache-dir", default=None)
    args = ap.parse_args()
    texts = make_texts(args.n, args.chars)
    rows, ref = [], None
    for backend in ("torch", "onnx", "onnx-int8"):
        t0 = time.perf_counter()
        enc = load_encoder(backend, cache_dir=args.cache_dir)
        enc.encode(texts[:8])  # warm-up: first-call allocations are not throughput
        load = time.perf_counter() - t0
        t0 = time.perf_counter()
        vecs = enc.encode(texts, **({"batch_size": args.batch_size} if args.batch_size else {}))
        secs = time.perf_counter() - t0
        ref = vecs if ref is None else ref
        cos = np.sum(vecs * ref, axis=1)  # rows are unit length
        rows.append((backend, load, len(texts) / secs, cos.min(), cos.mean()))
    print(f"{len(texts)} texts, mean {np.mean([len(t) for t in texts]):.0f} chars, batch {args.batch_size or 'default'}")
    print(f"{'backend':<10} {'load s':>7} {'texts/s':>8} {'min cos':>8} {'mean cos':>9}")
    for backend, load, speed, cmin, cmean in rows:
        print(f"{backend:<10} {load:>7.1f} {speed:>8.1f} {cmin:>8.4f} {cmean:>9.4f}")


if __name__ == "__main__":
    main()
