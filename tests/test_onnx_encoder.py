"""The ONNX encoders must give the reference (sentence-transformers on torch) vectors, on the real model."""
from __future__ import annotations

import numpy as np
import pytest

from assistant.encoders.base import MAX_TOKENS, MODEL_NAME, tokenizer
from assistant.encoders.onnx_encoder import OnnxEncoder
from assistant.encoders.sbert import TorchEncoder

LONG = " ".join(
    f"Paragraph {i}: the finance ministry said on Tuesday that inflation eased to 2.{i} percent in March, "
    "while unions warned that wages still lag behind rents in the capital."
    for i in range(20)
)

TEXTS = [
    "a",
    "",
    "   ",
    "Storm closes schools.",
    "The central bank held interest rates at 4.5% on Thursday, citing sticky services inflation.",
    "Firefighters battled a wildfire near the coast overnight as winds gusted to 80 km/h; "
    "about 2,000 residents were told to leave their homes.",
    "Le gouvernement a annoncé une réforme des retraites — les syndicats appellent à la grève.",
    "Q3 earnings: revenue up 12% YoY, EPS $1.42 vs. $1.35 expected. Shares +6% after hours.",
    "Scientists say the newly discovered exoplanet orbits within its star's habitable zone.",
    "The city council voted 7-2 to approve the new bike lanes on Main Street after months of debate.",
    LONG,
]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def fp32(cache_dir) -> OnnxEncoder:
    return OnnxEncoder(cache_dir=cache_dir)


@pytest.fixture(scope="module")
def int8(cache_dir, fp32) -> OnnxEncoder:  # after fp32: the quantiser reuses its export
    return OnnxEncoder(quantized=True, cache_dir=cache_dir)


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return TorchEncoder().encode(TEXTS, batch_size=4)


def test_long_text_is_truncated() -> None:
    assert len(tokenizer()(LONG)["input_ids"]) > MAX_TOKENS


def test_attributes(fp32: OnnxEncoder, int8: OnnxEncoder) -> None:
    assert (fp32.name, fp32.backend, fp32.dim) == (MODEL_NAME, "onnx", 384)
    assert (int8.name, int8.backend, int8.dim) == (MODEL_NAME, "onnx-int8", 384)
    assert MODEL_NAME in fp32.path.name and MODEL_NAME in int8.path.name
    assert fp32.path != int8.path


def test_fp32_matches_torch(fp32: OnnxEncoder, reference: np.ndarray) -> None:
    vecs = fp32.encode(TEXTS, batch_size=4)
    assert vecs.shape == (len(TEXTS), 384) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert cosines(vecs, reference).min() >= 0.9999


@pytest.mark.parametrize("batch_size", [4, 64])
def test_int8_close_to_torch(int8: OnnxEncoder, reference: np.ndarray, batch_size: int) -> None:
    # Dynamic int8 scales activations per batch, so the batch size is part of what is checked.
    vecs = int8.encode(TEXTS, batch_size=batch_size)
    assert vecs.shape == (len(TEXTS), 384) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    cos = cosines(vecs, reference)
    blank = np.array([not t.strip() for t in TEXTS])
    assert cos[~blank].min() >= 0.98
    # "" and "   " are just [CLS] [SEP]: two tokens leave nothing to average quantisation noise away
    # (measured 0.973-0.981); they carry no content to retrieve, so a looser bound is enough.
    assert cos[blank].min() >= 0.95


def test_order_preserved(fp32: OnnxEncoder) -> None:
    forward = fp32.encode(TEXTS, batch_size=3)
    backward = fp32.encode(TEXTS[::-1], batch_size=3)
    np.testing.assert_allclose(backward[::-1], forward, atol=1e-5)
    # and each row is the text's own vector, not a neighbour's
    singles = np.vstack([fp32.encode([t]) for t in TEXTS])
    assert cosines(forward, singles).min() >= 0.9999


def test_empty_input(fp32: OnnxEncoder) -> None:
    out = fp32.encode([])
    assert out.shape == (0, 384) and out.dtype == np.float32


def test_progress_bar(fp32: OnnxEncoder, capsys: pytest.CaptureFixture[str]) -> None:
    vecs = fp32.encode(TEXTS[:5], batch_size=2, progress=True)
    assert vecs.shape == (5, 384)
    assert "5/5" in capsys.readouterr().err


def test_cache_reused(cache_dir, fp32: OnnxEncoder, int8: OnnxEncoder) -> None:
    before = {p: p.stat().st_mtime_ns for p in (fp32.path, int8.path)}
    again, again8 = OnnxEncoder(cache_dir=cache_dir), OnnxEncoder(quantized=True, cache_dir=cache_dir)
    assert (again.path, again8.path) == (fp32.path, int8.path)
    assert {p: p.stat().st_mtime_ns for p in before} == before
    assert not list(cache_dir.glob("*.tmp"))  # no leftovers from the atomic writes


def test_a_model_in_the_shared_cache_is_linked_not_rebuilt(tmp_path, fp32, monkeypatch):
    # the shared cache may be read-only (its lock file cannot be made): a model already there is just linked
    from assistant.encoders import onnx_encoder

    monkeypatch.setenv("ASSISTANT_MODEL_CACHE", str(fp32.path.parent))
    monkeypatch.setattr(onnx_encoder, "_build", lambda *a: pytest.fail("exported again"))
    linked = onnx_encoder.ensure_onnx(tmp_path / "index" / "models")
    assert linked.parent == tmp_path / "index" / "models" and linked.name == fp32.path.name
    assert linked.stat().st_ino == fp32.path.stat().st_ino or linked.read_bytes() == fp32.path.read_bytes()


def test_relative_cache_folders(tmp_path, fp32, monkeypatch):
    # the quantiser runs in a child process with another working folder: relative paths must not reach it
    import shutil

    from assistant.encoders import onnx_encoder

    (tmp_path / "shared").mkdir()
    shutil.copyfile(fp32.path, tmp_path / "shared" / fp32.path.name)  # so only the int8 step runs
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ASSISTANT_MODEL_CACHE", "shared")
    path = onnx_encoder.ensure_onnx("index/models", quantized=True)
    assert path == (tmp_path / "index" / "models" / path.name) and path.name.endswith("-int8.onnx")
    assert (tmp_path / "shared" / path.name).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index", "shared"]  # nothing dropped in the cwd
