"""Dynamic-int8 ONNX models (the encoder, the reader) computing the same integers on every x86 CPU.

Their weights are signed 8-bit. With VNNI (`vpdpbusd`) onnxruntime multiplies the unsigned 8-bit activations by
them into 32-bit sums; without it (AVX2 only) it uses `vpmaddubsw`, whose 16-bit pair sums saturate, and the
results drift: on the VM of 2026-12-07 the encoder's vectors against torch fell from cosine median 0.9937 to
0.9915, and the reader answered an on-topic question VNNI machines refuse. Shifting every weight and its zero point
by 128 into unsigned 8-bit keeps each product's integer, (w + 128) - 128 = w, and onnxruntime then takes its
u8 × u8 kernels, which widen before they add: the same sums as VNNI, so the same vectors and answers (measured:
0.9937 again). The shipped files, and their checksums, stay as they are; the encoder, whose 58 MB file takes ~1 s
to shift, keeps a shifted copy in its model cache (a name marked `U8`) and loads that. (The index's own int8 row
scan avoids the same saturation by its query's range: `index/scan.py`.)
"""
from __future__ import annotations

import os
import platform
from functools import lru_cache
from pathlib import Path
from typing import Any

# op type -> (input index of its weight, input index of the weight's zero point)
WEIGHTS = {"MatMulInteger": (1, 3), "DynamicQuantizeMatMul": (1, 3), "QAttention": (1, 7)}
U8 = "-u8"  # the mark, before the suffix, of a model file whose weights `unsigned` moved already
SCALES = {"MatMulInteger": None, "DynamicQuantizeMatMul": 2, "QAttention": 4}  # where a missing zero point's shape is


@lru_cache(maxsize=1)
def saturates() -> bool:
    """True on an x86 CPU without VNNI, where signed 8-bit weights lose precision (Linux: /proc/cpuinfo's flags).
    ASSISTANT_INT8_WEIGHTS=u8 or =s8 overrides the detection."""
    forced = os.environ.get("ASSISTANT_INT8_WEIGHTS", "")
    if forced in ("u8", "s8"):
        return forced == "u8"
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        flags = next((line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")), "")
    except OSError:
        return False
    return bool(flags) and not {"avx512_vnni", "avx_vnni"} & set(flags.split())


def session(path: str | os.PathLike, options: Any, quantized: bool = True) -> Any:
    """An onnxruntime CPU session of the model at `path`; a `quantized` one with its weights unsigned where this
    CPU would saturate (a file marked `U8` has them unsigned already)."""
    import onnxruntime as ort

    model: str | bytes = str(path)
    if quantized and saturates() and not Path(path).stem.endswith(U8):
        model = unsigned(Path(path))
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def unsigned(path: Path) -> bytes:
    """The model with every signed 8-bit GEMM weight (and zero point) moved to unsigned 8-bit by +128."""
    import numpy as np
    import onnx
    from onnx import TensorProto, numpy_helper

    model = onnx.load(str(path))
    inits = {t.name: t for t in model.graph.initializer}
    done: set[str] = set()

    def shift(name: str) -> None:
        tensor = inits[name]
        if name not in done and tensor.data_type == TensorProto.INT8:
            values = numpy_helper.to_array(tensor).astype(np.int16) + 128
            tensor.CopyFrom(numpy_helper.from_array(values.astype(np.uint8), name))
        done.add(name)

    for node in model.graph.node:
        if node.op_type not in WEIGHTS:
            continue
        w, zp = WEIGHTS[node.op_type]
        weight, point = node.input[w], node.input[zp] if len(node.input) > zp else ""
        if weight not in inits or (point and point not in inits):
            continue  # a weight or zero point computed at run time: left as it is
        if inits[weight].data_type != TensorProto.INT8 and weight not in done:
            continue  # unsigned already
        shift(weight)
        if point:
            shift(point)
            continue
        scale = SCALES[node.op_type]
        shape = () if scale is None else numpy_helper.to_array(inits[node.input[scale]]).shape
        name = f"{weight}_u8_zero_point"
        if name not in inits:
            inits[name] = numpy_helper.from_array(np.full(shape, 128, np.uint8), name)
            model.graph.initializer.append(inits[name])
        node.input.extend([""] * (zp + 1 - len(node.input)))
        node.input[zp] = name
    return model.SerializeToString()
