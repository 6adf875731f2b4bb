"""Index the same Reuters articles locally and on a local Ray cluster with 1 and 2 worker CPUs.

    python benchmarks/ray_scale.py [--n 2000] [--repeat 3] [--articles ../shared/data/reuters21578/articles.jsonl]

Prints articles/s for each run, Ray's overhead over local indexing and the 1 → 2 worker scaling factor, and
checks that every run wrote the same chunks. For each Ray run the benchmark starts a cluster on this machine as a
head node is started (`ray start --head --num-cpus=k`, token authentication on; `ingest/ray_head.py`) and this
process joins it by its address, as a driver on another machine would; k Embedder actors run on its k CPUs. The time
to start the cluster is reported apart; joining it is inside the run's time. Each cluster runs two jobs: the first
also boots Ray Data's detached helper actors, which a running cluster keeps, so the second is what every later job
on a running cluster costs; both are reported. Importing Ray Data (once per process, ≈ 0.8 s) is outside every
timing, so the Ray runs are measured alike. With `--repeat N` all runs are repeated in turn N times and the median
of each is reported (this VM's speed drifts by 10-15 % from one minute to the next).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant import Assistant, int8  # noqa: E402
from assistant.ingest import distributed, ray_runtime  # noqa: E402
from assistant.ingest.ray_head import driver_env, local_head  # noqa: E402

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


def cpu_model() -> str:
    """The CPU the figures come from (they moved 2.5x between two 2-core VMs; their ratios less)."""
    lines = Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "unknown")


def run_ray(data: Path, folder: Path, cpus: int, commit_every: int) -> list[dict]:
    """The first and the second job on one new cluster, each into an index of its own; the cluster's start time goes
    with the first."""
    name = f"ray, {cpus} worker CPU{'s' if cpus > 1 else ''}"
    t0 = time.perf_counter()
    jobs = []
    with local_head(cpus, token=os.environ["RAY_AUTH_TOKEN"]) as (address, _):
        boot = time.perf_counter() - t0
        for job, label in enumerate((f"{name}, first job", name)):
            a = Assistant.open(folder / str(job))
            started = time.perf_counter()
            result, errors = distributed.ingest(a.index, [data], address=address, actors=cpus,
                                                commit_every=commit_every)
            seconds = time.perf_counter() - started
            a.close()
            assert not errors, errors
            jobs.append({"mode": label, "seconds": seconds, "articles": result.added,
                         "chunks": chunk_count(folder / str(job)), **({} if job else {"boot": boot})})
    return jobs


def median_run(runs: list[dict]) -> dict:
    """The run with the median time (its own figures; of an even number, the slower middle one), with every time
    it took and the median cluster start."""
    mid = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
    boot = {"boot": statistics.median(r["boot"] for r in runs)} if "boot" in mid else {}
    return {**mid, **boot, "articles_per_s": mid["articles"] / mid["seconds"],
            "all_seconds": [round(r["seconds"], 2) for r in runs], "same_chunks": len({r["chunks"] for r in runs}) == 1}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--articles", type=Path, default=DATA)
    ap.add_argument("--commit-every", type=int, default=distributed.DEFAULT_COMMIT_EVERY)
    ap.add_argument("--repeat", type=int, default=1, help="repeat the runs in turn; report the medians")
    ap.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = ap.parse_args()
    os.environ.update(driver_env())  # before Ray is imported: this process joins each cluster by its address
    ray_runtime.require_ray()
    import ray.data  # noqa: F401  (once per process, 0.8 s: outside every timing, so all Ray runs are alike)

    trials: list[list[dict]] = []
    with tempfile.TemporaryDirectory() as tmp:
        data = sample(args.articles, args.n, Path(tmp) / "articles.jsonl")
        for n in range(args.repeat):
            trials.append([run_local(data, Path(tmp) / f"local{n}")]
                          + [r for cpus in (1, 2) for r in run_ray(data, Path(tmp) / f"ray{cpus}-{n}", cpus,
                                                                        args.commit_every)])
    runs = [median_run([t[i] for t in trials]) for i in range(5)]
    local, first1, one, first2, two = runs
    summary = {"n": args.n, "cores": os.cpu_count(), "cpu": cpu_model(), "int8_saturates": int8.saturates(),
               "runs": runs,
               "ray_2_vs_local": two["articles_per_s"] / local["articles_per_s"],
               "scaling_1_to_2": two["articles_per_s"] / one["articles_per_s"],
               "first_job": {"ray_2_vs_local": first2["articles_per_s"] / local["articles_per_s"],
                             "scaling_1_to_2": first2["articles_per_s"] / first1["articles_per_s"]},
               "same_chunks": len({r["chunks"] for r in runs}) == 1 and all(r["same_chunks"] for r in runs)}
    print(f"{'run':<30} {'articles':>8} {'chunks':>7} {'seconds':>8} {'articles/s':>10} {'cluster start s':>15}  "
          "all runs (s)")
    for r in runs:
        boot = f"{r['boot']:.1f}" if "boot" in r else ""
        print(f"{r['mode']:<30} {r['articles']:>8} {r['chunks']:>7} {r['seconds']:>8.1f} {r['articles_per_s']:>10.1f} "
              f"{boot:>15}  {', '.join(f'{s:.1f}' for s in r['all_seconds'])}")
    for label, figures in (("a running cluster", summary), ("the first job on a new cluster", summary["first_job"])):
        print(f"On {label}: Ray (2 CPUs) / local {figures['ray_2_vs_local']:.2f} (overhead "
              f"{100 * (1 - figures['ray_2_vs_local']):.1f} %); 2 workers / 1 worker {figures['scaling_1_to_2']:.2f}x")
    print(f"same chunks: {summary['same_chunks']}")
    if args.out:
        args.out.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
