"""The index: idempotent adds, replacement, removal, reopening, build-setting checks and the manifest."""
from __future__ import annotations

import dataclasses
import json
import shutil
import sqlite3

import numpy as np
import pytest
from conftest import CARD_QUESTION, SEED_ID, copy_index

from assistant import Assistant, IndexMismatchError, InputError
from assistant.encoders import MODEL_NAME
from assistant.index import files
from assistant.index import manifest as mf
from assistant.index import vectors as vectors_module
from assistant.index.check import check
from assistant.index.index import DEFAULT_ENCODER, Index
from assistant.index.lexical import Lexical
from assistant.index.vectors import Vectors
from assistant.ingest.chunking import ChunkSettings, chunk_article


def faiss_and_sqlite(a: Assistant) -> tuple[int, int]:
    snap = a.index.refresh()
    return snap.vectors.index.ntotal, a.index.store.counts()["chunks"]


def chunk_rows(a: Assistant, article_id: str) -> list[tuple]:
    return a.index.store.query("SELECT idx, start, end, text FROM chunks WHERE article_id = ? ORDER BY idx", (article_id,))


def test_built_index_is_consistent(assistant, corpus):
    assert check(assistant.index) == []
    counts = assistant.index.store.counts()
    assert counts["articles"] == len(corpus)
    assert counts["chunks"] == sum(len(chunk_article(a)) for a in corpus)
    assert faiss_and_sqlite(assistant) == (counts["chunks"], counts["chunks"])
    for article in corpus:
        stored = assistant.article(article.id)
        assert stored == article
        for _idx, start, end, text in chunk_rows(assistant, article.id):
            assert article.text[start:end] == text


def test_re_adding_the_same_articles_is_a_no_op(writable, corpus):
    gen = writable.index.generation_on_disk()
    files = sorted(p.name for p in writable.path.iterdir() if p.name != "write.lock")
    result = writable.add(corpus)
    assert (result.added, result.updated, result.unchanged, result.chunks) == (0, 0, len(corpus), 0)
    assert writable.index.generation_on_disk() == gen
    assert sorted(p.name for p in writable.path.iterdir() if p.name != "write.lock") == files
    assert writable.add([]).unchanged == 0


def test_adding_a_new_article_publishes_a_generation(writable, seed_article):
    gen = writable.index.generation_on_disk()
    new = dataclasses.replace(seed_article, id="copy", title="A copy")
    result = writable.add([new, seed_article])
    assert (result.added, result.updated, result.unchanged) == (1, 0, 1)
    assert result.chunks == len(chunk_article(new))
    assert writable.index.generation_on_disk() == gen + 1
    assert check(writable.index) == []
    # files of the previous generation are cleaned up
    assert not any(p.name.startswith(("vectors-", "bm25-")) and f"{gen:06d}" in p.name for p in writable.path.iterdir())


def test_a_changed_article_replaces_its_chunks(writable, distractors):
    old = next(a for a in distractors if a.id == "greek-ferries")
    old_chunks = chunk_rows(writable, old.id)
    changed = dataclasses.replace(old, text="Ferry crews ended their strike on Wednesday after a pay deal with the shipping ministry.")
    result = writable.add([changed])
    assert (result.added, result.updated, result.unchanged) == (0, 1, 0)
    rows = chunk_rows(writable, old.id)
    assert rows != old_chunks and len(rows) == 1
    assert rows[0][3] == changed.text
    assert writable.article(old.id).text == changed.text
    assert check(writable.index) == []
    hits = writable.search("ferry crews pay deal ended strike", k=3, mode="bm25")
    assert hits[0].article_id == old.id and "pay deal" in hits[0].text
    assert not any("stranded in Piraeus" in p.text for p in writable.search("tourists stranded in Piraeus", k=10))
    # metadata-only changes count as changes too
    assert writable.add([dataclasses.replace(changed, source="Other Desk")]).updated == 1
    assert writable.article(old.id).source == "Other Desk"


def test_remove_deletes_chunks_and_vectors(writable, corpus):
    before = writable.index.store.counts()
    n = len(chunk_rows(writable, "greek-ferries"))
    assert writable.remove("greek-ferries") is True
    after = writable.index.store.counts()
    assert after == {"articles": before["articles"] - 1, "chunks": before["chunks"] - n}
    assert faiss_and_sqlite(writable) == (after["chunks"], after["chunks"])
    assert len(writable.index.snapshot.lexical.ids) == after["chunks"]
    assert check(writable.index) == []
    assert writable.article("greek-ferries") is None
    assert all(p.article_id != "greek-ferries" for p in writable.search("ferry strike tourists stranded", k=10))
    assert writable.remove("greek-ferries") is False
    assert writable.remove("no-such-article") is False
    stats = writable.stats()
    assert (stats["articles"], stats["chunks"]) == (after["articles"], after["chunks"])


