"""The command line: index, search, ask, remove, stats, check, and user errors as one-line messages."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CARD_QUESTION, ROOT, SEED_ID, copy_index

from assistant import Assistant
from assistant.cli import _print_answer, main
from assistant.index.index import DEFAULT_ENCODER
from assistant.types import Answer

CITATION_FIELDS = {"n", "article_id", "title", "chunk_id", "start", "end", "text", "quote", "quote_start",
                   "quote_end", "score", "date", "source", "answer_start", "answer_end"}
PASSAGE_FIELDS = {"article_id", "title", "chunk_id", "start", "end", "text", "score", "date", "source", "url", "also_in"}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_user_error(code: int, err: str, *needles: str):
    assert code != 0
    assert "Traceback" not in err
    assert err.strip(), "the reason goes to stderr"
    for needle in needles:
        assert needle in err, err


@pytest.fixture
def index_copy(tmp_path, built_index) -> Path:
    return copy_index(built_index, tmp_path / "index")


@pytest.fixture
def articles_dir(tmp_path) -> Path:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "port.txt").write_text("Port reopens after strike\n\nThe port of Piraeus reopened on Friday after "
                                     "ferry crews ended a 48-hour strike over pay.\n", encoding="utf-8")
    (folder / "grain.jsonl").write_text(json.dumps({
        "id": "grain", "title": "Wheat imports rise", "date": "2019-11-05", "source": "Nile Wire",
        "text": "Sudan will import 200,000 tonnes of wheat from Russia, the ministry said on Tuesday."}) + "\n",
        encoding="utf-8")
    return folder


def test_index_stats_search_ask_remove(capsys, tmp_path, articles_dir):
    index = tmp_path / "new-index"
    code, out, err = run(capsys, "index", articles_dir, "--index", index, "--quiet")
    assert code == 0, err
    assert "indexed 2 new, 0 changed, 0 unchanged articles" in out
    assert "index holds 2 articles" in out

    code, out, _ = run(capsys, "index", articles_dir, "--index", index, "--quiet")
    assert code == 0 and "indexed 0 new, 0 changed, 2 unchanged" in out

    code, out, _ = run(capsys, "stats", "--json", "--index", index)
    stats = json.loads(out)
    assert code == 0 and stats["articles"] == 2 and stats["chunks"] >= 2
    assert stats["model"] == "all-MiniLM-L6-v2" and stats["encoder"] == DEFAULT_ENCODER

    code, out, _ = run(capsys, "search", "wheat imports from Russia", "--json", "--index", index)
    hits = json.loads(out)
    assert code == 0 and hits[0]["article_id"] == "grain" and set(hits[0]) == PASSAGE_FIELDS

    code, out, _ = run(capsys, "search", "wheat", "--json", "--index", index, "--source", "Nowhere")
    assert code == 0 and json.loads(out) == []

    code, out, _ = run(capsys, "remove", "grain", "--index", index)
    assert code == 0 and "removed grain" in out
    code, out, _ = run(capsys, "stats", "--json", "--index", index)
    assert json.loads(out)["articles"] == 1

    code, out, err = run(capsys, "remove", "grain", "--index", index)
    assert_user_error(code, err, "no article with id 'grain'")

    code, out, err = run(capsys, "check", "--index", index)
    assert code == 0 and "index OK" in out


def test_search_json(capsys, built_index):
    code, out, err = run(capsys, "search", CARD_QUESTION, "--json", "-k", "3", "--index", built_index)
    assert code == 0, err
    hits = json.loads(out)
    assert len(hits) == 3
    assert hits[0]["article_id"] == SEED_ID and "lacks a military base near Libya" in hits[0]["text"]
    assert all(set(h) == PASSAGE_FIELDS for h in hits)


def test_search_text_output_and_modes(capsys, built_index):
    for mode in ("hybrid", "dense", "bm25"):
        code, out, err = run(capsys, "search", "Gaddafi", "--mode", mode, "--index", built_index)
        assert code == 0, err
        assert out.startswith("1. [")
    code, out, _ = run(capsys, "search", "Gaddafi", "--mode", "bm25", "--index", built_index)
    assert "gaddafi-archive#0" in out.splitlines()[0]


def test_search_filters(capsys, built_index):
    code, out, _ = run(capsys, "search", "Haftar drones", "--json", "-k", "10", "--index", built_index,
                       "--date-from", "2019-12-01", "--date-to", "2019-12-31")
    hits = json.loads(out)
    assert code == 0 and hits and all("2019-12-01" <= h["date"] <= "2019-12-31" for h in hits)


def test_ask_json(capsys, built_index):
    code, out, err = run(capsys, "ask", CARD_QUESTION, "--json", "--index", built_index)
    assert code == 0, err
    ans = json.loads(out)
    assert {"answer", "refused", "citations"} <= set(ans)
    assert ans["refused"] is False
    assert "lacks a military base near Libya" in ans["answer"]
    assert ans["citations"] and all(set(c) >= CITATION_FIELDS for c in ans["citations"])
    c = ans["citations"][0]
    assert c["quote"] in c["text"] and "[1]" in ans["answer"]


def test_ask_text_output(capsys, built_index):
    code, out, _ = run(capsys, "ask", "Who gave Haftar his drones?", "--index", built_index)
    assert code == 0
    assert "its ally the United Arab Emirates" in out and "[1]" in out
    assert "  [1] " in out and SEED_ID in out and "chars " in out


def test_ask_refusal_json(capsys, built_index):
    code, out, _ = run(capsys, "ask", "What is the capital of Peru?", "--json", "--index", built_index)
    ans = json.loads(out)
    assert code == 0 and ans["refused"] is True and ans["citations"] == []


@pytest.mark.parametrize("argv, needles", [
    (["ask", "   "], ["error:", "The question is empty"]),
    (["search", ""], ["error:", "The question is empty"]),
    (["search", "Haftar", "--date-from", "not-a-date"], ["error:", "invalid date"]),
    (["ask", "x" * 5000], ["error:", "keep it under"]),
])
def test_user_errors_on_a_built_index(capsys, built_index, argv, needles):
    code, out, err = run(capsys, *argv, "--index", built_index)
    assert_user_error(code, err, *needles)


def test_argparse_errors_exit_2_without_traceback(capsys, built_index):
    with pytest.raises(SystemExit) as info:
        main(["search", "Haftar", "--mode", "semantic", "--index", str(built_index)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2


def test_index_missing_path(capsys, tmp_path):
    code, out, err = run(capsys, "index", tmp_path / "no-such-folder", "--index", tmp_path / "idx", "--quiet")
    assert_user_error(code, err, "no such file or folder")


def test_index_reports_bad_files_and_keeps_good_ones(capsys, tmp_path, articles_dir):
    (articles_dir / "empty.txt").write_text("")
    (articles_dir / "broken.jsonl").write_text('{"id": "ok", "text": "fine"}\n{oops\n')
    code, out, err = run(capsys, "index", articles_dir, "--index", tmp_path / "idx", "--quiet")
    assert_user_error(code, err, "empty.txt: the file is empty", "broken.jsonl:2: invalid JSON")
    assert code == 1
    assert "indexed 3 new" in out  # the good row of broken.jsonl too


def test_index_with_another_encoder_names_the_fix(capsys, index_copy, articles_dir):
    code, out, err = run(capsys, "index", articles_dir, "--encoder", "onnx", "--index", index_copy, "--quiet")
    assert_user_error(code, err, "encoder", "--rebuild")


def test_rebuild(capsys, index_copy, articles_dir):
    code, out, err = run(capsys, "index", articles_dir, "--rebuild", "--index", index_copy, "--quiet")
    assert code == 0, err
    assert "index holds 2 articles" in out


def test_remove_on_a_copy(capsys, index_copy):
    code, out, _ = run(capsys, "remove", "greek-ferries", "--index", index_copy)
    assert code == 0
    code, out, _ = run(capsys, "stats", "--json", "--index", index_copy)
    stats = json.loads(out)
    assert stats["articles"] == 4
    code, out, _ = run(capsys, "check", "--index", index_copy)
    assert code == 0


def test_stats_text(capsys, built_index):
    code, out, _ = run(capsys, "stats", "--index", built_index)
    assert code == 0 and "articles: 5" in out and "chunks: " in out


def test_python_m_assistant_stats_subprocess(built_index):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "assistant", "stats", "--json", "--index", str(built_index)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    stats = json.loads(proc.stdout)
    assert stats["articles"] == 5 and stats["chunks"] >= 7
    assert "Traceback" not in proc.stderr


def test_reading_commands_need_an_existing_index(capsys, tmp_path):
    missing = tmp_path / "nowhere"
    for argv in (["search", "Haftar"], ["ask", "Who?"], ["stats"], ["remove", "x"]):
        code, out, err = run(capsys, *argv, "--index", missing)
        assert_user_error(code, err, "no index at")
    assert not missing.exists(), "a typo in --index does not create an empty index"


def test_chat_answers_a_question_and_its_follow_up_then_exits(capsys, monkeypatch, built_index):
    """The follow-up is asked with the first turn as its history; an empty line, or the end of input, quits."""
    asked: list[tuple[str, list]] = []
    real_ask = Assistant.ask

    def ask(self, question, history=None, **kwargs):
        asked.append((question, list(history or [])))
        return real_ask(self, question, history, **kwargs)

    monkeypatch.setattr(Assistant, "ask", ask)
    first, follow_up = "Who gave Haftar his drones?", "And who sends him mercenaries?"
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{first}\n{follow_up}\n\nWhat is the capital of Peru?\n"))
    code, out, err = run(capsys, "chat", "--index", built_index)
    assert code == 0, err
    intro, answer, answer_2, after_blank = out.split("> ")
    assert intro.startswith("Ask about the articles") and after_blank == ""  # the empty line ended it
    text, cited = answer.split("\n  [1] ", 1)  # the answer with its markers, then one line per citation
    assert "United Arab Emirates" in text and "[1]" in text and SEED_ID in cited
    text, cited = answer_2.split("\n  [1] ", 1)
    assert "Wagner" in text and "[1]" in text and SEED_ID in cited
    assert [q for q, _ in asked] == [first, follow_up]  # nothing after the empty line
    assert asked[1][1][0] == {"role": "user", "content": first}
    assert asked[1][1][1]["role"] == "assistant" and asked[1][1][1]["content"] in answer

    monkeypatch.setattr("sys.stdin", io.StringIO(first))  # Ctrl-D (end of input) ends it too
    code, out, err = run(capsys, "chat", "--index", built_index)
    assert code == 0 and out.count("United Arab Emirates") >= 1 and out.endswith("> ")


def test_an_unexpected_error_exits_3_naming_it_a_bug(capsys, monkeypatch, built_index):
    """Exit 2 is a user's mistake (`error: ...`); 3 is a bug: one line saying so, the traceback in the log."""
    def broken(self):
        raise RuntimeError("stats table on fire")

    monkeypatch.setattr(Assistant, "stats", broken)
    code, out, err = run(capsys, "stats", "--index", built_index)
    assert code == 3 and out == ""
    assert err.splitlines()[-1] == ("error: unexpected RuntimeError: stats table on fire (a bug; please report it "
                                    "with the log above)")
    assert "Traceback" in err and "RuntimeError: stats table on fire" in err


