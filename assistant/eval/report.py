"""Figures from per-question results, and the report files: JSON, Markdown, CSV and two plots."""
from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from statistics import mean
from typing import TYPE_CHECKING

import numpy as np

from . import metrics as m

if TYPE_CHECKING:
    from .result import Result


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return round(mean(values), 4) if values else None


def _pct(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None}
    return {"p50": round(m.percentile(values, 50), 1), "p95": round(m.percentile(values, 95), 1)}


def summarize(results: Sequence[Result], ks: Sequence[int], modes: Sequence[str], depth: int) -> dict:
    """Retrieval per mode over answerable questions; answers, citations and refusals of the full pipeline."""
    ans = [r for r in results if r.item.answerable]
    unans = [r for r in results if not r.item.answerable]
    retrieval = {}
    for mode in modes:
        hits = [r.hits[mode] for r in ans]
        fig: dict[str, object] = {f"hit@{k}": _mean(m.hit_at_k(h, k) for h in hits) for k in ks}
        fig["mrr@10"] = _mean(m.reciprocal_rank(h, 10) for h in hits)
        fig["ndcg@10"] = _mean(m.ndcg_at_k(h, 10) for h in hits)
        fig["hit_curve"] = [_mean(m.hit_at_k(h, k) for h in hits) for k in range(1, depth + 1)]
        fig["search_ms"] = _pct([r.search_ms[mode] for r in results])
        retrieval[mode] = fig
    answered = [r for r in ans if not r.refused]
    answers = {
        "n_answerable": len(ans), "n_unanswerable": len(unans), "n_answered": len(answered),
        "exact_match": _mean(r.em for r in ans), "f1": _mean(r.f1 for r in ans),
        "quote_f1": _mean(r.quote_f1 for r in ans),
        "n_short": sum(1 for r in answered if r.short),
        "short_em": _mean(r.short_em for r in answered if r.short),
        "short_f1": _mean(r.short_f1 for r in answered if r.short),
        "short_f1_answered": _mean(r.short_f1 for r in answered),
        "citation_precision": _mean(m.citation_precision(r.cited_ok) for r in answered),
        "citation_recall": _mean(float(any(r.cited_ok)) for r in ans),
        "refusal_rate_unanswerable": _mean(float(r.refused) for r in unans),
        "false_refusal_rate": _mean(float(r.refused) for r in ans),
        "ask_ms": _pct([r.ask_ms for r in results]),
    }
    return {"retrieval": retrieval, "answers": answers}