def test_remove_everything_then_add_again(writable, corpus):
    assert writable.index.remove([a.id for a in corpus]) == len(corpus)
    assert writable.index.store.counts() == {"articles": 0, "chunks": 0}
    assert faiss_and_sqlite(writable) == (0, 0)
    assert check(writable.index) == []
    assert writable.search(CARD_QUESTION) == []
    assert writable.ask(CARD_QUESTION).refused
    assert writable.add(corpus).added == len(corpus)
    assert check(writable.index) == []
    assert "lacks a military base near Libya" in writable.search(CARD_QUESTION)[0].text


def test_reopen_gives_identical_results(writable):
    queries = [CARD_QUESTION, "Hifter drones", "Qaddafi archive", "ferry strike"]
    writable.remove("greek-ferries")  # a state that differs from the first generation
    first = {q: [p.to_dict() for p in writable.search(q, k=5)] for q in queries}
    answer = writable.ask(CARD_QUESTION).to_dict()
    generation = writable.index.snapshot.generation
    writable.close()
    again = Assistant.open(writable.path)
    try:
        assert again.index.snapshot.generation == generation
        for q in queries:
            assert [p.to_dict() for p in again.search(q, k=5)] == first[q]
        assert again.ask(CARD_QUESTION).to_dict() == answer
        assert check(again.index) == []
    finally:
        again.close()
    writable.index = Assistant.open(writable.path).index  # the fixture closes it at teardown


def test_writes_are_seen_by_another_open_instance(writable, seed_article):
    reader = Assistant.open(writable.path)
    try:
        writable.add([dataclasses.replace(seed_article, id="fresh", title="Fresh copy")])
        assert reader.index.refresh().generation == writable.index.snapshot.generation
        assert reader.article("fresh") is not None
        assert check(reader.index) == []
    finally:
        reader.close()


@pytest.mark.parametrize("kwargs, what", [
    ({"encoder": "onnx"}, "encoder"),
    ({"encoder": "torch"}, "encoder"),
    ({"chunking": ChunkSettings(size=100, overlap=20)}, "chunking"),
    ({"chunking": ChunkSettings(title_prefix=False)}, "chunking"),
])
def test_opening_with_other_build_settings_is_refused(built_index, kwargs, what):
    with pytest.raises(IndexMismatchError) as info:
        Assistant.open(built_index, **kwargs)
    message = str(info.value)
    assert what in message and str(built_index) in message
    assert "--rebuild" in message and "without overriding" in message


def test_opening_with_the_same_settings_is_fine(built_index):
    a = Assistant.open(built_index, encoder=DEFAULT_ENCODER, chunking=ChunkSettings())
    assert a.stats()["encoder"] == DEFAULT_ENCODER == "onnx-int8"
    a.close()


def test_duplicate_ids_in_one_batch_index_nothing(writable, seed_article, distractors):
    before = writable.index.store.counts()
    gen = writable.index.generation_on_disk()
    batch = [dataclasses.replace(seed_article, id="dup"), distractors[0], dataclasses.replace(distractors[1], id="dup"),
             dataclasses.replace(seed_article, id="new-one")]
    with pytest.raises(InputError, match="duplicate article ids in one batch: dup"):
        writable.add(batch)
    assert writable.index.store.counts() == before
    assert writable.index.generation_on_disk() == gen
    assert writable.article("new-one") is None


def test_manifest_json(assistant, built_index, corpus):
    manifest = json.loads((built_index / "manifest.json").read_text())
    counts = assistant.index.store.counts()
    assert manifest == assistant.stats()
    assert manifest["model"] == MODEL_NAME == "all-MiniLM-L6-v2"
    assert manifest["encoder"] == DEFAULT_ENCODER
    assert manifest["dim"] == 384
    assert manifest["chunking"] == {"size": 200, "overlap": 40, "title_prefix": True}
    assert manifest["index_type"] == "flat"
    assert manifest["articles"] == counts["articles"] == len(corpus)
    assert manifest["chunks"] == counts["chunks"]
    assert manifest["generation"] == assistant.index.generation_on_disk() >= 1
    assert manifest["format_version"] == mf.FORMAT_VERSION


def test_manifest_follows_writes(writable):
    writable.remove(SEED_ID)
    manifest = json.loads((writable.path / "manifest.json").read_text())
    assert manifest == writable.stats()
    assert manifest["articles"] == writable.index.store.counts()["articles"]


