"""`assistant serve` settings: command line over environment over the TOML file over defaults; and the refusal to
serve beyond loopback without sign-in."""
from __future__ import annotations

import pytest

from assistant.errors import InputError
from assistant.serve.settings import Settings, check, is_loopback, resolve


def test_defaults_are_one_person_on_loopback():
    s = resolve({}, env={})
    assert s == Settings() and s.host == "127.0.0.1" and s.port == 7860 and not s.users


def test_command_line_over_environment_over_file(tmp_path):
    config = tmp_path / "conf" / "serve.toml"
    config.parent.mkdir()
    config.write_text('host = "0.0.0.0"\nport = 8000\nusers = "users.toml"\nindex = "/srv/index"\n'
                      "read_only = true\nroot_path = \"/news\"\n")
    from_file = resolve({"config": str(config)}, env={})
    assert from_file == Settings(host="0.0.0.0", port=8000, users=str(config.parent / "users.toml"),
                                 index="/srv/index", read_only=True, root_path="/news")
    env = {"ASSISTANT_CONFIG": str(config), "ASSISTANT_PORT": "8100", "ASSISTANT_READ_ONLY": "no",
           "ASSISTANT_LOG_QUESTIONS": "1"}
    from_env = resolve({}, env=env)
    assert (from_env.port, from_env.read_only, from_env.log_questions, from_env.host) == (8100, False, True, "0.0.0.0")
    cli = resolve({"port": 9000, "read_only": True, "host": None}, env=env)
    assert (cli.port, cli.read_only, cli.host) == (9000, True, "0.0.0.0")


def test_gradios_variables_still_work_and_ours_win():
    assert resolve({}, env={"GRADIO_SERVER_NAME": "0.0.0.0", "GRADIO_SERVER_PORT": "7000"}).port == 7000
    assert resolve({}, env={"GRADIO_SERVER_NAME": "0.0.0.0", "ASSISTANT_HOST": "::1"}).host == "::1"


@pytest.mark.parametrize("cli, env, toml, message", [
    ({}, {"ASSISTANT_PORT": "http"}, None, "a port is a number"),
    ({}, {"ASSISTANT_READ_ONLY": "maybe"}, None, "use true or false"),
    ({}, {}, "hosts = 'x'\n", "unknown setting"),
    ({}, {}, "host = \n", "not valid TOML"),
])
def test_bad_settings_say_which_and_why(tmp_path, cli, env, toml, message):
    if toml is not None:
        (tmp_path / "c.toml").write_text(toml)
        cli = {"config": str(tmp_path / "c.toml")}
    with pytest.raises(InputError, match=message):
        resolve(cli, env=env)


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.0.0.2", True), ("localhost", True),
                                            ("::1", True), ("[::1]", True), ("0.0.0.0", False), ("::", False),
                                            ("192.168.1.5", False), ("news.example.org", False)])
def test_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_beyond_loopback_needs_users_or_an_explicit_no_auth():
    check(Settings())
    check(Settings(host="0.0.0.0", users="users.toml"))
    check(Settings(host="0.0.0.0", no_auth=True, read_only=True))
    with pytest.raises(InputError) as info:
        check(Settings(host="0.0.0.0"))
    assert "refusing to serve on 0.0.0.0 without sign-in" in str(info.value)
    assert "assistant serve --users users.toml --host 0.0.0.0" in str(info.value)
    with pytest.raises(InputError, match="contradict"):
        check(Settings(users="users.toml", no_auth=True))
