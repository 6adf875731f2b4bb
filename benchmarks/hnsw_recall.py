"""Recall and latency of the HNSW index (`assistant.vectors`, M=32) against exact search, at large sizes.

    python benchmarks/hnsw_recall.py [--sizes 100000,250000] [--ef 64,128,256] [--queries 500]
                                     [--index /tmp/squad_torch] [--out benchmarks/results/hnsw_recall.json]

Data. Encoding 250k real chunks is out of reach on a 2-core machine, so the database is built around real
vectors: the chunk vectors of an existing index (default: SQuAD dev, 2,531 chunks) are the "bases", and each
synthetic row is normalise(b_i + 0.5 * b_j + 0.6 * g) with b_i, b_j random bases and g a Gaussian unit-variance
vector scaled by 1/sqrt(dim); the real rows are kept in. Queries are real: SQuAD dev questions encoded with
the index's encoder. Such rows lie in the subspace the model uses; with noise 0.6 the synthetic rows' median
similarity to their nearest other synthetic row is 0.71 at 250k rows, close to the real chunks' 0.69 among
SQuAD's 2,531 (the script prints the nearest-neighbour similarity over all rows, 0.79, which is mostly the
similarity to the real row a synthetic one is anchored on). A second, worst-case set
uses i.i.d. Gaussian unit vectors for both rows and queries ("random").

Recall@k = |HNSW top-k ∩ exact top-k| / k, averaged over queries; @50 matters because hybrid search takes the
50 best dense rows as candidates, @10 is the usual figure. Latency: single-query search, median and p95.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import faiss  # noqa: E402
import numpy as np  # noqa: E402

from assistant.index import Index  # noqa: E402
from assistant.index import vectors as vmod  # noqa: E402

SQUAD_QA = ROOT.parent / "shared" / "data" / "squad-dev" / "qa.jsonl"


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype("float32")


def anchored(bases: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    dim = bases.shape[1]
    out = np.empty((n, dim), dtype="float32")
    for s in range(0, n, 50_000):
        m = min(50_000, n - s)
        a, b = rng.integers(0, len(bases), m), rng.integers(0, len(bases), m)
        out[s:s + m] = unit(bases[a] + 0.5 * bases[b] + 0.6 * rng.standard_normal((m, dim)) / np.sqrt(dim))
    return out


class ExactScan:
    """The product's exact search of a flat index (`scan.top_exact`: int8 prefilter when large), FAISS-shaped."""

    def __init__(self, db: np.ndarray):
        from assistant.index.scan import MIN_ROWS, Int8Rows

        self.db, self.int8 = db, Int8Rows(db) if len(db) >= MIN_ROWS else None

    def search(self, x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        from assistant.index.scan import top_exact

        found = [top_exact(self.db, self.int8, q, k) for q in x]
        return np.array([s for _, s in found]), np.array([r for r, _ in found])


def timed_search(index, queries: np.ndarray, k: int) -> tuple[np.ndarray, list[float]]:
    rows, ms = [], []
    index.search(queries[:1], k)
    for q in queries:
        t = time.perf_counter()
        rows.append(index.search(q[None], k)[1][0])
        ms.append(1000 * (time.perf_counter() - t))
    return np.array(rows), ms


def recall(approx: np.ndarray, exact: np.ndarray, k: int) -> float:
    return float(np.mean([len(set(a[:k]) & set(e[:k])) / k for a, e in zip(approx, exact)]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,250000")
    ap.add_argument("--ef", default="64,128,256")
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--index", default="/tmp/squad_torch", help="an index whose vectors serve as the real bases")
    ap.add_argument("--datasets", default="anchored,random")
    ap.add_argument("--ef-construction", type=int, default=None,
                    help="efConstruction (default: the value assistant.vectors builds with)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "hnsw_recall.json")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    ix = Index(args.index)
    bases = np.array(ix.snapshot.vectors.vecs, dtype="float32")
    qs = [json.loads(line)["question"] for line in open(SQUAD_QA, encoding="utf-8")]
    random.Random(1).shuffle(qs)
    real_q = ix.encoder.encode(qs[: args.queries])
    dim = bases.shape[1]
    real_index = faiss.IndexFlatIP(dim)
    real_index.add(bases)
    real_nn = float(np.median(real_index.search(bases, 2)[0][:, 1]))
    result = {"cpu_count": os.cpu_count(), "M": vmod.HNSW_M, "bases": len(bases), "encoder": ix.encoder.backend,
              "real_nn_sim_median": real_nn, "runs": []}
    efs = [int(e) for e in args.ef.split(",")]
    print(f"{len(bases)} real base vectors ({ix.encoder.backend}; median nearest-neighbour similarity among them "
          f"{real_nn:.2f}), {len(real_q)} real queries, M={vmod.HNSW_M}")
    for dataset in args.datasets.split(","):
        for n in (int(s) for s in args.sizes.split(",")):
            if dataset == "anchored":
                db = np.vstack([bases, anchored(bases, n - len(bases), rng)])
                queries = real_q
            else:
                db = unit(rng.standard_normal((n, dim)))
                queries = unit(rng.standard_normal((len(real_q), dim)))
            flat = faiss.IndexFlatIP(dim)
            flat.add(db)
            exact, flat_ms = timed_search(flat, queries, 50)
            blas = ExactScan(db)
            _, blas_ms = timed_search(blas, queries, 50)
            nn = flat.search(db[-2000:], 2)[0][:, 1]  # nearest other row of synthetic rows, for the realism check
            t = time.perf_counter()
            hnsw = faiss.IndexHNSWFlat(dim, vmod.HNSW_M, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efConstruction = args.ef_construction or getattr(vmod, "HNSW_EF_CONSTRUCTION", 40)
            hnsw.add(db)
            build = time.perf_counter() - t
            run = {"dataset": dataset, "n": n, "hnsw_build_s": build, "ef_construction": hnsw.hnsw.efConstruction, "nn_sim_median": float(np.median(nn)),
                   "query_top1_sim_median": float(np.median(flat.search(queries, 1)[0][:, 0])),
                   "flat_faiss_ms_p50": float(np.median(flat_ms)), "flat_blas_ms_p50": float(np.median(blas_ms)),
                   "ef": {}}
            for ef in efs:
                hnsw.hnsw.efSearch = ef
                approx, ms = timed_search(hnsw, queries, 50)
                run["ef"][ef] = {"recall@10": recall(approx, exact, 10), "recall@50": recall(approx, exact, 50),
                                 "ms_p50": float(np.median(ms)), "ms_p95": float(np.percentile(ms, 95))}
            result["runs"].append(run)
            print(f"  {dataset} {n:,}: built in {build:.0f} s; exact {run['flat_faiss_ms_p50']:.1f} ms (FAISS) / "
                  f"{run['flat_blas_ms_p50']:.1f} ms (ours, scan.py); " + "; ".join(
                      f"ef {ef}: R@10 {r['recall@10']:.3f} R@50 {r['recall@50']:.3f} {r['ms_p50']:.2f} ms"
                      for ef, r in run["ef"].items()), flush=True)
            del flat, hnsw, db
    print("\n| vectors | data | efConstruction | HNSW build s | exact p50 ms (FAISS / ours) | " +
          " | ".join(f"efSearch {ef}: R@10 / R@50 / p50 ms" for ef in efs) + " |")
    print("|---|---|---|---|---|" + "---|" * len(efs))
    for r in result["runs"]:
        print(f"| {r['n']:,} | {r['dataset']} (NN sim {r['nn_sim_median']:.2f}) | {r['ef_construction']} | {r['hnsw_build_s']:.0f} | "
              f"{r['flat_faiss_ms_p50']:.1f} / {r['flat_blas_ms_p50']:.1f} | " +
              " | ".join(f"{e['recall@10']:.3f} / {e['recall@50']:.3f} / {e['ms_p50']:.2f}" for e in r["ef"].values()) + " |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