def test_new_index_with_custom_settings(tmp_path, distractors):
    settings = ChunkSettings(size=64, overlap=16)
    a = Assistant.open(tmp_path / "small", chunking=settings)
    try:
        a.add(distractors)
        assert a.stats()["chunking"] == settings.to_dict()
        assert check(a.index) == []
        assert a.stats()["chunks"] > len(distractors)
    finally:
        a.close()
    reopened = Assistant.open(tmp_path / "small")  # settings come from the index
    assert reopened.index.settings == settings
    reopened.close()
    with pytest.raises(IndexMismatchError):
        Assistant.open(tmp_path / "small", chunking=ChunkSettings())


def test_empty_index(tmp_path):
    a = Assistant.open(tmp_path / "empty")
    try:
        assert a.stats()["articles"] == 0 and a.stats()["generation"] == 0
        assert a.search("anything") == []
        assert a.ask("Who leads Libya?").refused
        assert check(a.index) == []
    finally:
        a.close()


def test_add_path_strict_and_lenient(writable, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "good.txt").write_text("Good headline\n\nThe port reopened on Monday.", encoding="utf-8")
    (folder / "bad.txt").write_bytes(b"")
    with pytest.raises(InputError, match="bad.txt: the file is empty"):
        writable.add_path(folder)
    assert writable.article("good") is None
    result = writable.add_path(folder, strict=False)
    assert result.added == 1 and writable.article("good").title == "Good headline"


