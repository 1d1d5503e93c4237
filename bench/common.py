"""Shared parts of the benchmarks: a private Mosquitto, percentiles, figures,
progress lines, and bulk seeding of a hostd.db on the product's schema.

Every benchmark returns a dict of *figures*. A figure is a dict with
`value`, `unit`, `how` (one sentence: what was measured, how) and, where the
same run measured a baseline, `baseline` (the name of that figure).
`bench/__main__.py` prints them as a table and writes bench/results.json.
"""

import contextlib
import math
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time


def figure(value, unit, how, baseline=None, target=None):
    out = {"value": value, "unit": unit, "how": how}
    if baseline is not None:
        out["baseline"] = baseline
    if target is not None:
        out["target"] = target
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values, p):
    """Nearest-rank percentile of `values` (p in 0..100); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(p / 100.0 * len(ordered)) - 1))
    return ordered[rank]


def mosquitto_binary():
    return shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def start_mosquitto(workdir, port=None, nodelay=True):
    """A Mosquitto on a free loopback port; returns (process, port).

    `nodelay`: set_tcp_nodelay (Nagle off on the broker's sockets; recommended
    for hostd's own broker config, see bench/README.md)."""
    binary = mosquitto_binary()
    if not os.path.exists(binary):
        raise RuntimeError(
            "mosquitto is not installed: run `make install` or `sudo apt-get install -y mosquitto`"
        )
    port = port or free_port()
    conf = os.path.join(workdir, "mosquitto.conf")
    with open(conf, "w") as f:
        f.write(
            "listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "max_queued_messages 100000\nset_tcp_nodelay %s\n" % (port, "true" if nodelay else "false")
        )
    proc = subprocess.Popen([binary, "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, port
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("mosquitto did not start on port %d" % port)
            time.sleep(0.05)


def stop(proc):
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait()


# When any benchmark last printed a progress line (bench/__main__.py's
# heartbeat speaks up only when the running benchmark has been quiet).
LAST_LINE = [time.monotonic()]


class Progress:
    """One line on stderr ("bench: <name>: ...") for a long step, at most one
    every `every` seconds from tick(); say() always prints."""

    def __init__(self, name, every=3.0, out=None):
        self.name, self.every, self.out = name, every, out
        self.started = self.last = time.monotonic()

    def say(self, text):
        self.last = LAST_LINE[0] = time.monotonic()
        print(
            "bench: %s: %s (%.0f s)" % (self.name, text, self.last - self.started),
            file=self.out or sys.stderr,
            flush=True,
        )

    def tick(self, text):
        if time.monotonic() - self.last >= self.every:
            self.say(text() if callable(text) else text)


def schema_objects(conn, tables, kinds=("index", "trigger")):
    """(type, name, sql) of the indexes and/or triggers the migrations made on
    `tables`, in creation order (UNIQUE/PRIMARY KEY autoindexes have no sql)."""
    return conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE type IN (%s) AND sql IS NOT NULL"
        " AND tbl_name IN (%s) ORDER BY rowid" % (",".join("?" * len(kinds)), ",".join("?" * len(tables))),
        tuple(kinds) + tuple(tables),
    ).fetchall()


def seed_database(path, tables, progress, fill):
    """A database with the product's schema (migrated by hostd's own
    open_database), bulk-loaded by fill(conn, progress) (see bulk_load);
    returns (the reopened sqlite_utils Database, seconds the load took)."""
    from hostd.db.store import open_database

    open_database(path).conn.close()
    started = time.monotonic()
    with bulk_load(path, tables, progress) as conn:
        fill(conn, progress)
    return open_database(path), time.monotonic() - started


@contextlib.contextmanager
def bulk_load(path, tables, progress=None, drop_indexes=False):
    """A connection for seeding a benchmark's hostd.db fast, on the product's schema.

    The caller migrates `path` first (hostd.db.store.open_database) and closes it.
    Here, in one transaction: the triggers of `tables` are dropped, the caller
    inserts its rows with INSERT ... SELECT and fills what those triggers
    would have kept (the daily rollups, fill_rollups), then every trigger is
    made again from its own CREATE statement in sqlite_master, so the database
    that is measured has exactly the migrated schema. The indexes stay and are
    kept row by row as the rows go in (in time order, as a hall writes them),
    so the file has the layout and size that use gives it; with drop_indexes
    they are dropped too and built at the end (faster, but packed tighter than
    a year of inserts leaves them). Seeding runs with synchronous=OFF and a
    rollback journal (nothing is measured while it runs); reopen the file with
    open_database afterwards, which puts it back in WAL with synchronous=FULL."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
        for pragma in ("synchronous=OFF", "temp_store=MEMORY", "cache_size=-1000000"):
            conn.execute("PRAGMA " + pragma)
        objects = schema_objects(conn, tables, ("index", "trigger") if drop_indexes else ("trigger",))
        conn.execute("BEGIN")
        try:
            for kind, name, _sql in objects:
                conn.execute('DROP %s "%s"' % (kind.upper(), name))
            yield conn
            for kind, name, sql in objects:
                if progress is not None and kind == "index":
                    progress.tick("making index %s" % name)
                conn.execute(sql)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.close()


# What the triggers of hostd/db/schema/workorders.py (w002) keep per inserted
# row, as one GROUP BY each; tests/test_bench_stats.py checks the result
# against those triggers themselves.
RATINGS_DAILY = """
    INSERT INTO stats_daily (day, hall, window, staff_id, unit_id, channel,
                             total, good, middle, bad, not_counted)
    SELECT (received_at + 28800) / 86400, hall, COALESCE(window, ''), COALESCE(staff_id, ''),
           COALESCE(unit_id, ''), channel, SUM(excluded IS NULL),
           SUM(excluded IS NULL AND level >= 4), SUM(excluded IS NULL AND level = 3),
           SUM(excluded IS NULL AND level <= 2), SUM(excluded IS NOT NULL)
    FROM ratings WHERE binding IN ('session', 'window') GROUP BY 1, 2, 3, 4, 5, 6"""
SESSIONS_DAILY = """
    INSERT INTO sessions_daily (day, hall, window, staff_id, unit_id, sessions, rated)
    SELECT (created_at + 28800) / 86400, hall, window, staff_id, COALESCE(unit_id, ''),
           SUM(state != 'cancelled'), SUM(state = 'rated')
    FROM sessions GROUP BY 1, 2, 3, 4, 5"""


def fill_rollups(conn):
    from hostd.db.schema import rollups, supervision  # lazy: bench.common is imported before hostd is needed

    conn.execute(RATINGS_DAILY)
    conn.execute(SESSIONS_DAILY)
    rollups.fill(conn)  # the monthly ones from the daily ones, and the work orders'
    supervision.fill_bad(conn)  # 差评 by reason, staff, unit and item (hostd/reporting/analysis.py)
    supervision.fill_bad_monthly(conn)


def check_rollups(conn):
    """Per day and per month: the rollup totals against the raw rows. Raises
    on a mismatch; returns {rollup: days or months checked}."""
    from hostd.db.schema import rollups  # lazy: as in fill_rollups

    checks = {
        "ratings": (
            "SELECT day, SUM(total), SUM(good), SUM(middle), SUM(bad), SUM(not_counted)"
            " FROM stats_daily GROUP BY day ORDER BY day",
            "SELECT (received_at + 28800) / 86400, COUNT(*) - COUNT(excluded),"
            " SUM(excluded IS NULL AND level >= 4), SUM(excluded IS NULL AND level = 3),"
            " SUM(excluded IS NULL AND level <= 2), COUNT(excluded) FROM ratings"
            " WHERE binding != 'refused' GROUP BY 1 ORDER BY 1",
        ),
        "sessions": (
            "SELECT day, SUM(sessions), SUM(rated) FROM sessions_daily GROUP BY day ORDER BY day",
            "SELECT (created_at + 28800) / 86400, SUM(state != 'cancelled'),"
            " SUM(state = 'rated') FROM sessions GROUP BY 1 ORDER BY 1",
        ),
    }
    checks["差评 by day"] = (
        "SELECT day, SUM(n) FROM bad_daily GROUP BY day HAVING SUM(n) != 0 ORDER BY day",
        "SELECT (received_at + 28800) / 86400, COUNT(*) FROM ratings WHERE level <= 2"
        " AND binding IN ('session', 'window') AND excluded IS NULL GROUP BY 1 ORDER BY 1",
    )
    month = rollups.month_of("received_at")
    checks["ratings by month"] = (
        "SELECT month, SUM(total), SUM(good), SUM(middle), SUM(bad), SUM(not_counted)"
        " FROM stats_monthly GROUP BY month HAVING SUM(total) + SUM(not_counted) != 0 ORDER BY month",
        checks["ratings"][1].replace("(received_at + 28800) / 86400", month),
    )
    checks["sessions by month"] = (
        "SELECT month, SUM(sessions), SUM(rated) FROM sessions_monthly GROUP BY month"
        " HAVING SUM(sessions) != 0 OR SUM(rated) != 0 ORDER BY month",
        checks["sessions"][1].replace("(created_at + 28800) / 86400", rollups.month_of("created_at")),
    )
    orders = (
        "SELECT {key}, COUNT(*), SUM(COALESCE(o.done_at <= o.done_due, 0)) FROM work_orders o"
        " JOIN ratings r ON r.id = o.rating_id WHERE %s GROUP BY 1 ORDER BY 1" % rollups.counted("r")
    )
    for grain, table, key in (
        ("day", "orders_daily", "(o.opened_at + 28800) / 86400"),
        ("month", "orders_monthly", rollups.month_of("o.opened_at")),
    ):
        checks["work orders by %s" % grain] = (
            "SELECT {g}, SUM(orders), SUM(on_time) FROM {t} GROUP BY {g}"
            " HAVING SUM(orders) != 0 OR SUM(on_time) != 0 ORDER BY {g}".format(g=grain, t=table),
            orders.format(key=key),
        )
    days = {}
    for name, (rollup, raw) in checks.items():
        got, want = conn.execute(rollup).fetchall(), conn.execute(raw).fetchall()
        if got != want:
            raise RuntimeError("bench: the %s rollups do not match the raw rows" % name)
        days[name] = len(got)
    return days
