"""`assistant eval QA.jsonl`: score retrieval, answers, citations, refusals and latency against a Q&A set."""
from __future__ import annotations

import argparse
import hashlib
import re
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from . import metrics as m
from .qa import QAItem, in_split, load_qa, realign, select
from .report import summarize, write_reports
from .result import Result

MODES = ("dense", "bm25", "hybrid")
ANSWERS = ("default", "reader", "overlap")
DEPTH = 10  # MRR@10 and nDCG@10 need at least ten ranked passages
_MARKER = re.compile(r"\s*\[\d+\]")


def evaluate_one(assistant, item: QAItem, modes, depth: int) -> Result:
    """`ask` first (the user-facing figure, before the searches warm any cache), then one search per mode."""
    r = Result(item)
    t0 = time.perf_counter()
    ans = assistant.ask(item.question)
    r.ask_ms = (time.perf_counter() - t0) * 1000
    r.refused, r.answer = ans.refused, _MARKER.sub("", ans.text).strip()
    r.cited = [f"{c.article_id}[{c.quote_start}:{c.quote_end}]" for c in ans.citations]
    r.cited_ok = [item.supports(c.text, c.start, c.end, c.article_id) for c in ans.citations]
    if item.answerable and not ans.refused:
        r.em, r.f1 = m.exact_match(r.answer, item.answers), m.token_f1(r.answer, item.answers)
        r.quote_f1 = m.token_f1(ans.citations[0].quote, item.answers) if ans.citations else 0.0
        r.short = ans.short or ""
        if r.short:
            r.short_em, r.short_f1 = m.exact_match(r.short, item.answers), m.token_f1(r.short, item.answers)
    for mode in modes:
        t0 = time.perf_counter()
        passages = assistant.search(item.question, k=depth, mode=mode)
        r.search_ms[mode] = (time.perf_counter() - t0) * 1000
        r.hits[mode] = [item.supports(p.text, p.start, p.end, p.article_id) for p in passages]
    return r


def prepare(assistant, items: list[QAItem]) -> list[str]:
    """Realign answer offsets to the indexed (cleaned) text; warnings for gold articles the index lacks."""
    known = {a["id"] for a in assistant.articles()}
    missing = sorted({q.article_id for q in items if q.article_id and q.article_id not in known})
    texts: dict[str, str] = {}
    moved = 0
    for q in items:
        if q.answer_start is not None and q.article_id is not None and q.article_id in known:
            if q.article_id not in texts:
                texts[q.article_id] = assistant.article(q.article_id).text
            new = realign(texts[q.article_id], q.answer_start, q.answers)
            moved += new != q.answer_start
            q.answer_start = new
    warnings = [f"{moved} answer_start offset(s) realigned to the cleaned article text"] if moved else []
    if missing:
        warnings.append(f"{len(missing)} gold article(s) are not in the index (e.g. {missing[0]}); "
                        "their questions count as misses")
    return warnings


def default_index(articles: list[str]) -> Path:
    key = "\n".join(sorted(str(Path(p).resolve()) for p in articles))
    return Path(tempfile.gettempdir()) / f"news-assistant-eval-{hashlib.sha1(key.encode()).hexdigest()[:12]}"


def parse_ks(text: str) -> list[int]:
    try:
        ks = sorted({int(k) for k in text.split(",") if k.strip()})
    except ValueError:
        ks = []
    if not ks or ks[0] < 1:
        raise argparse.ArgumentTypeError(f"--k wants positive integers separated by commas, e.g. 1,5,10 (got {text!r})")
    return ks


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def add_arguments(sub) -> None:
    p = sub.add_parser("eval", help="score retrieval, answers and citations against a Q&A set (JSONL)")
    p.add_argument("qa", metavar="QA.jsonl", help="Q&A file: one JSON object per line (id, question, answers, evidence, article_id, ...)")
    p.add_argument("--articles", nargs="+", action="extend", metavar="PATH", help="article files/folders (default: seeds/)")
    p.add_argument("--index", metavar="DIR", help="index folder (default: a temp folder named after the articles' paths, reused)")
    p.add_argument("--k", type=parse_ks, metavar="LIST", default=[1, 5, 10], help="hit@k cut-offs (default: 1,5,10)")
    p.add_argument("--out", default="eval-report", metavar="DIR", help="report folder (default: eval-report/)")
    p.add_argument("--compare", action="store_true", help="retrieval figures for dense, bm25 and hybrid side by side")
    p.add_argument("--limit", type=positive, metavar="N", help="only the first N questions")
    p.add_argument("--sample", type=positive, metavar="N", help="a random sample of N questions (after --limit)")
    p.add_argument("--seed", type=int, metavar="S", default=0, help="seed for --sample (default: 0)")
    p.add_argument("--split-file", metavar="FILE", help="JSON {split: [article ids]}: ask only questions of --split")
    p.add_argument("--split", default="test", help="which split of --split-file to ask (default: test)")
    p.add_argument("--answers", choices=ANSWERS, default="default",
                   help="default: quotes by the overlap scorer, its best six ordered by the reader, refusal by the "
                        "answerability model over both, short answers by the reader; reader: quotes, refusal and short "
                        "answers by the reader alone; overlap: the overlap scorer without the reader")
    p.add_argument("--rerank", action=argparse.BooleanOptionalAction, default=None,
                   help="let the reader reorder the first passages of search and ask (default: as the product does, "
                        "search only); --no-rerank: neither")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run_cli, opens_index=False)


def run_cli(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..assistant import Assistant
    from ..ingest.loaders import load_paths

    started = datetime.now().astimezone()
    items = load_qa(args.qa)
    n_file = len(items)
    if args.split_file:
        items = in_split(items, args.split_file, args.split)
    items = select(items, args.limit, args.sample, args.seed)
    articles = args.articles or ["seeds"]
    index = Path(args.index) if args.index else default_index(articles)
    modes = MODES if args.compare else ("hybrid",)
    depth = max(DEPTH, *args.k)
    loaded, skipped = load_paths(articles)  # as add_path(strict=False), but the skipped files are reported
    from ..answer import ExtractiveGenerator, ReaderGenerator

    generator = {"default": None, "reader": ReaderGenerator(), "overlap": ExtractiveGenerator(reader=None)}[args.answers]
    assistant = Assistant.open(index, generator=generator, rerank=args.rerank)
    try:
        added = assistant.add(loaded, progress=not args.quiet)
        warnings = [f"skipped {e}" for e in skipped] + prepare(assistant, items)
        assistant.search(items[0].question, k=depth)  # warm-up, not timed
        results = [evaluate_one(assistant, q, modes, depth)
                   for q in tqdm(items, desc="questions", disable=args.quiet or len(items) < 50, file=sys.stderr)]
        settings = {
            "qa_file": str(args.qa), "articles": [str(a) for a in articles], "index": str(index.resolve()),
            "index_manifest": assistant.stats(), "added": vars(added), "k": args.k, "depth": depth,
            "modes": list(modes), "answers": args.answers, "rerank": args.rerank, "questions_in_file": n_file, "questions": len(items), "limit": args.limit,
            "sample": args.sample, "seed": args.seed if args.sample else None,
            "split": f"{args.split} of {args.split_file}" if args.split_file else None,
            "started": started.isoformat(timespec="seconds"),
            "seconds": round((datetime.now().astimezone() - started).total_seconds(), 1),
        }
    finally:
        assistant.close()
    report = {"settings": settings, **summarize(results, args.k, modes, depth), "warnings": warnings}
    print(write_reports(Path(args.out), report, results))
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    return 0
