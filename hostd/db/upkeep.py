"""Planner statistics for hostd.db, kept fresh by `hostd run`.

SQLite chooses indexes from `sqlite_stat1`, which only ANALYZE writes. A
hall's database grows by a few thousand ratings a day for years; without
statistics the dashboard's queries (hostd/reporting/stats.py) are planned blind. So
the daemon runs ANALYZE once at start and then once a day, through the
store's writer like any other write.

`PRAGMA analysis_limit` makes it an approximate ANALYZE that reads at most
ANALYSIS_LIMIT rows per index: milliseconds on a 2-million-rating database,
so ingest hardly notices it. bench/stats.py measures the dashboard after
this same call, not after a full ANALYZE the product never runs.
"""

import logging
import time

from hostd.base.periodic import Periodic

log = logging.getLogger("hostd.upkeep")

ANALYSIS_LIMIT = 1000  # rows read per index (SQLite's suggested range: 100-1000)
INTERVAL_S = 24 * 3600


def analyze(conn):
    """Refresh the planner's statistics on `conn` (a sqlite3 connection)."""
    conn.execute("PRAGMA analysis_limit=%d" % ANALYSIS_LIMIT)
    conn.execute("ANALYZE")


class Upkeep(Periodic):
    """ANALYZE at start and every `interval` seconds, on the store's writer."""

    thread_name = "hostd-upkeep"
    log = log

    def __init__(self, store, interval=INTERVAL_S):
        self.store = store
        super().__init__(interval)

    def once(self):
        started = time.monotonic()
        self.store.run(lambda db: analyze(db.conn))
        log.info("planner statistics refreshed in %.0f ms", 1000 * (time.monotonic() - started))
