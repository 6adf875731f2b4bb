"""Signed int8 weights moved to unsigned: the same integers, computed exactly on any x86 CPU."""
from __future__ import annotations

import platform

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from assistant import int8
from assistant.reader.model import DEFAULT_PATH


def matmul_integer(path, a_shape: tuple[int, int], b: np.ndarray, zero_point: bool) -> None:
    """Y = MatMulInteger(A, B) with B a signed 8-bit initializer, with or without its per-column zero point."""
    inputs = ["A", "B", "a_zero_point"] + (["b_zero_point"] if zero_point else [])
    inits = [numpy_helper.from_array(b, "B"), numpy_helper.from_array(np.array(0, np.uint8), "a_zero_point")]
    if zero_point:
        inits.append(numpy_helper.from_array(np.zeros(b.shape[1], np.int8), "b_zero_point"))
    graph = helper.make_graph([helper.make_node("MatMulInteger", inputs, ["Y"])], "g",
                              [helper.make_tensor_value_info("A", TensorProto.UINT8, list(a_shape))],
                              [helper.make_tensor_value_info("Y", TensorProto.INT32, None)], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


@pytest.mark.parametrize("zero_point", [True, False])
def test_unsigned_weights_give_the_exact_integer_products(tmp_path, zero_point):
    """255 × 127 twice overflows the 16-bit pair sums of AVX2's `vpmaddubsw`; moved to u8 × u8 it cannot."""
    rng = np.random.default_rng(7)
    a = rng.integers(0, 256, (4, 64), dtype=np.uint8)
    b = rng.integers(-128, 128, (64, 8), dtype=np.int8)
    a[0], b[:, 0], b[:, 1] = 255, 127, -128  # the worst cases
    path = tmp_path / "mm.onnx"
    matmul_integer(path, a.shape, b, zero_point)
    converted = onnx.load_from_string(int8.unsigned(path))
    weights = {t.name: t for t in converted.graph.initializer}
    assert weights["B"].data_type == TensorProto.UINT8
    assert (numpy_helper.to_array(weights["B"]).astype(int) - 128 == b).all()
    exact = a.astype(np.int64) @ b.astype(np.int64)
    (y,) = ort.InferenceSession(converted.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"A": a})
    assert (y == exact).all()
    (signed,) = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"A": a})
    if int8.saturates():  # what the signed weights give on such a CPU (row 0: 1,048,544 for 2,072,640 on AVX2)
        assert (signed[0, :2] != exact[0, :2]).all()


def test_the_shipped_reader_keeps_its_graph_with_every_gemm_weight_unsigned():
    model = onnx.load_from_string(int8.unsigned(DEFAULT_PATH))
    inits = {t.name: t for t in model.graph.initializer}
    gemms = [n for n in model.graph.node if n.op_type in int8.WEIGHTS]
    assert len(gemms) == 26  # 20 MatMulInteger, 6 QAttention
    for node in gemms:
        w, zp = int8.WEIGHTS[node.op_type]
        assert inits[node.input[w]].data_type == inits[node.input[zp]].data_type == TensorProto.UINT8
    assert [n.op_type for n in model.graph.node] == [n.op_type for n in onnx.load(str(DEFAULT_PATH)).graph.node]


def test_which_cpus_get_unsigned_weights(monkeypatch):
    int8.saturates.cache_clear()
    try:
        for forced, expected in (("u8", True), ("s8", False)):
            monkeypatch.setenv("ASSISTANT_INT8_WEIGHTS", forced)
            int8.saturates.cache_clear()
            assert int8.saturates() is expected
        monkeypatch.delenv("ASSISTANT_INT8_WEIGHTS")
        int8.saturates.cache_clear()
        flags = open("/proc/cpuinfo").read() if platform.machine() in ("x86_64", "AMD64") else ""
        assert int8.saturates() is (bool(flags) and "vnni" not in flags)
    finally:
        int8.saturates.cache_clear()
