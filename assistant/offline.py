"""Keep every library this package loads from reaching the network: set before any of them is imported.

onnxruntime ≥ 1.29 uploads usage events on Linux (a DNS look-up of its collector ~6 s after the first session,
then every few seconds); `ORT_DISABLE_TELEMETRY=1` set before its first use is the maintainers' full opt-out
(no uploader, events, device id or cache), and `disable_telemetry_events()` alone does not stop it. The
Hugging Face and Gradio settings keep model loading local and the UI from reporting analytics.
Ray reads `RAY_USAGE_STATS_ENABLED` (ray/_common/usage/usage_lib.py; "0" disables the usage report a cluster head
would send, and the env var overrides ~/.ray/config.json); a local Ray runtime's workers inherit these variables,
and a cluster's workers set them when they import this package, before it loads any library of its own.
tests/test_offline.py checks it below Python, in a network namespace that records every DNS query.
"""
from __future__ import annotations

import os

FORCED = {
    "ORT_DISABLE_TELEMETRY": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "DO_NOT_TRACK": "1",
    "RAY_USAGE_STATS_ENABLED": "0",
}
QUIET = {"HF_HUB_DISABLE_PROGRESS_BARS": "1", "TRANSFORMERS_VERBOSITY": "error"}


def stay_offline() -> None:
    """Forced, not defaulted: an inherited `ORT_DISABLE_TELEMETRY=0` must not turn the uploader back on."""
    os.environ.update(FORCED)
    for key, value in QUIET.items():
        os.environ.setdefault(key, value)


stay_offline()
