"""Alerts (hostd/alerts/): each condition raises its alert, and an alert is
raised once and cleared once (across restarts too). The watch runs on a
real Store with a clock the test sets. The webhook: test_alerts_webhook.py.
"""

import datetime
import logging
import re
import sqlite3
import time

import httpx
import pytest
from hostd_helpers import HostdProcess, wait_for
from hostd_support import hostd, make_home
from robot_receiver import Robot
from test_doctor import _certificate
from workorder_fixtures import hall_db, served_and_rated

from hostd.alerts import conditions, hours, ledger, webhook
from hostd.alerts.watch import AlertWatch
from hostd.base import hall_time
from hostd.base.config import defaults
from hostd.base.context import Context
from hostd.db.store import Store

ZONE = hall_time.ZONE


def at(text):
    """UTC seconds of a hall time "2026-12-02 10:00"."""
    return datetime.datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=ZONE).timestamp()


class Clock:
    def __init__(self, t):
        self.t = t

    def now(self):
        return self.t

    def __call__(self):
        return self.t


def config(**alerts):
    c = defaults()
    c["alerts"].update(alerts)
    c["rating"]["holiday_file"] = ""
    return c


@pytest.mark.parametrize(
    "when, is_open",
    [
        ("2026-12-02 10:00", True),  # a Wednesday morning
        ("2026-12-02 08:29", False),
        ("2026-12-02 12:30", False),  # lunch
        ("2026-12-02 17:29", True),
        ("2026-12-02 17:30", False),
        ("2026-12-05 10:00", False),  # a Saturday
        ("2026-10-01 10:00", False),  # National Day
        ("2026-09-20 10:00", True),  # a Sunday worked in exchange (调休)
    ],
)
def test_opening_hours_follow_the_calendar(when, is_open):
    assert hours.is_open(config(), at(when)) is is_open


def test_opening_hours_setting_is_checked():
    assert hall_time.valid_spans(["08:30-12:00", "13:30-17:30"])
    for bad in (["8-12"], ["12:00-08:00"], ["08:30-25:00"], "08:30-12:00", [830]):
        assert not hall_time.valid_spans(bad), bad


class Hall:
    """A home with two devices, its Store, and an AlertWatch on a set clock."""

    def __init__(self, tmp_path, **alerts):
        self.home = make_home(tmp_path / "home")
        for device, window in (("d1", "01"), ("d2", "02")):
            assert hostd(self.home, "device", "add", device, "--window", window).exit_code == 0
        for key, value in alerts.items():
            self.home.set("alerts", key, value)
        self.clock = Clock(at("2026-12-02 10:00"))
        self.store = Store(self.home.db_path)
        self.store.run(
            lambda db: db.execute("UPDATE devices SET created_at = ?", (int(self.clock.t) - 86400,))
        )
        self.ctx = Context(self.home, self.home.config(), self.store, clock=self.clock)

    def watch(self, sender=None):
        return AlertWatch(self.ctx, sender=sender, interval=60)

    def heard(self, device, when):
        self.store.run(
            lambda db: db.execute(
                "INSERT INTO device_status (device_id, hall, state, last_seen) VALUES (?, 'h1', 'online', ?)"
                " ON CONFLICT (device_id) DO UPDATE SET last_seen = excluded.last_seen",
                (device, int(when)),
            )
        )

    def rows(self):
        with self.store.read() as db:
            return db.execute("SELECT key, raised_at, cleared_at FROM alerts ORDER BY id").fetchall()

    def keys(self, kind):
        return [key for key, _r, cleared in self.rows() if key.startswith(kind) and cleared is None]

    def close(self):
        self.store.close()


@pytest.fixture
def hall(tmp_path):
    h = Hall(tmp_path, device_silent_minutes=10)
    yield h
    h.close()


