"""`assistant serve` settings: command line over environment over an optional TOML file over the defaults.

Environment: ASSISTANT_HOST (or GRADIO_SERVER_NAME), ASSISTANT_PORT (or GRADIO_SERVER_PORT), ASSISTANT_INDEX,
ASSISTANT_SEEDS, ASSISTANT_READ_ONLY, ASSISTANT_USERS, ASSISTANT_NO_AUTH, ASSISTANT_ROOT_PATH,
ASSISTANT_LOG_QUESTIONS and ASSISTANT_CONFIG (the TOML file, also `--config`). The file takes the same names in
lower case (`host = "0.0.0.0"`, `users = "users.toml"`, `read_only = true`); its paths are relative to it.
"""
from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from . import tomlfile


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 7860
    index: str = "index"
    seeds: str | None = None  # indexed on start when the index holds no articles (`make run` uses seeds/)
    read_only: bool = False
    users: str | None = None
    no_auth: bool = False
    root_path: str = ""
    log_questions: bool = False


NAMES = [f.name for f in dataclasses.fields(Settings)]
FLAGS = {"read_only", "no_auth", "log_questions"}
PATHS = {"index", "seeds", "users"}
FALLBACK_ENV = {"host": "GRADIO_SERVER_NAME", "port": "GRADIO_SERVER_PORT"}
TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Every option defaults to None, so that an unset one leaves the environment's or the file's value."""
    p.add_argument("--host", help="interface to listen on (default 127.0.0.1; anything else needs --users)")
    p.add_argument("--port", type=int, help="port (default 7860)")
    p.add_argument("--index", help="index folder (default index/)")
    p.add_argument("--seeds", help="folder indexed on start when the index holds no articles")
    p.add_argument("--read-only", action="store_const", const=True,
                   help="serve chat and sources only: no upload, fetch or remove, in the UI or the API")
    p.add_argument("--users", metavar="FILE", help="users file (TOML or JSON) from `assistant user add`: sign-in "
                                                   "and roles")
    p.add_argument("--no-auth", action="store_const", const=True,
                   help="serve beyond loopback without sign-in (everyone is an editor unless --read-only)")
    p.add_argument("--root-path", help="the public path prefix behind a reverse proxy, e.g. /news")
    p.add_argument("--log-questions", action="store_const", const=True,
                   help="put the question text in the per-question log line (off: time, user, latency only)")
    p.add_argument("--config", metavar="FILE", help="TOML file with these settings (or ASSISTANT_CONFIG)")


def resolve(cli: Mapping[str, object], env: Mapping[str, str] = os.environ, base: Settings = Settings()) -> Settings:
    values: dict[str, Any] = {}
    config = cli.get("config") or env.get("ASSISTANT_CONFIG")
    if config:
        values.update(_from_file(Path(str(config))))
    for name in NAMES:
        raw = env.get(f"ASSISTANT_{name.upper()}", env.get(FALLBACK_ENV.get(name, ""), None))
        if raw is not None:
            values[name] = _parse(name, raw, f"ASSISTANT_{name.upper()}")
    values.update({k: v for k, v in cli.items() if k in NAMES and v is not None})
    return dataclasses.replace(base, **values)


def _from_file(path: Path) -> dict[str, object]:
    try:
        data = tomlfile.parse(path.read_text(encoding="utf-8"), f"config {path}")
    except OSError as exc:
        raise InputError(f"config {path}: cannot be read ({exc.strerror})") from exc
    unknown = sorted(set(data) - set(NAMES))
    if unknown:
        raise InputError(f"config {path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(NAMES)}")
    out = {k: _parse(k, v, f"config {path}: {k}") for k, v in data.items()}
    return {k: str(path.parent / str(v)) if k in PATHS and v else v for k, v in out.items()}


def _parse(name: str, raw: object, where: str) -> object:
    if name in FLAGS:
        if isinstance(raw, bool):
            return raw
        if str(raw).strip().lower() in TRUE | FALSE:
            return str(raw).strip().lower() in TRUE
        raise InputError(f"{where}={raw!r}: use true or false")
    if name == "port":
        try:
            return int(str(raw))
        except ValueError:
            raise InputError(f"{where}={raw!r}: a port is a number") from None
    return str(raw)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check(settings: Settings) -> None:
    """Refuse to let the whole network change the archive: beyond loopback, sign-in or an explicit --no-auth."""
    if settings.users and settings.no_auth:
        raise InputError("--users and --no-auth contradict each other: choose one")
    if is_loopback(settings.host) or settings.users or settings.no_auth:
        return
    raise InputError(
        f"refusing to serve on {settings.host} without sign-in: anyone who can reach it could remove articles.\n"
        "  Create users:  assistant user add NAME --role editor --users users.toml\n"
        f"  then serve:    assistant serve --users users.toml --host {settings.host}\n"
        "  (or listen on 127.0.0.1 only, or pass --no-auth, best with --read-only, if the network is trusted)")
