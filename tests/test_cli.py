"""The hostd command line: help everywhere, the home, devices, one-line errors."""

import json
import socket
import stat

import click
import pytest
from click.testing import CliRunner
from hostd_support import hostd, make_home

from hostd.base.home import Home
from hostd.cli import cli


def _commands(group, prefix=()):
    for name, command in group.commands.items():
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from _commands(command, prefix + (name,))


ALL_COMMANDS = [path for path, _ in _commands(cli)]


def test_the_commands_we_promise_exist():
    for path in [
        ("init",),
        ("run",),
        ("device", "add"),
        ("device", "list"),
        ("device", "revoke"),
        ("device", "rotate-key"),
        ("device", "show-config"),
    ]:
        assert path in ALL_COMMANDS


@pytest.mark.parametrize("path", [()] + ALL_COMMANDS, ids=lambda p: " ".join(p) or "hostd")
def test_every_command_is_documented(path):
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0
    assert "Example: hostd " in result.output


def _one_line_error(result, code, *words):
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    for word in words:
        assert word in lines[0]


def test_init_creates_the_home(tmp_path):
    result = CliRunner().invoke(cli, ["--home", str(tmp_path / "h"), "init", "--hall", "hall-7"])
    assert result.exit_code == 0, result.output
    home = Home(tmp_path / "h")
    assert home.config()["hall"]["id"] == "hall-7"
    assert home.config()["broker"]["port"] == 1883
    assert home.config()["web"]["port"] == 8080
    assert home.db_path.is_file()
    assert stat.S_IMODE(home.keys.stat().st_mode) == 0o700
    assert stat.S_IMODE(home.host_password_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.db_path.stat().st_mode) == 0o600  # it holds device keys
    assert len(home.host_password()) == 32
    assert home.broker.is_dir()


def test_home_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("HOSTD_HOME", str(tmp_path / "env-home"))
    assert CliRunner().invoke(cli, ["init"]).exit_code == 0
    assert (tmp_path / "env-home" / "hostd.toml").is_file()


def test_no_home_is_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("HOSTD_HOME", raising=False)
    _one_line_error(CliRunner().invoke(cli, ["device", "list"]), 1, "--home", "HOSTD_HOME")
    result = CliRunner().invoke(cli, ["--home", str(tmp_path), "device", "list"])
    _one_line_error(result, 1, "hostd --home", "init")


def test_init_twice_is_one_line(tmp_path):
    home = make_home(tmp_path / "h")
    _one_line_error(hostd(home, "init"), 1, "already")


def test_bad_hall_at_init(tmp_path):
    result = CliRunner().invoke(cli, ["--home", str(tmp_path / "h"), "init", "--hall", "a/b"])
    _one_line_error(result, 2, "hall.id")


def test_device_lifecycle(tmp_path):
    home = make_home(tmp_path / "h")
    result = hostd(home, "device", "add", "w01-a", "--window", "1")
    assert result.exit_code == 0, result.output
    assert "w01-a" in result.output and "show-config" in result.output
    config = json.loads(hostd(home, "device", "show-config", "w01-a").output)
    assert config["device_id"] == "w01-a" and config["hall"] == "h1"
    assert config["window"] == "1" and len(bytes.fromhex(config["key"])) == 32
    assert config["broker_host"] == "127.0.0.1"
    assert config["broker_port"] == home.config()["broker"]["port"]
    listing = hostd(home, "device", "list").output
    assert "last seen" in listing and "w01-a" in listing
    assert hostd(home, "device", "rotate-key", "w01-a", "--overlap-hours", "2").exit_code == 0
    rotated = json.loads(hostd(home, "device", "show-config", "w01-a").output)
    assert rotated["key"] != config["key"]
    assert hostd(home, "device", "revoke", "w01-a").exit_code == 0
    row = [line for line in hostd(home, "device", "list").output.splitlines() if "w01-a" in line]
    assert row[0].split()[-1] == "yes"
    _one_line_error(hostd(home, "device", "show-config", "w01-a"), 1, "revoked")


def test_device_mistakes_are_one_line(tmp_path):
    home = make_home(tmp_path / "h")
    hostd(home, "device", "add", "d1", "--window", "1")
    _one_line_error(hostd(home, "device", "add", "d1", "--window", "1"), 1, "already exists")
    _one_line_error(hostd(home, "device", "add", "bad/id", "--window", "1"), 2, "bad/id")
    _one_line_error(hostd(home, "device", "add", "#", "--window", "1"), 2)
    _one_line_error(hostd(home, "device", "add", "hostd", "--window", "1"), 2, "reserved")
    _one_line_error(hostd(home, "device", "revoke", "nope"), 1, "nope", "device list")
    _one_line_error(hostd(home, "device", "rotate-key", "nope"), 1, "nope")
    _one_line_error(hostd(home, "device", "show-config", "nope"), 1, "nope")


def test_empty_device_list_says_what_to_do(tmp_path):
    home = make_home(tmp_path / "h")
    assert "hostd device add" in hostd(home, "device", "list").output


@pytest.mark.parametrize(
    "toml, words",
    [
        ("[broker]\nprot = 1\n", ["broker.prot", "port"]),
        ("[broker]\nport = 70000\n", ["broker.port", "1-65535"]),
        ('[broker]\nport = "x"\n', ["broker.port"]),
        ('[log]\nlevel = "LOUD"\n', ["log.level", "INFO"]),
        ("[webb]\nport = 1\n", ["[webb]", "web"]),
        ('[hall]\nid = "a b"\n', ["hall.id"]),
        ("[broker]\ntls_port = 8883\n", ["tls_cert"]),
        ('[broker]\nurl = "http://x"\n', ["broker.url"]),
        ("not toml [", ["not valid TOML"]),
    ],
)
def test_config_errors_name_the_key(tmp_path, toml, words):
    home = make_home(tmp_path / "h")
    home.config_path.write_text(toml)
    _one_line_error(hostd(home, "device", "list"), 2, *words)


def test_partial_config_takes_defaults(tmp_path):
    home = make_home(tmp_path / "h")
    home.config_path.write_text('[hall]\nid = "x"\n')
    config = home.config()
    assert config["hall"]["id"] == "x" and config["broker"]["port"] == 1883
    assert config["log"]["level"] == "INFO"


def test_run_with_bad_broker_url(tmp_path):
    home = make_home(tmp_path / "h")
    _one_line_error(hostd(home, "run", "--broker", "http://x:1"), 2, "mqtt://")


def test_run_with_port_in_use(tmp_path):
    home = make_home(tmp_path / "h")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", home.config()["web"]["port"]))
        busy.listen()
        result = hostd(home, "run")
    _one_line_error(result, 1, "is another program using it")
