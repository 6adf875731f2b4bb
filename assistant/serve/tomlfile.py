"""Reading TOML (the users file, the serve config) with the standard library's tomllib (Python 3.11+)."""
from __future__ import annotations

from ..errors import InputError


def parse(text: str, what: str) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        raise InputError(f"{what}: reading TOML needs Python 3.11 or later; use a .json file instead") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{what}: not valid TOML ({exc})") from exc
