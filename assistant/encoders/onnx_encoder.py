"""all-MiniLM-L6-v2 on onnxruntime: the same vectors as the torch encoder, faster and without torch at run time.

The ONNX file is exported from the packaged weights on first use and cached, so nothing is ever
fetched from a model hub; torch and transformers are only imported when that export has to happen.
The export is traced with eager attention so onnxruntime's BERT optimizer can fuse it (Attention,
EmbedLayerNormalization, SkipLayerNormalization, BiasGelu); the int8 model quantises the fused graph's MatMul
and Attention weights and keeps the embeddings in float. See docs/speed.md for the measurements.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from .. import int8
from ..atomic import replacing
from ..errors import AssistantError
from .base import MAX_TOKENS, MODEL_DIM, MODEL_NAME, model_path
from .onnx_export import INPUTS, OPSET, fuse, quantize, trace

GRAPH = "fused"  # part of the cached file names: a change of export recipe never reuses an older file
# One text per run: faster than length-sorted batches of 8 on 2 cores (~100 vs ~80 texts/s, docs/speed.md), and
# dynamic int8 quantises activations per run, so only then is a text's vector independent of its batchmates
# (batched, the same chunk moved by up to 0.013 in cosine from one build to another).
BATCH_SIZE = 1
WINDOW = 4096  # texts tokenised and length-sorted together
QUANTIZED_OPS = ["MatMul", "Attention"]  # the embedding table stays float: int8 there costs accuracy, not speed
DEFAULT_CACHE_DIR = Path("~/.cache/news-assistant/onnx")


def _fingerprint(model_dir: Path) -> str:
    """Short tag of the installed weights, so a reinstalled or updated model never reuses a stale export."""
    st = (model_dir / "model.safetensors").stat()
    return hashlib.sha1(f"{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:8]


def _export(model_dir: Path, out: str) -> None:
    """Export the transformer (token embeddings only; pooling stays in numpy) with dynamic batch and length."""
    import torch
    from transformers import AutoModel

    class TokenEmbeddings(torch.nn.Module):
        # Keyword call: BertModel.forward's positional order is not stable across transformers versions.
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids, return_dict=True).last_hidden_state

    try:
        model = AutoModel.from_pretrained(str(model_dir), local_files_only=True, attn_implementation="eager")
    except (TypeError, ValueError):  # a transformers without the choice exports eager attention anyway
        model = AutoModel.from_pretrained(str(model_dir), local_files_only=True)
    axes = {n: {0: "batch", 1: "sequence"} for n in [*INPUTS, "last_hidden_state"]}
    trace(TokenEmbeddings(model), out, ["last_hidden_state"], axes)
    fuse(out, heads=model.config.num_attention_heads, hidden=model.config.hidden_size)


def shared_cache() -> Path:
    """Where exports are made once per user and machine (`ASSISTANT_MODEL_CACHE` overrides it)."""
    return Path(os.environ.get("ASSISTANT_MODEL_CACHE") or DEFAULT_CACHE_DIR).expanduser().resolve()


def ensure_onnx(cache_dir: str | os.PathLike | None = None, quantized: bool = False) -> Path:
    """Path of the ONNX model in `cache_dir` (an index's `models/`), made once and safe across processes.

    The export is made in the shared cache and hard-linked (or copied) into `cache_dir`, so every index folder
    carries its own model file while a machine exports it only once; where the shared cache cannot be written,
    the export is made in `cache_dir` itself.
    """
    model_dir = model_path()
    stem = f"{MODEL_NAME}-{_fingerprint(model_dir)}-opset{OPSET}-{GRAPH}"
    name = _file_name(stem, quantized)
    cache = Path(cache_dir).expanduser().resolve() if cache_dir else shared_cache()  # the child runs elsewhere
    target = cache / name
    if target.exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    shared = shared_cache()
    if cache == shared:
        return _build(cache, stem, quantized, model_dir)
    source = shared / name
    if not source.exists():
        try:
            shared.mkdir(parents=True, exist_ok=True)
            source = _build(shared, stem, quantized, model_dir)
        except OSError:  # the shared cache cannot be written: export into this folder
            return _build(cache, stem, quantized, model_dir)
    with replacing(target) as tmp:
        _link_or_copy(source, tmp)
    return target


def _file_name(stem: str, quantized: bool, unsigned: bool | None = None) -> str:
    """fp32, int8, or int8 with its weights unsigned where this CPU's int8 kernels saturate (`int8.py`): shifted
    once here, as a cached file of its own, instead of at every load, where it takes ~1 s (every CLI command, app
    start and Ray actor)."""
    if not quantized:
        return f"{stem}.onnx"
    return f"{stem}-int8{int8.U8 if (int8.saturates() if unsigned is None else unsigned) else ''}.onnx"


def _link_or_copy(source: Path, tmp: Path) -> None:
    os.unlink(tmp)
    try:
        os.link(source, tmp)
    except OSError:  # another file system, or links not allowed
        import shutil

        shutil.copyfile(source, tmp)


def _build(cache: Path, stem: str, quantized: bool, model_dir: Path) -> Path:
    """Export (and quantise) into `cache` under its lock, each step in a child process (see `_run_child`)."""
    from filelock import FileLock

    fp32, signed = cache / _file_name(stem, False), cache / _file_name(stem, True, unsigned=False)
    target = cache / _file_name(stem, quantized)
    if target.exists():
        return target
    with FileLock(str(cache / f"{stem}.lock")):
        if not fp32.exists():  # another process may have finished while we waited for the lock
            with replacing(fp32) as tmp:
                _run_child("export", str(model_dir), str(tmp))
        if quantized and not signed.exists():
            with replacing(signed) as tmp:
                _run_child("quantize", str(fp32), str(tmp))
        if quantized and target != signed and not target.exists():
            with replacing(target) as tmp:
                tmp.write_bytes(int8.unsigned(signed))
    return target


def _run_child(step: str, source: str, out: str) -> None:
    """Run an export step in a fresh Python whose working folder is a temp dir.

    onnxruntime's shape inference drops files (`sym_shape_infer_temp.onnx` and a UUID-named `.data`) into the
    working folder when it gives up on a fused op, and the export needs torch: in a child, neither reaches the
    caller's folder or memory (a server answering questions never imports torch).
    """
    import subprocess
    import sys

    package_parent = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")])))
    with tempfile.TemporaryDirectory(prefix="news-assistant-onnx-") as work:
        done = subprocess.run([sys.executable, "-m", "assistant.encoders.onnx_encoder", step, source, out], cwd=work,
                              env=env, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise AssistantError(f"could not {step} the ONNX model to {out}: {tail}; "
                             "use `--encoder torch`, or reinstall onnx and onnxruntime")


def _quantize(fp32: str, out: str) -> None:
    quantize(fp32, out, QUANTIZED_OPS)


class OnnxEncoder:
    """Encoder protocol on onnxruntime; `quantized=True` trades a little accuracy for int8 speed."""

    def __init__(self, quantized: bool = False, cache_dir: str | os.PathLike | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.name = MODEL_NAME
        self.backend = "onnx-int8" if quantized else "onnx"
        self.dim = MODEL_DIM
        self.path = ensure_onnx(cache_dir, quantized)
        # Parallel over batches, not inside them: each run on one thread, one worker per core. For this small
        # model that beat onnxruntime's intra-op threads by ~5-10% on 2 cores, a single query runs faster on one
        # thread (1.4 vs 2.1 ms), and concurrent callers (web sessions) no longer contend for one thread pool.
        self.workers = os.cpu_count() or 1
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        self.session = int8.session(self.path, opts, quantized)  # unsigned weights where int8 kernels saturate
        self.tokenizer = Tokenizer.from_file(str(model_path() / "tokenizer.json"))
        # tokenizer.json ships with 128-token truncation and fixed 128 padding; match sentence-transformers
        # instead: truncate at MAX_TOKENS, and pad each batch only to its longest text (in `_encode_batch`).
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.pad_id = (self.tokenizer.padding or {}).get("pad_id", 0)
        self.tokenizer.no_padding()

    def _encode_batch(self, encodings: list) -> np.ndarray:
        """Token embeddings of tokenised texts (padded here to the longest), mean-pooled over real tokens,
        then L2-normalised."""
        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        types = np.zeros((len(encodings), width), dtype=np.int64)
        for row, e in enumerate(encodings):
            n = len(e.ids)
            ids[row, :n], mask[row, :n], types[row, :n] = e.ids, e.attention_mask, e.type_ids
        (tokens,) = self.session.run(["last_hidden_state"],
                                     {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
        m = mask[..., None].astype(np.float32)
        pooled = (tokens * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

    def _map(self, batches: list[list]):
        """Batch results in order: in this thread for one batch, else on one worker per core."""
        if len(batches) == 1 or self.workers == 1:
            return map(self._encode_batch, batches)
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="onnx-encode")
        return self._pool.map(self._encode_batch, batches)

    def encode(self, texts: Sequence[str], batch_size: int = BATCH_SIZE, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not len(texts):
            return out
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(texts), unit="text", desc=f"encode ({self.backend})")
        for first in range(0, len(texts), WINDOW):  # tokenise a window at a time: bounded memory on big adds
            part = list(texts[first:first + WINDOW])
            encodings = self.tokenizer.encode_batch(part)
            lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
            order = np.argsort(-lengths, kind="stable")  # equal token lengths per batch: almost no padding
            groups = [order[s:s + batch_size] for s in range(0, len(order), batch_size)]
            for idx, vecs in zip(groups, self._map([[encodings[i] for i in idx] for idx in groups])):
                out[first + idx] = vecs
                if bar is not None:
                    bar.update(len(idx))
        if bar is not None:
            bar.close()
        return out


if __name__ == "__main__":  # the child process of `_run_child`
    import sys

    step, src, dst = sys.argv[1:4]
    _export(Path(src), dst) if step == "export" else _quantize(src, dst)
