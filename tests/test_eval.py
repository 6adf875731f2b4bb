"""`assistant eval`: the Q&A schema, the figures and report files, and one end-to-end run on the seed set."""
from __future__ import annotations

import csv
import json

import pytest
from conftest import ROOT, SEED_ID, SEEDS, copy_index

from assistant.cli import main
from assistant.errors import InputError
from assistant.eval.qa import QAItem, load_qa, parse_item, realign, select
from assistant.eval.report import markdown, summarize, write_reports
from assistant.eval.runner import Result, default_index

SQUAD_QA = ROOT.parent / "shared" / "data" / "squad-dev" / "qa.jsonl"
REPORT_FILES = ("report.json", "report.md", "questions.csv", "hitk.png", "latency.png")


# ---- end to end, through the real CLI -------------------------------------------------------------
def test_seed_eval_end_to_end(tmp_path, built_index, capsys):
    """Seed Q&A over the seed article plus distractors: every answerable question's passage is in the top 5."""
    index, out = tmp_path / "index", tmp_path / "report"
    copy_index(built_index, index)
    rc = main(["eval", str(SEEDS / "qa.jsonl"), "--articles", str(SEEDS), "--index", str(index),
               "--out", str(out), "--compare", "--quiet"])
    printed = capsys.readouterr().out
    assert rc == 0
    for name in REPORT_FILES:
        assert (out / name).stat().st_size > 0, name
    report = json.loads((out / "report.json").read_text())
    settings = report["settings"]
    assert settings["questions"] == 29 and settings["k"] == [1, 5, 10]
    assert settings["added"] == {"added": 0, "updated": 0, "unchanged": 1, "chunks": 0}  # index already held it
    assert settings["index_manifest"]["articles"] > 1  # the distractors are there too
    assert set(report["retrieval"]) == {"dense", "bm25", "hybrid"}
    assert report["retrieval"]["hybrid"]["hit@5"] >= 1.0, "a seed question's gold passage fell out of the top 5"
    answers = report["answers"]
    assert answers["n_answerable"] == 24 and answers["n_unanswerable"] == 5
    assert answers["citation_recall"] is not None and answers["f1"] is not None
    # Measured: citation precision 0.972, recall 1.0 (24 of 24), 5 of 5 unanswerable refused, 0 of 24 answerable
    # refused. The bounds leave one question of slack each, for retuning the answer scorer.
    assert answers["citation_precision"] >= 0.93 and answers["citation_recall"] >= 0.95
    assert answers["refusal_rate_unanswerable"] >= 0.8 and answers["false_refusal_rate"] <= 0.05
    assert report["warnings"] == []
    assert printed == (out / "report.md").read_text() + "\n"
    assert "| hybrid |" in printed and "| dense |" in printed
    rows = list(csv.DictReader((out / "questions.csv").open(encoding="utf-8")))
    assert len(rows) == 29 and rows[0]["id"] == "card" and rows[0]["hit_rank_hybrid"] == "1"
    assert SEED_ID in rows[0]["cited"]


def test_bad_qa_line_is_a_clear_cli_error(tmp_path, capsys):
    qa = tmp_path / "qa.jsonl"
    qa.write_text('{"id": "a", "question": "Who?", "answers": ["x"]}\n\n{"id": "b", "question": }\n')
    assert main(["eval", str(qa), "--index", str(tmp_path / "unused"), "--out", str(tmp_path / "out")]) == 2
    assert f"{qa}:3: invalid JSON" in capsys.readouterr().err
    assert not (tmp_path / "unused").exists() and not (tmp_path / "out").exists()


def test_missing_articles_path_is_an_error_before_any_index_is_made(tmp_path, capsys):
    rc = main(["eval", str(SEEDS / "qa.jsonl"), "--articles", str(tmp_path / "nope"), "--index", str(tmp_path / "ix")])
    assert rc == 2 and "no such file or folder" in capsys.readouterr().err
    assert not (tmp_path / "ix").exists()


@pytest.mark.parametrize("argv", [["--k", "0"], ["--k", "a,b"], ["--sample", "-3"], ["--limit", "0"]])
def test_bad_options_are_refused(argv, tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["eval", str(SEEDS / "qa.jsonl"), *argv])
    assert exc.value.code == 2


