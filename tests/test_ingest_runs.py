"""What one `assistant index` run reads (issue items 5, 10, 11): ids unique within a run, duplicates and bad rows
skipped with a message naming them, skipped files counted by reason, over-long articles refused per item."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import SEED_ID, SEEDS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant import Assistant, InputError
from assistant.cli import main
from assistant.ingest import loaders
from assistant.ingest.loaders import load_paths, load_report


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# ---- 5. ids -------------------------------------------------------------------------------------------------
def test_same_file_name_in_two_subfolders_gives_two_articles(tmp_path):
    write(tmp_path / "a" / "story.txt", "Story A\n\nFirst body.")
    write(tmp_path / "b" / "story.txt", "Story B\n\nSecond body.")
    write(tmp_path / "top.txt", "Top\n\nA body.")
    arts, errors = load_paths([tmp_path])
    assert errors == [] and [a.id for a in arts] == ["a/story", "b/story", "top"]
    assert [a.id for a in load_paths([tmp_path / "a" / "story.txt"])[0]] == ["story"]  # named directly: its stem


def test_seed_ids_are_unchanged():
    assert SEED_ID in [a.id for a in load_paths([SEEDS])[0]]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(folders=st.lists(st.text("abcxyz_-0", min_size=1, max_size=6), min_size=1, max_size=6, unique=True),
       nested=st.booleans())
def test_a_scraped_tree_of_index_html_loads_every_page(tmp_path_factory, folders, nested):
    root = tmp_path_factory.mktemp("scrape")
    for name in folders:
        where = root / name / "deep" if nested else root / name
        write(where / "index.html", f"<html><body><h1>Page {name}</h1><p>Body of {name}.</p></body></html>")
    loaded = load_report([root])
    assert loaded.errors == [] and loaded.warnings == []
    ids = [a.id for a in loaded.articles]
    assert len(set(ids)) == len(folders)
    assert sorted(ids) == sorted(f"{n}/deep/index" if nested else f"{n}/index" for n in folders)


def test_a_true_duplicate_is_skipped_with_a_warning_naming_both_sources(tmp_path):
    rows = [{"id": "x", "text": "First."}, {"id": "y", "text": "Other."}, {"id": "x", "text": "Second."}]
    f = write(tmp_path / "rows.jsonl", "\n".join(json.dumps(r) for r in rows))
    write(tmp_path / "x.txt", "Title\n\nThe text file x.")
    loaded = load_report([tmp_path])
    assert [(a.id, a.text) for a in loaded.articles] == [("x", "First."), ("y", "Other.")]
    assert loaded.errors == [] and len(loaded.warnings) == 2
    assert f"{f}:3: duplicate id 'x' (already read from {f}:1); skipped this one" in loaded.warnings[0]
    assert f"{tmp_path / 'x.txt'}: duplicate id 'x' (already read from {f}:1)" in loaded.warnings[1]
    assert "give one of them another id" in loaded.warnings[1]


def test_a_nul_in_one_jsonl_id_is_an_error_for_that_line_only(tmp_path):
    rows = [{"id": "good", "text": "Fine."}, {"id": "bad\x00id", "text": "Nul."}, {"id": "also", "text": "Fine too."}]
    f = write(tmp_path / "rows.jsonl", "\n".join(json.dumps(r) for r in rows))
    arts, errors = load_paths([f])
    assert [a.id for a in arts] == ["good", "also"]
    assert errors == [f"{f}:2: the id contains a NUL character"]


# ---- 10. silent empty runs ------------------------------------------------------------------------------------
@pytest.mark.parametrize("make, words", [
    (lambda d: None, ["no article files found"]),
    (lambda d: [write(d / n, "x") for n in ("a.pdf", "b.doc", "c.png", "d.xls")], ["4 unsupported file type (", "a.pdf", "…"]),
    (lambda d: os.symlink("loop", d / "loop"), ["1 broken or looping symlink", "loop"]),
    (lambda d: write(d / ".hidden.txt", "Title\n\nBody."), ["1 hidden", ".hidden.txt"]),
])
def test_nothing_readable_says_what_was_skipped_and_fails(capsys, tmp_path, make, words):
    folder = tmp_path / "in"
    folder.mkdir()
    make(folder)
    code, out, err = run(capsys, "index", folder, "--index", tmp_path / "idx", "--quiet")
    assert code == 2 and "indexed 0 new" not in out
    assert f"error: nothing to index in {folder}" in err and "Traceback" not in err
    for w in words:
        assert w in err, err
    with pytest.raises(InputError, match="nothing to index"):
        Assistant.open(tmp_path / "api").add_path(folder)


def test_skipped_files_are_noted_beside_a_good_run(tmp_path):
    write(tmp_path / "a.txt", "Title\n\nBody.")
    write(tmp_path / "b.pdf", "x")
    loaded = load_report([tmp_path])
    assert [a.id for a in loaded.articles] == ["a"] and loaded.found.summary() == f"1 unsupported file type ({tmp_path / 'b.pdf'})"


# ---- 11. long articles ---------------------------------------------------------------------------------------
def test_an_article_over_max_article_chars_is_refused_and_the_others_indexed(capsys, tmp_path, monkeypatch):
    assert 0 < loaders.MAX_ARTICLE_CHARS < 10**8  # generous but finite by default
    folder = tmp_path / "in"
    write(folder / "long.txt", "Long one\n\n" + "word " * 1000)
    write(folder / "short.txt", "Short one\n\nA short article about grain prices in Sudan.")
    monkeypatch.setattr(loaders, "WARN_ARTICLE_CHARS", 30)
    code, out, err = run(capsys, "index", folder, "--index", tmp_path / "idx", "--quiet", "--max-article-chars", 1000)
    assert code == 1 and "indexed 1 new" in out
    assert f"error: {folder / 'long.txt'}: the article is 4,999 characters long, over the limit of 1,000" in err
    assert "--max-article-chars" in err
    assert f"warning: {folder / 'short.txt'}: a long article" in err
