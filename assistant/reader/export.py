"""ONNX export of the trained reader: fp32 graph with BERT fusions, then dynamic int8 including the embedding table.

The encoder's recipe (`encoders/onnx_export.py`), plus the embeddings quantised: the word-piece table is
~47 MB in float and ~12 MB in int8, which is what keeps the shipped file under 30 MB.
"""
from __future__ import annotations

import os
import tempfile

from ..encoders.onnx_export import INPUTS, trace
from ..encoders.onnx_export import fuse as fuse_graph
from ..encoders.onnx_export import quantize as quantize_ops

QUANTIZED_OPS = ["MatMul", "Attention", "Gather", "EmbedLayerNormalization"]
OUTPUTS = ["class_logit", "start_logits", "end_logits"]


def export(net, out: str, heads: int, hidden: int, fuse: bool = True) -> None:  # noqa: ANN001
    """Trace `net` (eager attention) to `out` with dynamic batch and sequence axes, then fuse it."""
    axes = {n: {0: "batch", 1: "sequence"} for n in [*INPUTS, "start_logits", "end_logits"]}
    axes["class_logit"] = {0: "batch"}
    trace(net, out, OUTPUTS, axes)
    if fuse:
        _in_tmp_cwd(fuse_graph, out, heads, hidden)


def quantize(fp32: str, out: str) -> None:
    """Dynamic int8 (per-channel weights) of MatMul, Attention and the embedding lookups."""
    _in_tmp_cwd(quantize_ops, fp32, out, ops=QUANTIZED_OPS)


def _in_tmp_cwd(fn, *args, **kwargs) -> None:  # noqa: ANN001
    """onnxruntime's shape inference may drop scratch files into the working folder: give it a temp one."""
    here = os.getcwd()
    fp = [os.path.abspath(a) if isinstance(a, str) and a.endswith(".onnx") else a for a in args]
    with tempfile.TemporaryDirectory(prefix="reader-onnx-") as work:
        os.chdir(work)
        try:
            fn(*fp, **kwargs)
        finally:
            os.chdir(here)
