"""`assistant serve` and `assistant user add|remove|list`: argument parsing only; the work is in this package."""
from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from pathlib import Path

from ..errors import InputError
from ..ui.access import ROLES
from . import settings as serve_settings
from . import users

DEFAULT_USERS = "users.toml"


def add_commands(sub: argparse._SubParsersAction, logging_options: Callable[..., None]) -> None:
    p = sub.add_parser("serve", help="serve the web chat to a team: sign-in and roles, read-only mode, "
                                     "/healthz and /metrics")
    serve_settings.add_arguments(p)
    logging_options(p, top=False)
    p.set_defaults(func=cmd_serve, opens_index=False)

    p = sub.add_parser("user", help="manage the users file of `assistant serve --users`")
    logging_options(p, top=False)
    p.set_defaults(opens_index=False)
    actions = p.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add a user, or change their role and password")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, required=True, help="reader: chat and sources; editor: also upload, "
                                                                   "fetch and remove")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input "
                                                                   "(for scripts) instead of asking twice")
    remove = actions.add_parser("remove", help="remove a user (their open sessions lose access at once)")
    remove.add_argument("name")
    listing = actions.add_parser("list", help="names and roles")
    for q in (add, remove, listing):
        q.add_argument("--users", default=DEFAULT_USERS, metavar="FILE",
                       help=f"the users file, TOML or .json (default {DEFAULT_USERS})")
        q.set_defaults(func=cmd_user)


def cmd_serve(args: argparse.Namespace) -> int:
    settings = serve_settings.resolve(vars(args))
    serve_settings.check(settings)  # a refusal comes at once, before gradio loads
    from .server import run

    return run(settings)


def cmd_user(args: argparse.Namespace) -> int:
    path = Path(args.users)
    if args.action == "list":
        for name, entry in sorted(users.load(path).items()):
            print(f"{name}\t{entry['role']}")
        return 0
    if args.action == "remove":
        if not users.remove(path, args.name):
            print(f"error: no user {args.name!r} in {path}", file=sys.stderr)
            return 1
        print(f"removed {args.name} from {path}")
        return 0
    users.check_name(args.name)
    new = users.add(path, args.name, args.role, _password(args.password_stdin))
    print(f"{'added' if new else 'updated'} {args.name} ({args.role}) in {path}")
    return 0


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise InputError("the two passwords differ; nothing was written")
    return first