# ---- broken Unicode ------------------------------------------------------------------------------
def _cli(*args: str | bytes, stdin: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The real command in a child, so argv and stdin arrive as bytes, as a terminal sends them."""
    argv = [os.fsencode(sys.executable), b"-m", b"assistant", *(a if isinstance(a, bytes) else os.fsencode(a) for a in args)]
    return subprocess.run(argv, input=stdin, capture_output=True, cwd=cwd or ROOT, timeout=300)


def test_ask_with_invalid_utf8_argument_is_a_user_error(index_copy):
    proc = _cli(b"ask", b"cocoa \x80 prices", b"--index", os.fsencode(index_copy))
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2, err
    assert "broken characters" in err and "Traceback" not in err


def test_chat_survives_a_line_of_broken_bytes(index_copy):
    lines = b"cocoa \x80 prices\n" + CARD_QUESTION.encode() + b"\n"
    proc = _cli(b"chat", b"--index", os.fsencode(index_copy), stdin=lines)
    out = proc.stdout.decode("utf-8", "replace")
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")[-2000:]
    assert "error: The question holds broken characters" in out
    assert "military base" in out  # the next question is still answered


def test_a_short_answer_across_a_line_break_prints_on_one_line(capsys):
    """Wire copy breaks lines inside sentences; the short answer keeps the article's exact characters (its offsets
    hold), the terminal shows it as the quotes are shown."""
    _print_answer(Answer("A group of banks hopes to work out a rescue package. [1]", short="work\nout a rescue package"),
                  as_json=False)
    assert capsys.readouterr().out.splitlines()[0] == "Short answer: work out a rescue package"
