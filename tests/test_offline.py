"""Nothing leaves the machine: index, ask and serve the app in a network namespace that records every DNS query.

tests/netguard.py runs the workload with only a loopback interface, every address routed to it and DNS pointed
at a recording listener, so native code (onnxruntime's telemetry uploader, which Python socket patches cannot
see) is caught too. The model cache starts empty, so the first-time ONNX export runs under the guard as well.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import CARD_QUESTION, FIXTURES, ROOT, SEEDS

GUARD_SECONDS = 25
NETGUARD = ROOT / "tests" / "netguard.py"

WORKLOAD = r"""
import json, sys, time, urllib.request
index, seeds, more, question, out = sys.argv[1:6]
from assistant.cli import main
code = main(["index", seeds, more, "--index", index, "--quiet"])
code = code or main(["ask", question, "--index", index, "--json"])
import threading
from assistant.serve import users
from assistant.serve.server import build, server_for
from assistant.serve.settings import Settings
from assistant.ui.app import free_port
from gradio_client import Client
users.add("users.toml", "ed", "editor", "offline-pass")
served = build(Settings(index=index, users="users.toml", port=free_port()), write_line=lambda line: None)
server = server_for(served)  # `assistant serve`: uvicorn, FastAPI, Gradio's sign-in
threading.Thread(target=server.run, daemon=True).start()
while not server.started:
    time.sleep(0.05)
url = f"http://127.0.0.1:{served.settings.port}"
r = Client(url, auth=("ed", "offline-pass"), verbose=False).predict(question, [], api_name="/ask")
urllib.request.urlopen(url).read()  # the page itself, as a browser would load it
urllib.request.urlopen(url + "/metrics").read()
json.dump({"code": code, "answer": r}, open(out, "w"))
time.sleep(8)  # keep the server and its sessions alive while the guard watches
server.should_exit = True
"""


def can_unshare() -> bool:
    if not shutil.which("unshare") or not shutil.which("ip"):
        return False
    return subprocess.run(["unshare", "--net", "--mount", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not can_unshare(), reason="needs root and unshare(1) to make a network namespace")
def test_no_dns_query_or_outside_packet(tmp_path):
    report, result = tmp_path / "report.json", tmp_path / "result.json"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HF_", "TRANSFORMERS_", "ORT_", "GRADIO_", "DO_NOT_TRACK"))}
    env.update(HF_HOME=str(tmp_path / "hf-home"), ASSISTANT_MODEL_CACHE=str(tmp_path / "model-cache"))
    workload = [sys.executable, "-c", WORKLOAD, str(tmp_path / "index"), str(SEEDS),
                str(FIXTURES / "distractors.jsonl"), CARD_QUESTION, str(result)]
    proc = subprocess.run(["unshare", "--net", "--mount", sys.executable, str(NETGUARD), str(report),
                           str(GUARD_SECONDS), "--", *workload],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(report.read_text())
    assert seen["returncode"] == 0, proc.stderr[-3000:]
    assert seen["seconds"] >= GUARD_SECONDS
    done = json.loads(result.read_text())
    assert done["code"] == 0 and not done["answer"]["refused"]  # the work really ran: export, index, ask, serve
    assert any(p.name.endswith("-int8.onnx") for p in (tmp_path / "model-cache").iterdir())
    assert seen["dns"] == [], f"DNS queries: {seen['dns']}"
    assert seen["packets"] == [], f"packets to non-loopback addresses: {seen['packets'][:10]}"


@pytest.mark.skipif(not can_unshare(), reason="needs root and unshare(1) to make a network namespace")
def test_the_guard_sees_what_native_code_does(tmp_path):
    """The guard itself: a look-up and a connection attempt from a child process are both recorded."""
    report = tmp_path / "report.json"
    probe = ("import socket\n"
             "try: socket.getaddrinfo('telemetry.example.com', 443)\nexcept OSError: pass\n"
             "try: socket.create_connection(('203.0.113.7', 443), timeout=1)\nexcept OSError: pass\n")
    subprocess.run(["unshare", "--net", "--mount", sys.executable, str(NETGUARD), str(report), "1", "--",
                    sys.executable, "-c", probe], check=True, timeout=60)
    seen = json.loads(report.read_text())
    assert any(name.startswith("telemetry.example.com") for name in seen["dns"])
    assert any("203.0.113.7:443" in p for p in seen["packets"])
