"""Evaluator data kept no longer than needed, and who read it (001 四(三),
003 第十条, 004 第十三条): rate-later addresses purged privacy.retention_days
after the rating, on hostd run's clock; `hostd privacy report`."""

import sqlite3

from hostd_support import hostd, make_home
from workorder_fixtures import T0, add_rating, hall_db

from hostd.base.config import defaults
from hostd.base.context import Context
from hostd.db.store import Store
from hostd.recording.retention import Retention

DAY = 86400


class Clock:
    def __init__(self, t):
        self.t = t

    def now(self):
        return self.t


def test_rate_later_addresses_are_purged_after_the_retention_days(tmp_path):
    db = hall_db(tmp_path)
    with db.conn:
        old = add_rating(db, 4, T0, window="1", channel="qr", client_addr="10.0.0.7")
        new = add_rating(db, 5, T0 + 20 * DAY, window="1", channel="qr", client_addr="10.0.0.8")
        device = add_rating(db, 5, T0, window="1")
    db.conn.close()
    store = Store(tmp_path / "hostd.db")
    config = defaults()
    clock = Clock(T0 + 29 * DAY)
    try:
        watch = Retention(Context(None, config, store, clock=clock))
        assert watch.once() == 0  # 29 days: kept, the fraud signals may still need it
        clock.t = T0 + 31 * DAY
        assert watch.once() == 1
        assert watch.once() == 0  # nothing twice
    finally:
        store.close()
    with sqlite3.connect(tmp_path / "hostd.db") as conn:
        rows = dict(conn.execute("SELECT id, client_addr FROM ratings").fetchall())
    assert rows == {old: None, new: "10.0.0.8", device: None}  # the ratings stay; one address goes


def test_who_read_evaluator_data_is_reported(tmp_path):
    home = make_home(tmp_path / "home")
    at = T0 + 3 * DAY  # 2026-11-05
    with sqlite3.connect(home.db_path) as conn:
        conn.executemany(
            "INSERT INTO evaluator_access (at, username, role, rating_id, fields, purpose)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (at, "zhao", "supervisor", 1, "evaluator_name", "work order 1"),
                (at + 60, "zhao", "supervisor", 1, "evaluator_name", "work order 1"),
                (at + 120, "li", "admin", 2, "evaluator_mobile", "export ratings"),
                (at - 40 * DAY, "old", "admin", 3, "evaluator_name", "export ratings"),
            ],
        )
    out = hostd(home, "privacy", "report", "--month", "2026-11")
    assert out.exit_code == 0, out.output
    assert out.output.startswith(
        "2026-11: 3 read(s) of evaluator data; rate-later addresses are kept 30 days"
    )
    lines = out.output.splitlines()
    zhao = [line for line in lines if line.startswith("zhao")][0].split()
    assert zhao[:6] == ["zhao", "supervisor", "work", "order", "1", "1"] and zhao[6] == "2"
    assert any(line.startswith("li ") and "export ratings" in line for line in lines)
    assert "old" not in out.output  # another month
    bad = hostd(home, "privacy", "report", "--month", "November")
    assert bad.exit_code != 0 and "2026-11" in bad.output and "Traceback" not in bad.output
