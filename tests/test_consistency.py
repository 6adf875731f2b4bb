"""Hand edits of the SQL rows (issue item 8): `check` names each problem with its fix, writes refuse an index that
fails the cheap checks, and a non-numeric generation is a message, never a traceback."""
from __future__ import annotations

import shutil
import sqlite3

import pytest
from conftest import SEED_ID, copy_index
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant import Assistant
from assistant.cli import main
from assistant.errors import IndexDamagedError


def delete_chunks(db: sqlite3.Connection, n: int) -> None:
    db.execute("DELETE FROM chunks WHERE id IN (SELECT id FROM chunks ORDER BY id LIMIT ?)", (n,))


def delete_article(db: sqlite3.Connection, n: int) -> None:  # the sqlite3 shell: foreign keys off, chunks stay
    db.execute("DELETE FROM articles WHERE id = (SELECT id FROM articles ORDER BY id LIMIT 1 OFFSET ?)", (n % 5,))


def edit_text(db: sqlite3.Connection, n: int) -> None:
    db.execute("UPDATE articles SET text = substr(text, ?) WHERE id = ?", (n + 2, SEED_ID))


EDITS = {"delete_chunks": delete_chunks, "delete_article": delete_article, "edit_text": edit_text}


@pytest.fixture(scope="module")
def template(built_index, tmp_path_factory):
    return copy_index(built_index, tmp_path_factory.mktemp("consistency") / "index")


def edited(template, folder, edit, n):
    path = folder / "index"
    shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(template, path)
    db = sqlite3.connect(path / "index.sqlite")
    EDITS[edit](db, n) if edit in EDITS else db.execute("UPDATE meta SET value = ? WHERE key = 'generation'", (edit,))
    db.commit()
    db.close()
    return path


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(edit=st.one_of(st.sampled_from(sorted(EDITS)), st.text(min_size=1, max_size=12).filter(
    lambda s: not s.strip().lstrip("+-").isdigit() and "\x00" not in s)), n=st.integers(1, 4))
def test_check_gives_the_fix_and_writes_refuse(template, tmp_path, capsys, edit, n):
    path = edited(template, tmp_path, edit, n)
    code = main(["check", "--index", str(path)])
    out, err = capsys.readouterr()
    problems = [line for line in err.splitlines() if line.startswith("problem: ")]
    assert code == 1 and problems and "Traceback" not in err
    for line in problems:
        assert f"assistant index --rebuild --index {path} PATH" in line, line
    if edit == "edit_text":  # not a cheap check: found by `check` only
        return
    before = ids(path)
    with pytest.raises(IndexDamagedError, match=r"rebuild it: assistant index --rebuild"):
        a = Assistant.open(path)
        try:
            a.remove(SEED_ID)
        finally:
            a.close()
    code = main(["remove", SEED_ID, "--index", str(path)])
    out, err = capsys.readouterr()
    assert code == 2 and "rebuild" in err and "Traceback" not in err
    assert ids(path) == before  # nothing was written


def ids(path) -> set[str]:
    with sqlite3.connect(path / "index.sqlite") as db:
        return {r[0] for r in db.execute("SELECT id FROM articles")}