# --- FAISS vectors, including the approximate (HNSW) kind used for large indexes ------------------
def _random_unit(n: int, dim: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype("float32")
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize("threshold, kind", [(10_000, "flat"), (50, "hnsw")])
def test_vectors_update_save_load(tmp_path, monkeypatch, threshold, kind):
    monkeypatch.setattr(vectors_module, "APPROX_THRESHOLD", threshold)
    dim = 16
    vecs = _random_unit(120, dim, 0)
    v = Vectors(dim).updated(vecs[:100], np.arange(100, dtype="int64"), set())
    assert v.kind == kind and len(v) == 100
    hits = v.search(vecs[7], 3)
    assert hits[0][0] == 7 and hits[0][1] == pytest.approx(1.0, abs=1e-5)
    v2 = v.updated(vecs[100:], np.arange(100, 120, dtype="int64"), {3, 7, 11})
    assert len(v2) == 117 and v2.index.ntotal == 117 and len(v) == 100, "the old state stays intact"
    assert {3, 7, 11}.isdisjoint(v2.ids.tolist())
    assert v2.search(vecs[110], 1)[0][0] == 110
    assert v2.search(vecs[7], 5)[0][0] != 7
    path = tmp_path / "v.faiss"
    v2.save(path)
    loaded = Vectors.load(path, dim)
    assert loaded.kind == kind
    np.testing.assert_array_equal(loaded.ids, v2.ids)
    np.testing.assert_allclose(loaded.vecs, v2.vecs)
    for q in (vecs[0], vecs[50], vecs[119]):
        assert loaded.search(q, 5) == v2.search(q, 5)
    rows = np.array([0, 5, 9])
    np.testing.assert_allclose(loaded.scores_for(vecs[0], rows), v2.vecs[rows] @ vecs[0], rtol=1e-6)
    with pytest.raises(ValueError):
        Vectors.load(path, dim + 1)


def test_index_files_on_disk(built_index):
    names = {p.name for p in built_index.iterdir()}
    assert {"index.sqlite", "manifest.json"} <= names
    assert len([n for n in names if n.startswith("vectors-") and n.endswith(".faiss")]) == 1
    assert len([n for n in names if n.startswith("bm25-")]) == 1


def test_discard_removes_only_index_files(tmp_path, built_index):
    from assistant.index import discard

    target = tmp_path / "idx"
    shutil.copytree(built_index, target)
    (target / "notes.txt").write_text("mine")
    discard(target)
    assert not any(p.name.startswith(("vectors-", "bm25-", "manifest")) for p in target.iterdir())
    assert (target / "notes.txt").read_text() == "mine"
    fresh = Index(target)
    assert fresh.store.counts() == {"articles": 0, "chunks": 0}
    fresh.close()


def test_add_tokenizes_only_the_new_chunks(writable, seed_article, monkeypatch):
    import assistant.index.lexical as lexical

    seen: list[str] = []
    real = lexical.tokenize
    monkeypatch.setattr(lexical, "tokenize", lambda texts: seen.extend(texts) or real(texts))
    writable.add([dataclasses.replace(seed_article, id="another", title="Another headline")])
    assert seen and all(t.startswith("Another headline\n") for t in seen)
    assert writable.search("Another headline Haftar", k=1, mode="bm25")[0].article_id == "another"


def test_index_from_before_token_ids_is_rebuilt_once(writable, distractors):
    # an index written by an older version has no token ids beside its BM25 files: the next write rebuilds them
    folder = files.bm25_folder(writable.path, writable.index.snapshot.generation)
    for name in ("tokens.npy", "offsets.npy", "case.json"):
        (folder / name).unlink()
    with sqlite3.connect(writable.path / "index.sqlite") as db:  # nor file checksums in its manifest row
        stored = json.loads(db.execute("SELECT value FROM meta WHERE key = 'manifest'").fetchone()[0])
        db.execute("UPDATE meta SET value = ? WHERE key = 'manifest'", (json.dumps(mf.readable(stored)),))
    reopened = Assistant.open(writable.path)
    try:
        assert not reopened.index.snapshot.lexical.updatable
        reopened.remove("greek-ferries")
        lexical = reopened.index.snapshot.lexical
        assert lexical.updatable
        ids, texts = reopened.index.store.all_chunk_texts()
        fresh = Lexical.build(texts, ids)
        assert lexical.ids.tolist() == fresh.ids.tolist() and lexical.names == fresh.names
        np.testing.assert_allclose(lexical.scores("Haftar drones ferry"), fresh.scores("Haftar drones ferry"), rtol=1e-6)
        assert check(reopened.index) == []
    finally:
        reopened.close()


def test_sentence_spans_are_stored_with_each_chunk(assistant, seed_article):
    from assistant.text.sentences import sentence_spans

    rows = assistant.index.store.rows(assistant.index.snapshot.vectors.ids.tolist())
    assert rows and all(json.loads(r[10]) == [list(s) for s in sentence_spans(r[5])] for r in rows.values())


def test_database_from_before_stored_sentences_gets_the_column(writable):
    import sqlite3

    db = sqlite3.connect(str(writable.path / "index.sqlite"))
    db.execute("ALTER TABLE chunks DROP COLUMN sentences")
    db.commit()
    db.close()
    reopened = Assistant.open(writable.path)
    try:
        assert all(r[10] is None for r in reopened.index.store.rows(reopened.index.snapshot.vectors.ids.tolist()).values())
        assert reopened.search(CARD_QUESTION)[0].article_id == SEED_ID  # spans computed when read
    finally:
        reopened.close()


# ---- a removed write.lock (two writers at once) -----------------------------------------------------
def test_a_writer_whose_lock_file_was_removed_never_publishes_over_another(tmp_path, built_index, distractors):
    """Writer A loses its lock mid-write (the file is deleted) and writer B publishes meanwhile: A must not publish,
    must not delete B's generation, and must say what happened."""
    from assistant.errors import WriteConflictError
    from assistant.index.store import Store

    path = copy_index(built_index, tmp_path / "index")
    a, b = Assistant.open(path), Assistant.open(path)
    extra = [dataclasses.replace(distractors[0], id="from-b", text=distractors[0].text + " Writer B was here.")]
    real_commit = Store.commit
    calls = []

    def commit_after_b(self, *args, **kwargs):
        if not calls:
            calls.append(1)
            (path / "write.lock").unlink()  # someone deletes the lock while A writes
            b.add(extra)  # B takes a new lock file and publishes the next generation
        return real_commit(self, *args, **kwargs)

    try:
        generation = a.index.generation_on_disk()
        a.index.store.commit = commit_after_b.__get__(a.index.store)
        with pytest.raises(WriteConflictError, match="write.lock"):
            a.add([dataclasses.replace(distractors[1], id="from-a", text=distractors[1].text + " Writer A.")])
        assert b.index.generation_on_disk() == generation + 1
    finally:
        a.close()
        b.close()
    reopened = Assistant.open(path)
    try:
        assert check(reopened.index) == []  # B's generation and its files are intact
        assert reopened.article("from-b") is not None and reopened.article("from-a") is None
    finally:
        reopened.close()


def test_a_stale_commit_is_refused_in_the_same_transaction(writable, distractors):
    from assistant.errors import WriteConflictError

    store, gen = writable.index.store, writable.index.generation_on_disk()
    counts = store.counts()
    with pytest.raises(WriteConflictError, match="another writer published"):
        store.commit([], [], [], {"generation": str(gen + 1)}, expect_generation=gen - 1)
    assert store.counts() == counts and writable.index.generation_on_disk() == gen
