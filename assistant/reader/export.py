"""ONNX export of the trained reader: fp32 graph with BERT fusions, then dynamic int8 including the embedding table.

Same recipe as the encoder (`onnx_encoder._export`/`_fuse`), plus the embeddings quantised: the word-piece table is
~47 MB in float and ~12 MB in int8, which is what keeps the shipped file under 30 MB.
"""
from __future__ import annotations

import os
import tempfile
import warnings

OPSET = 17
QUANTIZED_OPS = ["MatMul", "Attention", "Gather", "EmbedLayerNormalization"]
NAMES = ["input_ids", "attention_mask", "token_type_ids"]
OUTPUTS = ["class_logit", "start_logits", "end_logits"]


def export(net, out: str, heads: int, hidden: int, fuse: bool = True) -> None:
    """Trace `net` (eval mode, eager attention) to `out` with dynamic batch and sequence axes."""
    import torch

    net = net.eval()
    ids = torch.full((2, 16), 1000, dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 8:] = 0  # a padded row, so the attention-mask path is the one traced
    types = torch.zeros_like(ids)
    types[:, 6:] = 1
    axes = {n: {0: "batch", 1: "sequence"} for n in [*NAMES, "start_logits", "end_logits"]}
    axes["class_logit"] = {0: "batch"}
    kwargs = dict(input_names=NAMES, output_names=OUTPUTS, dynamic_axes=axes, opset_version=OPSET)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(net, (ids, mask, types), out, dynamo=False, **kwargs)
        except Exception:  # legacy exporter missing in this torch: the dynamo one
            torch.onnx.export(net, (ids, mask, types), out, dynamo=True, external_data=False, **kwargs)
    if fuse:
        _in_tmp_cwd(_fuse, out, heads, hidden)


def _fuse(path: str, heads: int, hidden: int) -> None:
    import logging

    try:
        from onnxruntime.transformers.optimizer import optimize_model

        optimize_model(path, model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=1).save_model_to_file(path)
    except Exception as exc:  # noqa: BLE001 - the unfused graph computes the same thing, only slower
        logging.getLogger(__name__).warning("keeping the unfused reader export (%s: %s)", type(exc).__name__, exc)


def quantize(fp32: str, out: str) -> None:
    """Dynamic int8 (per-channel weights) of MatMul, Attention and the embedding lookups."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    _in_tmp_cwd(quantize_dynamic, fp32, out, per_channel=True, weight_type=QuantType.QInt8,
                op_types_to_quantize=QUANTIZED_OPS, extra_options={"DefaultTensorType": 1})


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
