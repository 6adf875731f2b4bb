"""Memory of the vector and BM25 indexes per million chunks, and the cost of adding a batch to them.

    python benchmarks/index_memory.py [--n 200000] [--add 20000]

Each kind runs in its own process: RSS (VmRSS) before and after building `Vectors` over `n` random unit vectors
(dim 384), then the time of `Vectors.updated` adding `add` vectors (what each `--commit-every` generation does)
against building the same index from scratch. BM25 (`Lexical`) over `n` real chunk texts (Reuters-21578 when
`../shared` is present, else generated news, as `bench.py`): built and saved in one process; in another, the RSS a
reader holds once the generation is loaded, and the writer's peak (VmHWM, reset after loading) while
`Lexical.updated` adds `add` texts.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

DIM = 384


def status_mb(field: str) -> float:
    """A /proc/self/status memory field (VmRSS, VmHWM) in MB; 0 where it is missing."""
    line = next((x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith(field + ":")), "")
    return int(line.split()[1]) / 1024 if line else 0.0


def rss_mb() -> float:
    return status_mb("VmRSS")


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


def texts(n: int) -> list[str]:
    """`n` chunk texts as BM25 indexes them (title, newline, chunk)."""
    import bench

    from assistant.ingest.chunking import ChunkSettings

    articles, _ = bench.load_corpus(None)
    made, chunks, _, _ = bench.filler(articles, 0, n, 1, np.random.default_rng(0), ChunkSettings())
    titles = {a.id: a.title for a in made}
    return [f"{titles[c.article_id]}\n{c.text}" for c in chunks[:n]]


def measure_bm25(n: int, add: int, folder: str, step: str) -> dict:
    from assistant.index.lexical import Lexical

    rows = texts(n + add)
    if step == "build":
        t0 = time.perf_counter()
        Lexical.build(rows[:n], range(n)).save(Path(folder))
        return {"build_s": time.perf_counter() - t0}
    before = rss_mb()
    lexical = Lexical.load(Path(folder))
    lexical.scores("oil prices fell")
    held = rss_mb() - before
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS, so the peak below is the update's
    start = status_mb("VmHWM")
    t0 = time.perf_counter()
    grown = lexical.updated(set(), rows[n:], range(n, n + add), [])
    took = time.perf_counter() - t0
    assert len(grown.ids) == n + add
    return {"kind": "bm25", "n": n, "rss_mb": held, "mb_per_million": held * 1e6 / n, "add": add, "add_s": took,
            "peak_over_loaded_mb": status_mb("VmHWM") - start, "tokens": len(lexical.tokens),
            "nonzeros": len(lexical.bm25.scores["data"])}


def child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--add", type=int, default=20_000)
    ap.add_argument("--kind", choices=["flat", "hnsw", "bm25"])
    ap.add_argument("--folder", help=argparse.SUPPRESS)
    ap.add_argument("--step", choices=["build", "measure"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.kind == "bm25":
        print(json.dumps(measure_bm25(args.n, args.add, args.folder, args.step)))
        return
    if args.kind:
        print(json.dumps(measure(args.kind, args.n, args.add)))
        return
    sizes = ["--n", str(args.n), "--add", str(args.add)]
    with tempfile.TemporaryDirectory() as folder:
        built = child("--kind", "bm25", "--step", "build", "--folder", folder, *sizes)
        r = child("--kind", "bm25", "--step", "measure", "--folder", folder, *sizes)
    print(f"bm25  n={r['n']:,} chunk texts ({r['tokens']:,} tokens, {r['nonzeros']:,} term-chunk scores), built in "
          f"{built['build_s']:.1f} s: a reader holds {r['rss_mb']:.0f} MB ({r['mb_per_million']:.0f} MB per million); "
          f"adding {r['add']:,}: {r['add_s']:.1f} s, the writer's peak +{r['peak_over_loaded_mb']:.0f} MB over the "
          f"loaded generation ({r['peak_over_loaded_mb'] * 1e6 / r['n']:.0f} MB per million)")
    for kind in ("flat", "hnsw"):
        r = child("--kind", kind, *sizes)
        print(f"{r['kind']:<5} n={r['n']:,}: RSS +{r['rss_mb']:.0f} MB ({r['mb_per_million']:.0f} MB per million; "
              f"float32 alone {r['raw_float32_mb']:.0f} MB), built in {r['build_s']:.1f} s; adding {r['add']:,}: "
              f"{r['add_s']:.1f} s (clone + add), RSS +{r['rss_during_add_mb']:.0f} MB while both exist")


if __name__ == "__main__":
    main()
