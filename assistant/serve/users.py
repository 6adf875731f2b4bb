"""The users file: usernames, scrypt password hashes and roles, as TOML (default) or JSON (`.json`).

```toml
[users.alice]
role = "editor"
password = "scrypt$32768$8$1$<salt>$<hash>"
```

Only hashes are stored (hashlib.scrypt, a random 16-byte salt each, the cost written beside the hash so it can
grow later); the file is written atomically with mode 0600. A running server re-reads it when it changes, so
`assistant user add` or `remove` takes effect at the next sign-in or request, without a restart.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from pathlib import Path

from ..atomic import write_atomic
from ..errors import InputError
from ..ui.access import ROLES
from . import tomlfile

N, R, P = 2**15, 8, 1  # 32 MiB and ~0.1 s per check on one core: costly to guess, cheap enough to sign in
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
MIN_PASSWORD = 8


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, maxmem=2 * 128 * R * N, dklen=32)
    return "$".join(["scrypt", str(N), str(R), str(P), _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str) -> bool:
    """Constant-time comparison; a malformed hash never matches."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        want = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             maxmem=2 * 128 * int(r) * int(n), dklen=len(want))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def check_name(name: str) -> str:
    if not NAME.fullmatch(name or ""):
        raise InputError(f"user name {name!r}: use 1–64 letters, digits, '.', '_', '@' or '-', starting with a "
                         "letter or digit")
    return name


def load(path: str | os.PathLike) -> dict[str, dict[str, str]]:
    """{name: {"role", "password"}}; a missing file is empty, a malformed one an InputError naming the fix."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        raw = path.read_bytes()
        data = json.loads(raw) if path.suffix == ".json" else tomlfile.parse(raw.decode(), f"users file {path}")
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise InputError(f"users file {path}: cannot be read ({exc})") from exc
    users = data.get("users", {}) if isinstance(data, dict) else None
    if not isinstance(users, dict):
        raise InputError(f"users file {path}: expected a [users.NAME] table per user")
    for name, entry in users.items():
        if not isinstance(entry, dict) or entry.get("role") not in ROLES or not isinstance(entry.get("password"), str):
            raise InputError(f"users file {path}: user {name!r} needs role = {' or '.join(map(repr, ROLES))} and a "
                             "password hash (written by `assistant user add`)")
    return users


def save(path: str | os.PathLike, users: dict[str, dict[str, str]]) -> None:
    path = Path(path)
    if path.suffix == ".json":
        text = json.dumps({"users": users}, indent=2, sort_keys=True) + "\n"
    else:
        text = "# news-assistant users: `assistant user add NAME --role reader|editor --users FILE`\n" + "".join(
            f'\n[users."{check_name(name)}"]\nrole = "{u["role"]}"\npassword = "{u["password"]}"\n'
            for name, u in sorted(users.items()))
    write_atomic(path, lambda fh: fh.write(text.encode()), mode=0o600)


def add(path: str | os.PathLike, name: str, role: str, password: str) -> bool:
    """Add a user or replace their role and password; True when the user is new."""
    if role not in ROLES:
        raise InputError(f"role {role!r}: use {' or '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise InputError(f"the password is too short: use at least {MIN_PASSWORD} characters")
    users = load(path)
    new = check_name(name) not in users
    users[name] = {"role": role, "password": hash_password(password)}
    save(path, users)
    return new


def remove(path: str | os.PathLike, name: str) -> bool:
    users = load(path)
    if users.pop(name, None) is None:
        return False
    save(path, users)
    return True


class Directory:
    """The users file as a running server sees it: re-read when it changes on disk."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._users: dict[str, dict[str, str]] = {}
        if not self.path.exists():
            raise InputError(f"no users file at {self.path}; create it with "
                             f"`assistant user add NAME --role editor --users {self.path}`")
        self._current()

    def _current(self) -> dict[str, dict[str, str]]:
        with self._lock:
            try:
                st = self.path.stat()
                seen = (st.st_mtime_ns, st.st_size)
            except OSError:
                seen = None
            if seen != self._seen:  # a file being replaced is seen whole: save() renames it in
                self._users = load(self.path) if seen else {}
                self._seen = seen
            return self._users

    def role(self, name: str | None) -> str | None:
        entry = self._current().get(name or "")
        return entry["role"] if entry else None

    def check(self, name: str, password: str) -> bool:
        """Sign-in: an unknown name costs the same scrypt run as a known one."""
        entry = self._current().get(name)
        ok = verify_password(password, entry["password"] if entry else _DUMMY)
        return ok and entry is not None


_DUMMY = "$".join(["scrypt", str(N), str(R), str(P), _b64(bytes(16)), _b64(bytes(32))])
