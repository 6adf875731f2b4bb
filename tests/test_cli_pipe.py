"""`assistant search ... --json | head -1` (issue item 9): a closed stdout ends the command quietly, like Unix tools."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ROOT


@pytest.mark.parametrize("args", [["search", "Turkey aircraft", "--mode", "bm25", "--json"], ["stats", "--json"]])
def test_closed_stdout_exits_quietly(built_index, args):
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first byte: every write fails with EPIPE
    try:
        proc = subprocess.run([sys.executable, "-m", "assistant", *args, "--index", str(built_index)],
                              stdout=write, stderr=subprocess.PIPE, text=True, timeout=120,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    finally:
        os.close(write)
    assert proc.returncode in (0, 141), proc.stderr
    assert proc.stderr == ""
