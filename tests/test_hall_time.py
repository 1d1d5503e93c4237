"""One time zone everywhere (issue 19): the hall's (China Standard Time,
UTC+8), whatever the host's TZ. The CLI run under TZ=UTC and under
TZ=America/New_York prints the same times; the log is stamped in it;
hall.timezone takes only a zone at UTC+8 all year."""

import json
import logging
import os
import re
import subprocess
import sys

import pytest
from hostd_helpers import HostdProcess, SigningDevice, rating_fields
from hostd_support import hostd, make_home
from test_pages_auth import hall, seeded_home  # noqa: F401  (fixtures)

from hostd.base import config as config_schema
from hostd.base import hall_time
from hostd.base.errors import ConfigError
from hostd.db.store import open_database
from hostd.devices import registry
from hostd.recording.device_ratings import upsert_status
from protocol import messages
from protocol.credentials import mqtt_password

SEEN = 1796000000  # 2026-11-30 00:53:20 UTC = 2026-11-30 08:53:20 in Beijing


def cli(home, tz, *args):
    out = subprocess.run(
        [sys.executable, "-m", "hostd.cli", "--home", str(home.path), *args],
        env={**os.environ, "TZ": tz},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_the_cli_prints_the_halls_time_whatever_the_hosts_tz(tmp_path):
    home = make_home(tmp_path / "home")
    assert hostd(home, "device", "add", "w01-a", "--window", "01").exit_code == 0
    db = open_database(home.db_path)
    status = {"device": "w01-a", "state": messages.ONLINE, "fw": "0.2.0", "outbox": 0, "heap": 60000,
              "synced": True, "uptime": 5, "next_seq": 1, "reset": 1, "boots": 1}  # fmt: skip
    with db.conn:
        upsert_status(db, status, "h1", SEEN)
    db.conn.close()
    utc = cli(home, "UTC", "device", "list")
    new_york = cli(home, "America/New_York", "device", "list")
    assert "2026-11-30 08:53:20" in utc and utc == new_york


def test_the_log_is_stamped_in_the_halls_time():
    formatter = hall_time.LogFormatter("%(asctime)s %(message)s")
    record = logging.LogRecord("hostd", logging.INFO, __file__, 1, "ready", None, None)
    record.created, record.msecs = SEEN, 0
    assert formatter.format(record) == "2026-11-30 08:53:20,000 ready"
    assert hall_time.when(SEEN) == "2026-11-30 08:53" and hall_time.when(None) == "-"
    assert hall_time.day_start(SEEN) == SEEN - (8 * 3600 + 53 * 60 + 20)


@pytest.mark.parametrize(
    "zone, ok",
    [
        ("Asia/Shanghai", True),
        ("Asia/Hong_Kong", True),
        ("UTC", False),
        ("America/New_York", False),  # daylight saving, and not UTC+8
        ("Nowhere/Else", False),
    ],
)
def test_hall_timezone_takes_a_zone_at_utc_plus_8_only(zone, ok):
    assert hall_time.valid_zone(zone) is ok
    values = config_schema.defaults()
    values["hall"]["timezone"] = zone
    if ok:
        assert config_schema.validate(values)["hall"]["timezone"] == zone
    else:
        with pytest.raises(ConfigError, match="hall.timezone"):
            config_schema.validate(values)


def test_the_pages_show_the_same_times_under_any_host_tz(hall, monkeypatch):  # noqa: F811
    import time

    from test_pages_auth import client_for, login

    ctx, _made = hall
    pages = []
    for tz in ("UTC", "America/New_York"):
        monkeypatch.setenv("TZ", tz)
        time.tzset()
        client = client_for(ctx)
        login(client, "zhao")
        page = client.get("/ratings?days=30").text
        pages.append(re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d", page))  # every time it shows
    monkeypatch.delenv("TZ")
    time.tzset()
    assert pages[0] and pages[0] == pages[1]


def test_json_logs_are_one_object_a_line_in_the_halls_time(tmp_path):
    formatter = hall_time.JsonLogFormatter()
    try:
        raise ValueError("boom")
    except ValueError:
        exc = sys.exc_info()
        record = logging.LogRecord("hostd.web", logging.ERROR, __file__, 1, "error %s", ("x1",), exc)
    record.created, record.msecs = SEEN, 0
    line = json.loads(formatter.format(record))
    assert line["time"] == "2026-11-30T08:53:20+08:00" and line["level"] == "ERROR"
    assert line["logger"] == "hostd.web" and line["message"] == "error x1"
    assert "ValueError: boom" in line["traceback"]
    home = make_home(tmp_path / "home")
    home.set("log", "format", "json")
    assert hostd(home, "device", "add", "w1", "--window", "01").exit_code == 0
    db = open_database(home.db_path)
    key = registry.device_key(db, "w1")
    db.conn.close()
    daemon = HostdProcess(home)
    try:
        port = home.config()["broker"]["port"]
        device = SigningDevice(port, "h1", "w1", key, username="w1", password=mqtt_password(key))
        device.publish(device.sign(rating_fields("w1", 1), key=bytes(32)))  # a forged signature
        daemon.wait_for("rejected message from device w1")
        device.close()
        records = [json.loads(text) for text in daemon.text().splitlines() if text.startswith("{")]
    finally:
        daemon.stop()
    assert any(r["message"].startswith("hostd ready") for r in records)
    assert all(set(r) >= {"time", "level", "logger", "message"} for r in records)
    (rejected,) = [r for r in records if r["message"].startswith("rejected message")]
    assert rejected["device"] == "w1"  # a field of its own: a collector filters on it
    assert all("device" not in r for r in records if r["message"].startswith("hostd ready"))


def test_a_log_record_names_what_it_is_about():
    formatter = hall_time.JsonLogFormatter()
    record = logging.LogRecord("hostd.alerts", logging.WARNING, __file__, 1, "order late", (), None)
    record.__dict__.update(hall_time.about(order=42, session="s-9"))
    line = json.loads(formatter.format(record))
    assert (line["order"], line["session"]) == (42, "s-9") and "device" not in line
