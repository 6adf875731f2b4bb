"""The int8 prefilter must return FAISS's exact top k (the reference: `IndexFlatIP`), on hard data too."""
from __future__ import annotations

import faiss
import numpy as np
import pytest

from assistant.index import scan
from assistant.index.vectors import Vectors

DIM = 384


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype("float32")


@pytest.fixture(scope="module")
def data() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Random rows, and clustered rows whose scores crowd together (many near-ties around rank k)."""
    rng = np.random.default_rng(0)
    random_rows = unit(rng.standard_normal((20_000, DIM)))
    centres = unit(rng.standard_normal((40, DIM)))
    clustered = unit(centres[rng.integers(0, 40, 20_000)] + 0.15 * rng.standard_normal((20_000, DIM)))
    queries = {
        "random": unit(rng.standard_normal((40, DIM))),
        "clustered": unit(centres[rng.integers(0, 40, 40)] + 0.15 * rng.standard_normal((40, DIM))),
    }
    return {"random": (random_rows, queries["random"]), "clustered": (clustered, queries["clustered"])}


def test_estimate_is_close_to_the_exact_score(data):
    rows, queries = data["clustered"]
    int8 = scan.Int8Rows(rows)
    for q in queries[:10]:
        exact, approx = rows @ q, int8.estimate(q)
        assert approx.dtype == np.float32 and approx.shape == exact.shape
        assert np.abs(approx - exact).max() < 0.01
        assert np.corrcoef(approx, exact)[0, 1] > 0.999


@pytest.mark.parametrize("kind", ["random", "clustered"])
@pytest.mark.parametrize("k", [1, 10, 50])
def test_top_k_equals_faiss_exact(data, kind, k):
    rows, queries = data[kind]
    reference = faiss.IndexFlatIP(DIM)
    reference.add(rows)
    want_scores, want = reference.search(queries, k)
    int8 = scan.Int8Rows(rows)
    for q, ids, scores in zip(queries, want, want_scores):
        got, got_scores = scan.top_exact(rows, int8, q, k)
        assert set(got.tolist()) == set(ids.tolist())
        np.testing.assert_allclose(got_scores, scores, rtol=1e-5, atol=1e-6)


def test_vectors_use_the_int8_copy_only_when_large(data):
    rows, queries = data["random"]
    small = Vectors(DIM, rows[: scan.MIN_ROWS - 1], np.arange(scan.MIN_ROWS - 1))
    large = Vectors(DIM, rows, np.arange(100, 100 + len(rows)))
    assert small.int8 is None and large.int8 is not None
    for q in queries[:5]:
        exact = np.argsort(-(rows @ q), kind="stable")[:50]
        assert set(large.top_rows(q, 50)[0].tolist()) == set(exact.tolist())
        exact_small = np.argsort(-(rows[: scan.MIN_ROWS - 1] @ q), kind="stable")[:50]
        assert set(small.top_rows(q, 50)[0].tolist()) == set(exact_small.tolist())


def test_updated_vectors_keep_an_int8_copy_of_every_row(data):
    rows, queries = data["random"]
    base = Vectors(DIM, rows[:18_000], np.arange(18_000))
    grown = base.updated(rows[18_000:], np.arange(18_000, 20_000), set())
    shrunk = grown.updated(np.zeros((0, DIM), "float32"), np.zeros(0, "int64"), set(range(0, 20_000, 10)))
    for v in (grown, shrunk):
        assert len(v.int8.codes) == len(v)
        for q in queries[:3]:
            exact = np.argsort(-(v.vecs @ q), kind="stable")[:20]
            assert set(v.top_rows(q, 20)[0].tolist()) == set(exact.tolist())


def test_edge_cases():
    rows = np.zeros((scan.MIN_ROWS, DIM), dtype="float32")
    rows[5, 0] = 1.0  # all-zero rows have no scale; they must not break the copy
    int8 = scan.Int8Rows(rows)
    q = np.zeros(DIM, dtype="float32")
    q[0] = 1.0
    got, scores = scan.top_exact(rows, int8, q, 3)
    assert got[0] == 5 and scores[0] == pytest.approx(1.0)
    assert scan.top_exact(rows, int8, q, 0)[0].size == 0
    assert len(scan.top_exact(rows[:3], None, q, 10)[0]) == 3  # k above the row count
    assert scan.Int8Rows(rows).estimate(np.zeros(DIM, dtype="float32")).max() == 0.0


@pytest.mark.parametrize("share", [0.1, 0.6, 0.99])
def test_filtered_candidates_are_the_exact_masked_top(data, share):
    # narrow filters score their rows exactly; wide ones go through the int8 estimate, then exact rescoring
    from assistant.index import Snapshot
    from assistant.search.hybrid import _candidates

    rows, queries = data["clustered"]
    snap = Snapshot(1, Vectors(DIM, rows, np.arange(len(rows))), None)
    mask = np.random.default_rng(1).random(len(rows)) < share
    for q in queries[:5]:
        masked = np.where(mask, rows @ q, -np.inf)
        exact = set(np.argsort(-masked, kind="stable")[:50].tolist())
        got = _candidates(snap, q, None, mask, 50)
        assert set(got.tolist()) == exact and mask[got].all()
