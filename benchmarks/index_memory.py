"""Memory of the vector index per million chunks, and the cost of adding a batch to it (clone + add vs rebuild).

    python benchmarks/index_memory.py [--n 200000] [--add 20000]

Each kind runs in its own process: RSS (VmRSS) before and after building `Vectors` over `n` random unit vectors
(dim 384), then the time of `Vectors.updated` adding `add` vectors (what each `--commit-every` generation does)
against building the same index from scratch.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

DIM = 384


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def unit(n: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, DIM), dtype="float32")
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def measure(kind: str, n: int, add: int) -> dict:
    from assistant.index import vectors as vmod

    if kind == "flat":
        vmod.APPROX_THRESHOLD = 10**12  # keep it flat at any size
    else:
        vmod.APPROX_THRESHOLD = 1  # HNSW at any size
    base, extra = unit(n, 0), unit(add, 1)
    before = rss_mb()
    t0 = time.perf_counter()
    v = vmod.Vectors(DIM, base, np.arange(n, dtype="int64"))
    build = time.perf_counter() - t0
    after = rss_mb()
    t0 = time.perf_counter()
    grown = v.updated(extra, np.arange(n, n + add, dtype="int64"), set())
    incremental = time.perf_counter() - t0
    peak = rss_mb()
    assert len(grown) == n + add and grown.kind == v.kind
    return {"kind": v.kind, "n": n, "build_s": build, "rss_mb": after - before,
            "mb_per_million": (after - before) * 1e6 / n, "add": add, "add_s": incremental,
            "rss_during_add_mb": peak - before, "raw_float32_mb": n * DIM * 4 / 2**20}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--add", type=int, default=20_000)
    ap.add_argument("--kind", choices=["flat", "hnsw"])
    args = ap.parse_args()
    if args.kind:
        print(json.dumps(measure(args.kind, args.n, args.add)))
        return
    for kind in ("flat", "hnsw"):
        out = subprocess.run([sys.executable, __file__, "--kind", kind, "--n", str(args.n), "--add", str(args.add)],
                             capture_output=True, text=True, check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"{r['kind']:<5} n={r['n']:,}: RSS +{r['rss_mb']:.0f} MB ({r['mb_per_million']:.0f} MB per million; "
              f"float32 alone {r['raw_float32_mb']:.0f} MB), built in {r['build_s']:.1f} s; adding {r['add']:,}: "
              f"{r['add_s']:.1f} s (clone + add), RSS +{r['rss_during_add_mb']:.0f} MB while both exist")


if __name__ == "__main__":
    main()
