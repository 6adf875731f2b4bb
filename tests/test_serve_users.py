"""The users file: scrypt hashes (never the password), TOML and JSON, atomic 0600 writes, re-read when it changes;
and `assistant user add|remove|list`."""
from __future__ import annotations

import io
import json
import os
import stat
import time

import pytest

from assistant.cli import main
from assistant.errors import InputError
from assistant.serve import users


def test_a_hash_verifies_its_password_only():
    stored = users.hash_password("correct horse")
    assert stored.startswith("scrypt$32768$8$1$") and "correct horse" not in stored
    assert users.verify_password("correct horse", stored)
    assert not users.verify_password("correct horsE", stored)
    assert users.hash_password("correct horse") != stored  # a fresh salt each time


@pytest.mark.parametrize("stored", ["", "plain-text", "md5$abc", "scrypt$x$8$1$AA==$AA==", "scrypt$16384$8$1$!!$AA=="])
def test_a_malformed_hash_never_matches(stored):
    assert not users.verify_password("anything", stored)


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_add_writes_hashes_and_roles_with_mode_0600(tmp_path, suffix):
    path = tmp_path / f"users{suffix}"
    assert users.add(path, "alice.smith@desk", "editor", "password-1")
    assert users.add(path, "bob", "reader", "password-2")
    assert not users.add(path, "bob", "editor", "password-3")  # an update, not a new user
    text = path.read_text()
    assert "password-" not in text
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    loaded = users.load(path)
    assert {n: u["role"] for n, u in loaded.items()} == {"alice.smith@desk": "editor", "bob": "editor"}
    assert users.verify_password("password-3", loaded["bob"]["password"])
    if suffix == ".json":
        assert json.loads(text)["users"]["bob"]["role"] == "editor"
    assert users.remove(path, "bob") and not users.remove(path, "bob")
    assert list(users.load(path)) == ["alice.smith@desk"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temp file left


@pytest.mark.parametrize("name, role, password, message", [
    ("a b", "reader", "password-1", "user name"),
    ('x"]', "reader", "password-1", "user name"),
    ("alice", "admin", "password-1", "role 'admin'"),
    ("alice", "reader", "short", "too short"),
])
def test_bad_names_roles_and_passwords_are_refused(tmp_path, name, role, password, message):
    with pytest.raises(InputError, match=message):
        users.add(tmp_path / "users.toml", name, role, password)
    assert not (tmp_path / "users.toml").exists()


@pytest.mark.parametrize("text, message", [
    ("[users.a]\nrole = 'boss'\npassword = 'x'\n", "needs role"),
    ("users = 3\n", "expected a"),
    ("[users\n", "not valid TOML"),
])
def test_a_malformed_file_says_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "users.toml"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        users.load(path)


def test_the_directory_rereads_the_file_when_it_changes(tmp_path):
    path = tmp_path / "users.toml"
    users.add(path, "alice", "reader", "password-1")
    directory = users.Directory(path)
    assert directory.role("alice") == "reader" and directory.role("bob") is None and directory.role(None) is None
    assert directory.check("alice", "password-1") and not directory.check("alice", "password-2")
    assert not directory.check("bob", "password-1")
    time.sleep(0.01)
    users.add(path, "alice", "editor", "password-2")
    assert directory.role("alice") == "editor" and directory.check("alice", "password-2")
    users.remove(path, "alice")
    assert directory.role("alice") is None


def test_a_missing_users_file_names_the_command_that_makes_it(tmp_path):
    with pytest.raises(InputError, match="assistant user add NAME --role editor"):
        users.Directory(tmp_path / "users.toml")


def test_the_user_commands(tmp_path, monkeypatch, capsys):
    path = tmp_path / "users.toml"
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret-words\n"))
    assert main(["user", "add", "ed", "--role", "editor", "--users", str(path), "--password-stdin"]) == 0
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "reader-words")
    assert main(["user", "add", "rita", "--role", "reader", "--users", str(path)]) == 0
    assert main(["user", "list", "--users", str(path)]) == 0
    out = capsys.readouterr().out
    assert "added ed (editor)" in out and "ed\teditor\nrita\treader" in out
    assert users.Directory(path).check("ed", "s3cret-words") and users.Directory(path).check("rita", "reader-words")
    answers = iter(["one-password", "another-one"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert main(["user", "add", "rita", "--role", "editor", "--users", str(path)]) == 2
    assert "the two passwords differ" in capsys.readouterr().err
    assert main(["user", "remove", "nobody", "--users", str(path)]) == 1
    assert main(["user", "remove", "rita", "--users", str(path)]) == 0
    assert list(users.load(path)) == ["ed"]
