"""Silent FAISS corruption (issue item 4): checksums committed with each generation; `open` compares sizes, a
sampled hash and the vectors' norms, `check` the full hashes; indexes without checksums still open."""
from __future__ import annotations

import json
import shutil
import sqlite3

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant import Article
from assistant.cli import main
from assistant.errors import IndexDamagedError
from assistant.index import checksums
from assistant.index.index import Index
from assistant.ingest.prepare import Prepared, content_hash
from assistant.types import Chunk

N = 300  # 300 vectors of 384 floats: a 460 KB FAISS file


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """An index of N one-chunk articles with random unit vectors (no encoder needed), written the normal way."""
    path = tmp_path_factory.mktemp("sums") / "index"
    index = Index(path)
    arts = [Article(f"a{i}", f"Title {i}", f"Article number {i} about topic {i % 7}.") for i in range(N)]
    vecs = np.random.default_rng(0).standard_normal((N, index.dim)).astype("float32")
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    chunks = [Chunk(a.id, 0, 0, len(a.text), a.text) for a in arts]
    with index.writing():
        index.write(Prepared(arts, [content_hash(a) for a in arts], chunks, vecs, [((0, len(a.text)),) for a in arts]),
                    set())
    index.close()
    return path


def fresh(big, tmp_path):
    shutil.rmtree(tmp_path / "index", ignore_errors=True)
    return shutil.copytree(big, tmp_path / "index")


def overwrite(path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(data)


def assert_refused_with_the_fix(path, capsys):
    with pytest.raises(IndexDamagedError, match=r"damaged.*assistant index --rebuild --index"):
        Index(path)
    assert main(["check", "--index", str(path)]) == 1
    err = capsys.readouterr().err
    assert "problem: " in err and "rebuild" in err and "Traceback" not in err


def test_an_intact_index_opens_and_checks_clean(big, tmp_path, capsys):
    path = fresh(big, tmp_path)
    stored = json.loads(sqlite3.connect(path / "index.sqlite").execute(
        "SELECT value FROM meta WHERE key = 'manifest'").fetchone()[0])
    assert set(stored["files"]) >= {"vectors-000001.faiss", "vectors-000001.ids.npy"}
    Index(path).close()
    assert main(["check", "--index", str(path)]) == 0
    assert "cannot be verified" not in capsys.readouterr().err


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(where=st.floats(0, 1), seed=st.integers(0, 2**32 - 1))
def test_200_kb_overwritten_inside_the_vectors_is_refused_on_open(big, tmp_path, capsys, monkeypatch, where, seed):
    monkeypatch.setattr(checksums, "FULL_BELOW", 0)  # the sampled hash and norms, as for a large index
    path = fresh(big, tmp_path)
    faiss_file = path / "vectors-000001.faiss"
    size = faiss_file.stat().st_size
    length = 200_000
    offset = 100 + int(where * (size - length - 200))  # inside the vectors, past the header
    overwrite(faiss_file, offset, np.random.default_rng(seed).bytes(length))
    assert faiss_file.stat().st_size == size
    assert_refused_with_the_fix(path, capsys)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(which=st.integers(0, 100), where=st.floats(0, 1), data=st.binary(min_size=1, max_size=64))
def test_any_changed_byte_in_any_generation_file_is_found(big, tmp_path, capsys, which, where, data):
    path = fresh(big, tmp_path)
    names = checksums.generation_files(path, 1)
    target = names[which % len(names)]
    size = target.stat().st_size
    offset = int(where * max(size - len(data), 0))
    old = target.read_bytes()[offset:offset + len(data)]
    data = data[:len(old)]
    if data == old:
        data = bytes(b ^ 0xFF for b in old)
    overwrite(target, offset, data)
    assert_refused_with_the_fix(path, capsys)


def test_an_index_without_checksums_opens_and_check_says_it_cannot_verify(big, tmp_path, capsys):
    path = fresh(big, tmp_path)
    with sqlite3.connect(path / "index.sqlite") as db:
        stored = json.loads(db.execute("SELECT value FROM meta WHERE key = 'manifest'").fetchone()[0])
        del stored["files"]
        db.execute("UPDATE meta SET value = ? WHERE key = 'manifest'", (json.dumps(stored),))
    Index(path).close()
    assert main(["check", "--index", str(path)]) == 0
    assert "cannot be verified" in capsys.readouterr().err
