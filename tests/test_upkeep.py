"""hostd keeps the planner's statistics (sqlite_stat1) fresh: hostd/db/upkeep.py."""

import time

from hostd.db.store import Store
from hostd.db.upkeep import Upkeep


def _stat_tables(store):
    with store.read() as db:
        return {row[0] for row in db.execute("SELECT tbl FROM sqlite_stat1")}


def test_upkeep_analyzes_at_start_and_again_each_interval(tmp_path):
    store = Store(tmp_path / "hostd.db")
    try:

        def fill(db):
            db.execute("CREATE TABLE t (a INTEGER, b TEXT)")
            db.execute("CREATE INDEX t_a ON t (a)")
            db.conn.executemany("INSERT INTO t VALUES (?, ?)", [(i % 7, "x") for i in range(5000)])

        store.run(fill)
        upkeep = Upkeep(store, interval=0.2).start()
        deadline = time.monotonic() + 10
        while upkeep.runs < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        upkeep.stop()
        assert upkeep.runs >= 2, "ANALYZE ran %d times in 10 s" % upkeep.runs
        assert "t" in _stat_tables(store)
        with store.read() as db:
            stat = db.execute("SELECT stat FROM sqlite_stat1 WHERE idx = 't_a'").fetchone()[0]
        rows, per_key = (int(v) for v in stat.split()[:2])
        # an approximate ANALYZE (analysis_limit): it still sees a large table
        # with few distinct keys, which is what the planner needs
        assert rows >= 1000 and per_key > 100, stat
    finally:
        store.close()