def test_a_silent_device_is_raised_in_opening_hours_once_and_cleared_once(hall):
    hall.heard("d1", hall.clock.t)
    hall.heard("d2", hall.clock.t)
    watch = hall.watch()
    assert [r for r in watch.once()[0] if r["kind"] == "device_silent"] == []  # both just heard
    hall.clock.t += 11 * 60  # 10:11: d2 has said nothing for 11 minutes
    hall.heard("d1", hall.clock.t)
    raised, _ = watch.once()
    assert [r["key"] for r in raised if r["kind"] == "device_silent"] == ["device_silent:d2"]
    assert "d2" in raised[0]["message"] and "02 号窗口" in raised[0]["message"]
    hall.clock.t += 60
    hall.heard("d1", hall.clock.t)
    assert [r for r in watch.once()[0] if r["kind"] == "device_silent"] == []  # raised once
    hall.heard("d2", hall.clock.t)
    _, cleared = watch.once()
    assert [r["key"] for r in cleared] == ["device_silent:d2"]
    assert [r for r in watch.once()[1] if r["kind"] == "device_silent"] == []  # cleared once
    silent = [row for row in hall.rows() if row[0] == "device_silent:d2"]
    assert len(silent) == 1 and silent[0][2] is not None


def test_silence_out_of_hours_raises_nothing_and_an_open_alert_stays(hall):
    hall.clock.t = at("2026-12-02 11:30")
    watch = hall.watch()
    hall.clock.t = at("2026-12-02 11:50")
    hall.heard("d1", hall.clock.t - 3600)
    hall.heard("d2", hall.clock.t)
    watch.once()
    assert hall.keys("device_silent") == ["device_silent:d1"]
    hall.clock.t = at("2026-12-02 12:40")  # lunch: d2 silent too, but nobody is at the windows
    watch.once()
    assert hall.keys("device_silent") == ["device_silent:d1"]  # d1's stays until it is heard from
    hall.clock.t = at("2026-12-05 10:00")  # Saturday
    watch.once()
    assert hall.keys("device_silent") == ["device_silent:d1"]
    hall.heard("d1", hall.clock.t)
    watch.once()
    assert hall.keys("device_silent") == []


def test_a_restart_raises_nothing_twice(hall):
    hall.heard("d1", hall.clock.t - 3600)
    hall.heard("d2", hall.clock.t - 3600)
    watch = hall.watch()
    hall.clock.t += 3600
    first = watch.once()[0]
    assert {r["key"] for r in first} >= {"device_silent:d1", "device_silent:d2"}
    again = hall.watch().once()[0]  # a new watch, as after a restart: the ledger remembers
    assert again == []


def test_a_restart_or_the_morning_is_no_storm(hall):
    """Silence counts in opening hours only, and only since hostd watched."""
    hall.clock.t = at("2026-12-01 17:25")  # devices switched off at closing time
    hall.heard("d1", hall.clock.t)
    hall.heard("d2", hall.clock.t)
    hall.clock.t = at("2026-12-02 07:00")
    watch = hall.watch()  # hostd runs on overnight
    hall.clock.t = at("2026-12-02 08:31")  # open one minute: nobody is late yet
    assert [r for r in watch.once()[0] if r["kind"] == "device_silent"] == []
    hall.clock.t = at("2026-12-02 08:40")
    hall.heard("d1", hall.clock.t)  # d1 is switched on; d2 is not
    hall.clock.t = at("2026-12-02 08:41")  # d2 silent 11 open minutes
    raised = [r["key"] for r in watch.once()[0] if r["kind"] == "device_silent"]
    assert raised == ["device_silent:d2"]
    hall.clock.t = at("2026-12-02 10:00")
    restarted = hall.watch()  # a restart: d1 silent since 08:40, but only since now counts
    hall.clock.t += 60
    assert [r for r in restarted.once()[0] if r["kind"] == "device_silent"] == []
    assert hall.keys("device_silent") == ["device_silent:d2"]  # still open across the restart
    hall.clock.t += 10 * 60
    assert [r["key"] for r in restarted.once()[0] if r["kind"] == "device_silent"] == ["device_silent:d1"]


def test_every_condition_raises_its_alert(tmp_path):
    h = Hall(tmp_path, disk_free_pct=99, backlog_hours=2)
    try:
        covered = tmp_path / "holidays.toml"
        covered.write_text('[2027]\nholidays = ["2027-01-01"]\nworkdays = []\n')
        h.ctx.config["rating"]["holiday_file"] = str(covered)  # the calendar lacks no year
        cert = tmp_path / "cert.pem"
        _certificate(cert, 10)
        h.ctx.config["broker"]["tls_cert"] = str(cert)
        h.ctx.config["upstream"]["url"] = "http://127.0.0.1:9/"
        h.store.run(
            lambda db: db.execute(
                "INSERT INTO upstream_outbox (target, kind, key, ref, body, created_at)"
                " VALUES ('province', 'rating', 'r-1', 'r-1', '{}', ?)",
                (int(h.clock.t - 3 * 3600),),
            )
        )

        class Stopped:
            running = False
            problem = "litestream exited with code 1"

        h.ctx.replicator = Stopped()
        h.clock.t = at("2026-12-05 10:00")  # a Saturday: no device alerts to wade through
        raised = {r["kind"]: r for r in h.watch().once()[0]}
        assert set(raised) == {"disk_low", "cert_expiring", "upstream_backlog", "backup_down"}, raised
        days = re.search(r"将在 (\d+) 天后到期", raised["cert_expiring"]["message"])
        assert days and int(days.group(1)) < conditions.CERT_DAYS  # a certificate made to end in 10 days
        assert "1 条记录" in raised["upstream_backlog"]["message"]
        assert "exited with code 1" in raised["backup_down"]["message"]
    finally:
        h.close()


