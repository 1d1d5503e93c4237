"""The overdue watch logs each order once when it passes a deadline."""

import logging

from workorder_fixtures import T0, hall_db, served_and_rated

from hostd.base.context import Context
from hostd.casework.overdue import OverdueWatch
from hostd.db.store import Store
from hostd.rules import deadlines

DAY = 86400


class FixedClock:
    def __init__(self, t):
        self.t = t

    def now(self):
        return self.t


def test_each_overdue_order_is_warned_once(tmp_path, caplog):
    deadlines.use(None)  # the default preset, Changsha 1210
    db = hall_db(tmp_path)
    with db.conn:
        served_and_rated(db, "a", "1", "s1", 1, T0 + 3600)
        served_and_rated(db, "b", "2", "s2", 2, T0 + 7200)
        served_and_rated(db, "c", "3", "s3", 5, T0 + 7200)  # not a 差评: no order
    db.conn.close()
    store = Store(tmp_path / "hostd.db")
    try:
        ticking = FixedClock(T0 + 3600 + 60)
        watch = OverdueWatch(Context(None, {}, store, clock=ticking))
        with caplog.at_level(logging.WARNING, "hostd.overdue"):
            assert watch.check() == []  # fresh orders: nothing due yet
            ticking.t = T0 + 4 * DAY  # contact deadline (1 working day) long past
            first = watch.check()
            again = watch.check()
        assert sorted(o["session_id"] for o in first) == ["a", "b"]
        assert again == []
        warned = [r.getMessage() for r in caplog.records if "超期预警" in r.getMessage()]
        assert len(warned) == 2
    finally:
        store.close()
