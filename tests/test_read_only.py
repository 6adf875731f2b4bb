"""A read-only index (issue item 7): searched through SQLite's read-only modes, never reported as damage; a write
says "read-only". The folder is made read-only for real with a read-only bind mount in a private mount namespace
(`unshare --mount`, root only: chmod does not stop root); without it, `os.access` is patched."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, SEED_ID, copy_index

from assistant import Assistant
from assistant.errors import IndexReadOnlyError

CAN_UNSHARE = (os.geteuid() == 0 and shutil.which("unshare") is not None
               and subprocess.run(["unshare", "--mount", "true"], capture_output=True).returncode == 0)

SCRIPT = """
set -e
mount --bind "$DIR" "$DIR"
mount -o remount,ro,bind "$DIR"
run() { echo "== $*"; "$PY" -m assistant "$@" --index "$DIR" 2>&1; echo "rc=$?"; }
set +e
run check
run search "Turkey combat aircraft" --mode bm25 --json
run ask "Why won't Turkey send combat aircraft?" --json
run remove "$SEED"
run index "$SEEDS" --quiet
run index "$SEEDS" --quiet --rebuild
"""


def sections(out: str) -> dict[str, tuple[str, int]]:
    parts = {}
    for block in out.split("== ")[1:]:
        head, _, rest = block.partition("\n")
        body, _, code = rest.rpartition("rc=")
        parts[head.split()[0] + (" --rebuild" if "--rebuild" in head else "")] = (body, int(code))
    return parts


@pytest.mark.skipif(not CAN_UNSHARE, reason="needs root and unshare --mount")
def test_a_read_only_mount_is_searched_and_writes_say_read_only(built_index, tmp_path):
    folder = copy_index(built_index, tmp_path / "index")
    before = sorted(p.name for p in folder.iterdir())
    proc = subprocess.run(["unshare", "--mount", "sh", "-c", SCRIPT], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "DIR": str(folder), "PY": sys.executable,
                               "SEED": SEED_ID, "SEEDS": str(ROOT / "seeds")})
    assert proc.returncode == 0, proc.stderr
    out = sections(proc.stdout)
    assert out["check"][1] == 0 and "index OK" in out["check"][0], out["check"]
    assert out["search"][1] == 0 and json.loads(out["search"][0])[0]["article_id"] == SEED_ID
    assert out["ask"][1] == 0 and json.loads(out["ask"][0])["citations"], out["ask"]
    for command in ("remove", "index", "index --rebuild"):
        text, code = out[command]
        assert code == 2 and "is read-only" in text and "Traceback" not in text, (command, text)
        assert "damaged" not in text and "rebuild it" not in text
    assert sorted(p.name for p in folder.iterdir()) == before  # nothing written, not even -wal/-shm files


def test_an_unwritable_folder_opens_read_only(built_index, tmp_path, monkeypatch):
    folder = copy_index(built_index, tmp_path / "index")
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, *a, **k: False if mode & os.W_OK else real(p, mode, *a, **k))
    a = Assistant.open(folder)
    try:
        assert a.index.read_only and a.search("Turkey combat aircraft", mode="bm25")[0].article_id == SEED_ID
        with pytest.raises(IndexReadOnlyError, match=rf"the index at {folder} is read-only"):
            a.remove(SEED_ID)
        assert a.article(SEED_ID) is not None
    finally:
        a.close()


def test_no_index_in_a_read_only_folder_is_said_plainly(tmp_path, monkeypatch):
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, *a, **k: False if mode & os.W_OK else real(p, mode, *a, **k))
    with pytest.raises(IndexReadOnlyError, match=rf"cannot create an index in {tmp_path}: the folder is read-only"):
        Assistant.open(tmp_path)
