"""One query against every row of a flat index, fast: an int8 copy of the rows, scanned by onnxruntime.

An exact float32 scan of 100k × 384 rows reads 154 MB per query: 5.5–8.5 ms of memory traffic on the benchmark
machine, whatever the BLAS. The rows as int8 (one scale per row) are a quarter of that, and onnxruntime's
`MatMulInteger` (AVX-512 VNNI) scans them in ~1.7 ms. The estimate's best `RERANK × k` rows are then rescored in
float32, so the top k returned is the exact one: the estimate correlates with the exact score at 0.99996, and
an exact top-50 row would have to fall below rank 200 of the estimate to be missed (tests compare the two).
"""
from __future__ import annotations

import os
from functools import lru_cache

import numpy as np

MIN_ROWS = 16_384  # below this a float32 scan takes well under a millisecond: no second copy
RERANK = 4
# The query is quantised to ±63, not ±127: without VNNI, onnxruntime's AVX2 kernel multiplies u8 × s8 pairs into
# saturating int16 sums (255 × 127 × 2 > 32767), which put errors of 0.03 into the estimate; at ±63 no pair can
# saturate (255 × 63 × 2 < 32767) and the estimate stays within 0.01 of the exact score on either kind of CPU.
QUERY_LEVELS = 63
_BLOCK = 16_384  # rows quantised at a time, so building never holds a second float32 copy


class Int8Rows:
    """Rows quantised symmetrically per row (uint8 with zero point 128, as the VNNI kernels take them)."""

    def __init__(self, vecs: np.ndarray):
        self.scale = np.empty(len(vecs), dtype="float32")
        self.codes = np.empty(vecs.shape, dtype="uint8")
        for start in range(0, len(vecs), _BLOCK):
            block = np.asarray(vecs[start:start + _BLOCK], dtype="float32")
            scale = np.abs(block).max(axis=1) / 127
            scale[scale == 0] = 1.0
            self.scale[start:start + len(block)] = scale
            self.codes[start:start + len(block)] = np.rint(block / scale[:, None]) + 128

    def estimate(self, query: np.ndarray) -> np.ndarray:
        """Approximate inner product of `query` with every row."""
        q_scale = float(np.abs(query).max()) / QUERY_LEVELS or 1.0
        q = np.rint(query / q_scale).astype("int8").reshape(-1, 1)
        (y,) = _session().run(None, {"rows": self.codes, "query": q, "zero": np.array(128, dtype="uint8")})
        return y[:, 0].astype("float32") * (self.scale * np.float32(q_scale))


def top_exact(vecs: np.ndarray, int8: Int8Rows | None, query: np.ndarray, k: int,
              mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(rows, scores) of the k rows (among those `mask` allows) with the highest exact inner product, best first."""
    allowed = len(vecs) if mask is None else int(mask.sum())
    k = min(k, allowed)
    if k <= 0:
        return np.zeros(0, dtype="int64"), np.zeros(0, dtype="float32")
    if mask is not None and allowed * 4 < len(vecs):  # a narrow filter: score only its rows
        rows = np.flatnonzero(mask)
        scores = vecs[rows] @ query
    elif int8 is None or RERANK * k >= allowed:
        rows, scores = np.arange(len(vecs)), vecs @ query
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
    else:  # estimate every row at once (faster than gathering most of them), rescore the best exactly
        estimate = int8.estimate(query)
        rows = top(estimate if mask is None else np.where(mask, estimate, -np.inf), RERANK * k)
        scores = vecs[rows] @ query
    best = top(scores, k)
    return rows[best], scores[best]


def top(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k highest scores, best first (ties in position order)."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype="int64")
    best = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    return best[np.argsort(-scores[best], kind="stable")]


@lru_cache(maxsize=1)
def _session():
    """rows (uint8, N × d) · query (int8, d × 1) → int32 N × 1, on all cores, threads parked between runs."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    node = helper.make_node("MatMulInteger", ["rows", "query", "zero"], ["scores"])
    graph = helper.make_graph(
        [node], "int8_scan",
        [helper.make_tensor_value_info("rows", TensorProto.UINT8, [None, None]),
         helper.make_tensor_value_info("query", TensorProto.INT8, [None, 1]),
         helper.make_tensor_value_info("zero", TensorProto.UINT8, [])],
        [helper.make_tensor_value_info("scores", TensorProto.INT32, [None, 1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = os.cpu_count() or 1
    # Spinning worker threads would steal the cores the encoder and BLAS need right after a scan.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
