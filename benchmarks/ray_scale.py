"""Index the same Reuters articles locally and on a local Ray runtime with 1 and 2 worker CPUs.

    python benchmarks/ray_scale.py [--n 2000] [--repeat 3] [--articles ../shared/data/reuters21578/articles.jsonl]

Prints articles/s for each run, Ray's overhead over local indexing and the 1 → 2 worker scaling factor, and
checks that every run wrote the same chunks. Each Ray run starts its own runtime (`ray.init(num_cpus=k)`, k actors,
bound to 127.0.0.1, no dashboard) and shuts it down; the time to start it is reported apart from the run, and
importing Ray Data (once per process, ≈ 0.8 s) is outside every timing, so the two Ray runs are measured alike.
With `--repeat N` the three runs are repeated in turn N times and the median of each is reported (this VM's speed
drifts by 10-15 % from one minute to the next).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant import Assistant  # noqa: E402
from assistant.ingest import distributed  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "reuters21578" / "articles.jsonl"


def sample(source: Path, n: int, out: Path) -> Path:
    """The first `n` articles, with the fields the loaders read (the data set is not copied into the project)."""
    with open(source, encoding="utf-8") as fh, open(out, "w", encoding="utf-8") as dst:
        for line, _ in zip(fh, range(n)):
            row = json.loads(line)
            dst.write(json.dumps({k: row.get(k) for k in ("id", "title", "text", "date", "source")}) + "\n")
    return out


def chunk_count(path: Path) -> int:
    a = Assistant.open(path, read_only=True)
    try:
        return int(a.stats()["chunks"])
    finally:
        a.close()


def run_local(data: Path, folder: Path) -> dict:
    a = Assistant.open(folder)
    a.index.encoder  # noqa: B018  (loaded before the clock starts, as the Ray actors load theirs before their first batch)
    started = time.perf_counter()
    result = a.add_path(data)
    seconds = time.perf_counter() - started
    a.close()
    return {"mode": "local (2 cores)", "seconds": seconds, "articles": result.added, "chunks": chunk_count(folder)}


def run_ray(data: Path, folder: Path, cpus: int, commit_every: int) -> dict:
    import ray

    t0 = time.perf_counter()
    distributed.start(num_cpus=cpus)
    boot = time.perf_counter() - t0
    try:
        a = Assistant.open(folder)
        started = time.perf_counter()
        result, errors = distributed.ingest(a.index, [data], actors=cpus, commit_every=commit_every)
        seconds = time.perf_counter() - started
        a.close()
    finally:
        ray.shutdown()
    assert not errors, errors
    return {"mode": f"ray, {cpus} worker CPU{'s' if cpus > 1 else ''}", "seconds": seconds, "boot": boot,
            "articles": result.added, "chunks": chunk_count(folder)}


def median_run(runs: list[dict]) -> dict:
    """The run with the median time (its own figures; of an even number, the slower middle one), with every time
    it took."""
    mid = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
    return {**mid, "articles_per_s": mid["articles"] / mid["seconds"],
            "all_seconds": [round(r["seconds"], 2) for r in runs], "same_chunks": len({r["chunks"] for r in runs}) == 1}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--articles", type=Path, default=DATA)
    ap.add_argument("--commit-every", type=int, default=distributed.DEFAULT_COMMIT_EVERY)
    ap.add_argument("--repeat", type=int, default=1, help="repeat the three runs in turn; report the medians")
    ap.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = ap.parse_args()
    distributed.require_ray()
    import ray.data  # noqa: F401  (once per process, 0.8 s: outside every timing, so both Ray runs are alike)

    trials: list[list[dict]] = []
    with tempfile.TemporaryDirectory() as tmp:
        data = sample(args.articles, args.n, Path(tmp) / "articles.jsonl")
        for n in range(args.repeat):
            trials.append([run_local(data, Path(tmp) / f"local{n}")]
                          + [run_ray(data, Path(tmp) / f"ray{cpus}-{n}", cpus, args.commit_every) for cpus in (1, 2)])
    runs = [median_run([t[i] for t in trials]) for i in range(3)]
    local, one, two = runs
    summary = {"n": args.n, "cores": os.cpu_count(), "runs": runs,
               "ray_2_vs_local": two["articles_per_s"] / local["articles_per_s"],
               "scaling_1_to_2": two["articles_per_s"] / one["articles_per_s"],
               "same_chunks": len({r["chunks"] for r in runs}) == 1 and all(r["same_chunks"] for r in runs)}
    print(f"{'run':<22} {'articles':>8} {'chunks':>7} {'seconds':>8} {'articles/s':>10} {'ray start s':>11}  "
          "all runs (s)")
    for r in runs:
        print(f"{r['mode']:<22} {r['articles']:>8} {r['chunks']:>7} {r['seconds']:>8.1f} {r['articles_per_s']:>10.1f} "
              f"{r.get('boot', 0):>11.1f}  {', '.join(f'{s:.1f}' for s in r['all_seconds'])}")
    print(f"Ray (2 CPUs) / local: {summary['ray_2_vs_local']:.2f} (overhead {100 * (1 - summary['ray_2_vs_local']):.1f} %); "
          f"2 workers / 1 worker: {summary['scaling_1_to_2']:.2f}x; same chunks: {summary['same_chunks']}")
    if args.out:
        args.out.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