def _f(value, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def markdown(report: dict) -> str:
    s, a, ret = report["settings"], report["answers"], report["retrieval"]
    man = s["index_manifest"]
    sample = f"sample of {s['sample']} (seed {s['seed']})" if s["sample"] else "all questions"
    if s.get("split"):
        sample += f", {s['split']}"
    lines = [
        f"## Evaluation of `{s['qa_file']}`",
        "",
        f"{s['questions']} of {s['questions_in_file']} questions ({sample}; {a['n_answerable']} answerable, "
        f"{a['n_unanswerable']} unanswerable). Index: {man['articles']} articles, {man['chunks']} chunks, "
        f"{man['model']} ({man['encoder']}). Run {s['started']}, {s['seconds']} s.",
        "",
        f"### Retrieval (answerable questions, n={a['n_answerable']})",
        "",
        "| mode | " + " | ".join(f"hit@{k}" for k in s["k"]) + " | MRR@10 | nDCG@10 | search p50 ms | search p95 ms |",
        "|---" * (len(s["k"]) + 5) + "|",
    ]
    for mode, fig in ret.items():
        cells = [_f(fig[f"hit@{k}"]) for k in s["k"]] + [_f(fig["mrr@10"]), _f(fig["ndcg@10"]),
                                                          _f(fig["search_ms"]["p50"], 1), _f(fig["search_ms"]["p95"], 1)]
        lines.append(f"| {mode} | " + " | ".join(cells) + " |")
    rows = [
        ("exact match (answer text)", a["exact_match"], a["n_answerable"]),
        ("token F1 (answer text)", a["f1"], a["n_answerable"]),
        ("token F1 (best quote)", a["quote_f1"], a["n_answerable"]),
        ("short answer: exact match (where given)", a.get("short_em"), a.get("n_short", 0)),
        ("short answer: token F1 (where given)", a.get("short_f1"), a.get("n_short", 0)),
        ("short answer: token F1 (answered; none given counts 0)", a.get("short_f1_answered"), a["n_answered"]),
        ("citation precision (answered)", a["citation_precision"], a["n_answered"]),
        ("citation recall", a["citation_recall"], a["n_answerable"]),
        ("refusal rate (unanswerable)", a["refusal_rate_unanswerable"], a["n_unanswerable"]),
        ("false-refusal rate (answerable)", a["false_refusal_rate"], a["n_answerable"]),
    ]
    chooser = {"default": "the overlap scorer, its best six ordered by the reader, refusal by the answerability model, "
                          "short answers by the reader",
               "reader": "the trained reader alone", "overlap": "the overlap scorer"}.get(s.get("answers", ""), "extractive")
    lines += ["", f"### Answers and citations (full pipeline: hybrid search + answers by {chooser})", "",
              "| metric | value | n |", "|---|---|---|"]
    lines += [f"| {name} | {_f(v)} | {n} |" for name, v, n in rows]
    lines.append(f"| ask latency p50 / p95 ms | {_f(a['ask_ms']['p50'], 1)} / {_f(a['ask_ms']['p95'], 1)} "
                 f"| {s['questions']} |")
    if report.get("warnings"):
        lines += [""] + [f"Warning: {w}" for w in report["warnings"]]
    return "\n".join(lines) + "\n"


def write_csv(path: Path, results: Sequence[Result], modes: Sequence[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "question", "answerable", "gold_answers", "answer", "refused",
                    *(f"hit_rank_{mo}" for mo in modes), "cited", "cited_supports", "em", "f1", "quote_f1", "short", "short_f1",
                    *(f"search_ms_{mo}" for mo in modes), "ask_ms"])
        for r in results:
            q = r.item
            w.writerow([q.id, q.question, int(q.answerable), " | ".join(q.answers), r.answer, int(r.refused),
                        *(r.rank(mo) or "" for mo in modes), "; ".join(r.cited),
                        "; ".join(str(int(ok)) for ok in r.cited_ok), r.em, round(r.f1, 4), round(r.quote_f1, 4),
                        r.short, round(r.short_f1, 4),
                        *(round(r.search_ms[mo], 2) for mo in modes), round(r.ask_ms, 2)])


def plot(out: Path, report: dict, results: Sequence[Result]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    styles = iter([("o", "-"), ("s", "--"), ("^", ":")] * 2)
    for mode, figs in report["retrieval"].items():
        curve, (marker, line) = figs["hit_curve"], next(styles)
        ax.plot(range(1, len(curve) + 1), [c or 0.0 for c in curve], marker=marker, linestyle=line, label=mode)
    ax.set(xlabel="k", ylabel="hit@k", ylim=(0, 1.02), title=f"hit@k, n={report['answers']['n_answerable']}")
    ax.set_xticks(range(1, len(curve) + 1))
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out / "hitk.png", dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    series = {f"search ({mo})": [r.search_ms[mo] for r in results] for mo in report["retrieval"]}
    series["ask (full pipeline)"] = [r.ask_ms for r in results]
    values = [v for vs in series.values() for v in vs]
    bins = np.geomspace(max(min(values), 0.01), max(max(values), 0.02), 41)
    for name, vs in series.items():
        ax.hist(np.clip(vs, bins[0], bins[-1]), bins=bins.tolist(), alpha=0.5, label=name)
    ax.set(xscale="log", xlabel="latency per question (ms, log scale)", ylabel="questions", title="latency")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=100)
    plt.close(fig)


def write_reports(out: Path, report: dict, results: Sequence[Result]) -> str:
    """Write report.json, report.md, questions.csv, hitk.png and latency.png; return the Markdown."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    text = markdown(report)
    (out / "report.md").write_text(text, encoding="utf-8")
    write_csv(out / "questions.csv", results, list(report["retrieval"]))
    plot(out, report, results)
    return text