def test_a_calendar_lacking_a_year_within_60_days():
    c = config()
    assert set(conditions.calendar_missing(c, at("2035-11-20 10:00"))) == {
        "calendar_missing:2035",
        "calendar_missing:2036",
    }
    assert conditions.calendar_missing(c, at("2026-03-01 10:00")) == {}


class FakeReplicator:
    backup = {"sync_interval_s": 1}
    started_at = 0.0  # long ago

    def __init__(self, running=True, problem=None, state=None):
        self.running, self.problem, self.state = running, problem, state or {"behind": 0, "age": 5.0}

    def lag(self):
        return self.state


def test_a_backup_that_stopped_or_trails_is_an_alert():
    assert conditions.backup_down(None) == {}
    assert conditions.backup_down(FakeReplicator()) == {}  # in step
    assert conditions.backup_down(FakeReplicator(state={"behind": 3, "age": 20.0})) == {}  # catching up
    (late,) = conditions.backup_down(FakeReplicator(state={"behind": 3, "age": 900.0})).values()
    assert late["key"] == "backup_down:replica" and "最近 3 个改动" in late["message"]
    (gone,) = conditions.backup_down(FakeReplicator(state={"error": "dial tcp: refused"})).values()
    assert "无法读取" in gone["message"] and "refused" in gone["message"]
    young = FakeReplicator(state={"behind": 5, "age": None})
    young.started_at = time.monotonic()  # just started: its first snapshot is on its way
    assert conditions.backup_down(young) == {}
    young.started_at = 0.0
    assert list(conditions.backup_down(young)) == ["backup_down:replica"]
    (dead,) = conditions.backup_down(FakeReplicator(running=False, problem="not mounted")).values()
    assert dead["key"] == "backup_down:litestream" and "not mounted" in dead["message"]


def test_a_condition_that_cannot_be_read_stops_no_other(hall, tmp_path, caplog):
    watch = hall.watch()
    hall.clock.t += 3600
    watch.once()
    assert hall.keys("device_silent")  # never heard from, an hour into opening hours
    hall.ctx.config["rating"]["holiday_file"] = str(tmp_path / "missing.toml")  # the calendar cannot load
    hall.ctx.config["alerts"]["disk_free_pct"] = 99
    with caplog.at_level(logging.ERROR, "hostd.alerts"):
        raised, cleared = watch.once()
        watch.once()
    assert [r["kind"] for r in raised] == ["disk_low"] and cleared == []  # device alerts kept, not cleared
    assert hall.keys("device_silent")
    broken = [r for r in caplog.records if "cannot be checked" in r.getMessage()]
    assert {r.getMessage().split()[2] for r in broken} == {"device_silent", "calendar_missing"}
    assert len(broken) == 2  # once each, not every minute


def test_an_overdue_work_order_is_an_alert(tmp_path):
    db = hall_db(tmp_path)
    start = at("2026-11-02 09:00")
    with db.conn:
        served_and_rated(db, "a", "1", "s1", 1, start)
    db.conn.close()
    store = Store(tmp_path / "hostd.db")
    try:
        clock = Clock(start + 60)
        ctx = Context(None, config(), store, clock=clock)
        with store.read() as rdb:
            assert conditions.order_overdue(rdb, clock.t) == {}
        clock.t = start + 10 * 86400
        with store.read() as rdb:
            late = conditions.order_overdue(rdb, clock.t)
        assert len(late) == 1
        (alert,) = late.values()
        assert alert["kind"] == "order_overdue" and "已超期" in alert["message"] and ctx.store is store
    finally:
        store.close()
