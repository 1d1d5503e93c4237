"""`hostd run` as a real process: its own Mosquitto, an existing broker, the
amqtt fallback; a signed rating is stored and acked; signals stop it cleanly."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from hostd_helpers import HostdProcess
from hostd_support import Client, hostd, make_home, signed_rating

from conftest import mosquitto_binary
from hostd.broker import files as broker
from hostd.web.api import ensure_token
from protocol import messages
from protocol.credentials import mqtt_password

HOSTD = [sys.executable, "-m", "hostd.cli"]


@pytest.fixture
def daemons():
    started = []
    yield started
    for daemon in started:
        daemon.stop(signal.SIGKILL)


def _device(home, device_id):
    result = hostd(home, "device", "show-config", device_id)
    assert result.exit_code == 0, result.output
    config = json.loads(result.output)
    return config, bytes.fromhex(config["key"])


def rate_and_get_ack(port, device, key, seq, hall="h1", user=None, password=None):
    """Publish a signed rating as `device`; return the verified ack fields."""
    client = Client(port, user or device, password or mqtt_password(key))
    try:
        assert client.accepted, client.reason
        base = "hcp/v1/%s/%s/" % (hall, device)
        client.subscribe(base + "ack")
        client.publish(base + "rating", signed_rating(key, device, seq, level=2))
        got = client.expect(timeout=10)
        assert got is not None, "no ack"
        return messages.decode(got[1], [key], device)
    finally:
        client.close()


def _rows(home):
    conn = sqlite3.connect(home.db_path)
    try:
        return conn.execute("SELECT device_id, seq, level FROM ratings ORDER BY seq").fetchall()
    finally:
        conn.close()


def _gone(pid, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


needs_mosquitto = pytest.mark.skipif(mosquitto_binary() is None, reason="mosquitto not installed")


@needs_mosquitto
def test_own_mosquitto_end_to_end(tmp_path, daemons):
    home = make_home(tmp_path / "home")
    assert hostd(home, "device", "add", "d1", "--window", "1").exit_code == 0
    daemons.append(HostdProcess(home))
    config, key = _device(home, "d1")
    port = config["broker_port"]
    pid = broker.running_pid(home)
    assert pid is not None

    ack = rate_and_get_ack(port, "d1", key, seq=1)
    assert ack[1] == messages.ACK and ack[3] == 1 and ack[4] == messages.STORED
    assert _rows(home) == [("d1", 1, 2)]
    assert rate_and_get_ack(port, "d1", key, seq=1)[4] == messages.DUPLICATE

    web = "http://127.0.0.1:%d" % home.config()["web"]["port"]
    page = urllib.request.urlopen(web + "/", timeout=5)  # not logged in: the login page
    assert page.url.endswith("/login?next=/dashboard") or "/login" in page.url
    assert "登录" in page.read().decode()
    with pytest.raises(urllib.error.HTTPError) as refused:  # device ids are MQTT logins: not public
        urllib.request.urlopen(web + "/status", timeout=5)
    assert refused.value.code == 401
    request = urllib.request.Request(
        web + "/status", headers={"Authorization": "Bearer " + ensure_token(home)}
    )
    status = json.loads(urllib.request.urlopen(request, timeout=5).read())
    assert [d["device_id"] for d in status["fleet"]] == ["d1"]

    # registry changes while hostd runs are live, without a restart
    assert "reloaded" in hostd(home, "device", "add", "d2", "--window", "2").output
    _, key2 = _device(home, "d2")
    assert rate_and_get_ack(port, "d2", key2, seq=1)[4] == messages.STORED
    assert hostd(home, "device", "revoke", "d1").exit_code == 0
    refused = Client(port, "d1", mqtt_password(key))
    assert not refused.accepted
    refused.close()
    assert broker.running_pid(home) == pid

    assert daemons[0].stop(signal.SIGTERM) == 0
    assert "hostd stopped" in daemons[0].text()
    assert _gone(pid), "mosquitto outlived hostd"


@needs_mosquitto
def test_sigkill_leaves_no_broker_behind(tmp_path, daemons):
    home = make_home(tmp_path / "home")
    daemons.append(HostdProcess(home))
    pid = broker.running_pid(home)
    daemons[0].stop(signal.SIGKILL)
    assert _gone(pid), "mosquitto outlived a SIGKILLed hostd"
    daemons.append(HostdProcess(home))  # the same home starts again at once
    assert daemons[1].stop(signal.SIGINT) == 0


@needs_mosquitto
def test_existing_broker(tmp_path, daemons, mosquitto):
    home = make_home(tmp_path / "home")
    assert hostd(home, "device", "add", "d1", "--window", "1").exit_code == 0
    url = "mqtt://127.0.0.1:%d" % mosquitto.port
    daemons.append(HostdProcess(home, "--broker", url))
    assert "existing broker %s" % url in daemons[0].text()
    assert not (home.broker / "mosquitto.conf").exists()
    assert broker.running_pid(home) is None
    _, key = _device(home, "d1")
    ack = rate_and_get_ack(mosquitto.port, "d1", key, seq=7)
    assert ack[3] == 7 and ack[4] == messages.STORED
    assert _rows(home) == [("d1", 7, 2)]
    assert daemons[0].stop() == 0


def test_amqtt_fallback(tmp_path, daemons):
    home = make_home(tmp_path / "home")
    assert hostd(home, "device", "add", "d1", "--window", "1").exit_code == 0
    daemons.append(HostdProcess(home, env={"HOSTD_MOSQUITTO": str(tmp_path / "no-mosquitto")}))
    assert "FALLBACK" in daemons[0].text() and "amqtt" in daemons[0].text()
    config, key = _device(home, "d1")
    ack = rate_and_get_ack(config["broker_port"], "d1", key, seq=3)
    assert ack[4] == messages.STORED
    assert _rows(home) == [("d1", 3, 2)]
    wrong = Client(config["broker_port"], "d1", "wrong")
    assert not wrong.accepted
    wrong.close()
    assert daemons[0].stop() == 0


@needs_mosquitto
def test_broker_that_cannot_start_is_one_line(tmp_path):
    home = make_home(tmp_path / "home")
    for name in ("bad.crt", "bad.key"):
        (tmp_path / name).write_text("not a certificate\n")
    home.set("broker", "tls_cert", str(tmp_path / "bad.crt"))
    home.set("broker", "tls_key", str(tmp_path / "bad.key"))
    from conftest import free_port

    home.set("broker", "tls_port", free_port())
    proc = subprocess.run(
        [*HOSTD, "--home", str(home.path), "run"], capture_output=True, text=True, timeout=90
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "mosquitto did not start" in errors[0], proc.stderr
    assert broker.running_pid(home) is None