def test_default_index_is_stable_per_article_set(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert default_index(["seeds"]) == default_index([str(SEEDS.resolve())]) != default_index(["other"])


# ---- schema -------------------------------------------------------------------------------------------
def test_seed_file_parses():
    items = load_qa(SEEDS / "qa.jsonl")
    assert len(items) == 29 and sum(not q.answerable for q in items) == 5
    assert items[0].evidence and items[0].article_id == SEED_ID


def test_mrqa_row_without_evidence_uses_answer_start():
    q = parse_item({"id": 7, "question": "Which team won?", "answers": ["Denver Broncos"],
                    "article_id": "p1", "answer_start": 20}, "f:1")
    assert (q.id, q.answerable, q.evidence, q.answer_start) == ("7", True, [], 20)
    assert q.supports("... Denver Broncos ...", 10, 30, "p1")
    assert not q.supports("... Denver Broncos ...", 30, 60, "p1")  # the answer is elsewhere in the article
    assert not q.supports("... Denver Broncos ...", 10, 30, "p2")


def test_unanswerable_row():
    q = parse_item({"id": "u", "question": "What is the capital of Peru?", "answers": []}, "f:1")
    assert not q.answerable
    assert not q.supports("Lima is the capital of Peru.", 0, 28, "any")
    assert parse_item({"id": "u", "question": "Q?", "answerable": False}, "f:1").answers == []


@pytest.mark.parametrize("line, message", [
    ('{"id": "a", "question": "Q?", "answers": ["x"]', "invalid JSON"),
    ('["a", "Q?"]', "must be a JSON object"),
    ('{"id": "a", "question": "  ", "answers": ["x"]}', "'question' must be a non-empty string"),
    ('{"question": "Q?", "answers": ["x"]}', "missing 'id'"),
    ('{"id": "a", "question": "Q?", "answers": "x"}', "'answers' must be a list of strings"),
    ('{"id": "a", "question": "Q?", "answers": ["x"], "evidence": [1]}', "'evidence' must be a list of strings"),
    ('{"id": "a", "question": "Q?", "answers": ["x"], "answer_start": 3}', "'answer_start' must be"),
    ('{"id": "a", "question": "Q?", "answers": ["x"], "article_id": "p", "answer_start": -1}', "'answer_start' must be"),
    ('{"id": "a", "question": "Q?", "answers": ["x"], "answerable": "yes"}', "'answerable' must be true or false"),
    ('{"id": "a", "question": "Q?", "answers": ["x"], "answerable": false}', "unanswerable question cannot have"),
    ('{"id": "a", "question": "Q?", "answerable": true}', "answerable question needs"),
    ('{"id": "card", "question": "Q?", "answers": ["x"]}', "duplicate id 'card'"),
])
def test_bad_line_names_its_line_number(tmp_path, line, message):
    qa = tmp_path / "qa.jsonl"
    qa.write_text('{"id": "card", "question": "Why?", "answers": ["x"]}\n\n' + line + "\n")
    with pytest.raises(InputError, match=rf"qa\.jsonl:3: .*{message}"):
        load_qa(qa)


def test_empty_file_is_an_error(tmp_path):
    (tmp_path / "qa.jsonl").write_text("\n\n")
    with pytest.raises(InputError, match="no questions"):
        load_qa(tmp_path / "qa.jsonl")


@pytest.mark.skipif(not SQUAD_QA.exists(), reason="SQuAD dev data not present")
def test_squad_dev_file_parses_unchanged():
    items = load_qa(SQUAD_QA)
    assert len(items) == 10_507 and all(q.answerable and q.answer_start is not None and not q.evidence for q in items)


def test_select_limit_and_seeded_sample_keep_file_order():
    items = [QAItem(str(i), "Q?", ["x"]) for i in range(100)]
    assert [q.id for q in select(items, 3, None, 0)] == ["0", "1", "2"]
    a, b = select(items, None, 10, 1), select(items, None, 10, 1)
    assert [q.id for q in a] == [q.id for q in b] and a == sorted(a, key=lambda q: int(q.id)) and len(a) == 10
    assert select(items, None, 10, 2) != a
    assert all(int(q.id) < 20 for q in select(items, 20, 5, 0))


def test_realign_follows_answers_shifted_by_cleaning():
    text = "Intro. The Broncos won the game."
    assert realign(text, 7, ["The Broncos"]) == 7  # already right
    assert realign(text, 9, ["The Broncos"]) == 7  # raw text had two extra characters before it
    assert realign(text, 11, ["Broncos", "The Broncos"]) == 11  # some gold answer starts there
    assert realign(text, 3, ["nowhere"]) == 3  # nothing to align to: left alone


# ---- figures and report files ---------------------------------------------------------------------------
def _result(qid, answerable=True, hits=(), refused=False, cited_ok=(), f1=0.0, ms=10.0) -> Result:
    item = QAItem(qid, f"question {qid}?", ["gold"] if answerable else [], answerable=answerable)
    return Result(item, {"hybrid": list(hits)}, {"hybrid": ms}, "an answer", refused,
                  [f"a[{i}:{i + 5}]" for i in range(len(cited_ok))], list(cited_ok), float(f1 == 1.0), f1, f1, ms * 3)


def test_summary_figures_and_report_files(tmp_path):
    results = [
        _result("1", hits=[True, False], cited_ok=[True, False], f1=1.0, ms=10),
        _result("2", hits=[False, False, True], cited_ok=[False], f1=0.5, ms=20),
        _result("3", hits=[False] * 10, refused=True, ms=30),  # a false refusal: no citation precision
        _result("4", answerable=False, refused=True, ms=40),
        _result("5", answerable=False, refused=False, cited_ok=[False], ms=50),
    ]
    summary = summarize(results, [1, 5], ["hybrid"], depth=10)
    r, a = summary["retrieval"]["hybrid"], summary["answers"]
    assert (r["hit@1"], r["hit@5"]) == (round(1 / 3, 4), round(2 / 3, 4))
    assert r["mrr@10"] == round((1 + 1 / 3) / 3, 4) and len(r["hit_curve"]) == 10
    assert r["search_ms"] == {"p50": 30.0, "p95": 48.0}
    assert (a["n_answerable"], a["n_unanswerable"], a["n_answered"]) == (3, 2, 2)
    assert a["exact_match"] == round(1 / 3, 4) and a["f1"] == 0.5
    assert a["citation_precision"] == 0.25  # mean of 1/2 and 0/1 over the two answered answerable questions
    assert a["citation_recall"] == round(1 / 3, 4)
    assert a["refusal_rate_unanswerable"] == 0.5 and a["false_refusal_rate"] == round(1 / 3, 4)

    settings = {"qa_file": "qa.jsonl", "questions": 5, "questions_in_file": 9, "sample": 5, "seed": 0, "k": [1, 5],
                "started": "2025-01-01T00:00:00+00:00", "seconds": 1.0,
                "index_manifest": {"articles": 2, "chunks": 3, "model": "m", "encoder": "torch"}}
    report = {"settings": settings, **summary, "warnings": ["2 gold article(s) are not in the index"]}
    text = write_reports(tmp_path / "out", report, results)
    for name in REPORT_FILES:
        assert (tmp_path / "out" / name).stat().st_size > 0, name
    assert json.loads((tmp_path / "out" / "report.json").read_text())["answers"] == a
    assert "| mode | hit@1 | hit@5 | MRR@10 | nDCG@10 | search p50 ms | search p95 ms |" in text
    assert "| hybrid | 0.333 | 0.667 | 0.444 |" in text
    assert "| citation precision (answered) | 0.250 | 2 |" in text
    assert "sample of 5 (seed 0)" in text and "Warning: 2 gold article(s)" in text
    rows = list(csv.DictReader((tmp_path / "out" / "questions.csv").open(encoding="utf-8")))
    assert [row["hit_rank_hybrid"] for row in rows] == ["1", "3", "", "", ""]
    assert rows[0]["cited_supports"] == "1; 0" and rows[3]["refused"] == "1"


def test_markdown_shows_a_dash_for_figures_without_questions():
    results = [_result("1", hits=[True], cited_ok=[True], f1=1.0)]
    report = {"settings": {"qa_file": "q", "questions": 1, "questions_in_file": 1, "sample": None, "seed": None,
                           "k": [1], "started": "t", "seconds": 0.1,
                           "index_manifest": {"articles": 1, "chunks": 1, "model": "m", "encoder": "torch"}},
              **summarize(results, [1], ["hybrid"], depth=10)}
    assert "| refusal rate (unanswerable) | – | 0 |" in markdown(report)
