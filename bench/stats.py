"""Statistics benchmark: the dashboard's queries on a year of a large hall.

Generates `ratings` ratings (2,000,000 in the full run) of the year 2026 in a
fresh hostd.db, migrated by hostd's own schema: 60 windows, 150 staff in 12
units, 300 items; 98% of ratings bound to a session (device 80%, QR 5%,
default 13%, paper 2%), 2% window-level; levels 5/4/3/2/1 ~ 70/19/7/2.5/1.5%;
a work order with three events for every 差评. The file is migrated by
hostd.db.store.open_database; then, in one transaction (bench.common.bulk_load),
the triggers of the seeded tables are dropped, all rows go in, in time
order, with bulk INSERT ... SELECT from a recursive counter (the indexes are
kept row by row, as in a hall), the daily rollups the triggers would have
kept are filled with one GROUP BY each, and every trigger is made again from
its own migrated CREATE statement. Reopened in WAL, a query checks the
rollups against the raw rows day by day, then the planner's statistics are
made as `hostd run` makes them (hostd.db.upkeep.analyze: ANALYZE with an
analysis_limit), not with a full ANALYZE the product never runs.

Then it times what the dashboard asks (hostd.reporting.stats / ranking / workorders),
each query `repeats` times on a warm cache: today's and this quarter's
rates, the quarter by day, window, staff and unit, a month by item and
channel, the staff ranking, the open-order counts and the overdue-first
queue; then the hall's pages themselves, through hostd's web app
(bench/pages.py). Baseline: a plain SELECT COUNT(*) over the same ratings
table.

    python -m bench.stats [ratings] [repeats]
"""

import os
import shutil
import statistics
import sys
import tempfile
import time

from bench import pages
from bench.common import Progress, check_rollups, figure, fill_rollups, percentile, seed_database
from hostd.base.config import defaults
from hostd.casework import workorders
from hostd.db import upkeep
from hostd.reporting import analysis, awards, periods, ranking, stats

YEAR_START = 1767196800  # 2026-01-01 00:00 +08:00
WINDOWS, STAFF, UNITS, ITEMS = 60, 150, 12, 300
TODAY = "2026-11-20"
TABLES = (
    "units",
    "staff",
    "windows",
    "sessions",
    "ratings",
    "work_orders",
    "work_order_events",
    "stats_daily",
    "sessions_daily",
    "bad_daily",
    "bad_reasons_daily",
)


def generate(conn, ratings, progress=None, chunk=250_000):
    """Seed the year into `conn` (a bench.common.bulk_load connection)."""
    sessions = int(ratings * 0.98)
    conn.executemany(
        "INSERT INTO units (unit_id, name) VALUES (?, ?)",
        [("u%02d" % u, "单位%02d" % u) for u in range(UNITS)],
    )
    conn.executemany(
        "INSERT INTO staff (staff_id, name, staff_no, unit_id, created_at) VALUES (?, ?, ?, ?, ?)",
        [("s%03d" % s, "员工%03d" % s, "%04d" % s, "u%02d" % (s % UNITS), YEAR_START) for s in range(STAFF)],
    )
    conn.executemany(
        "INSERT INTO windows (hall, window, name, unit_id, staff_id) VALUES ('bench', ?, ?, ?, ?)",
        [(str(w), "%d号窗口" % w, "u%02d" % (w % UNITS), "s%03d" % w) for w in range(WINDOWS)],
    )
    # one row per rating: when, where, who, what, which channel, which level
    conn.execute(
        """CREATE TEMP TABLE gen AS
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :n)
        SELECT i, :y + ((i - 1) * 365 / :n) * 86400 + 32400 + abs(random()) % 28800 AS at,
               abs(random()) % WINDOWS AS w, abs(random()) % 2 AS shift,
               abs(random()) % ITEMS AS item, abs(random()) % 100 AS ch,
               abs(random()) % 1000 AS lv FROM n""".replace("WINDOWS", str(WINDOWS)).replace(
            "ITEMS", str(ITEMS)
        ),
        {"n": ratings, "y": YEAR_START},
    )
    conn.execute(
        """CREATE TEMP TABLE g2 AS SELECT i, at, w,
        (CASE WHEN shift = 0 THEN w ELSE w + WINDOWS END) % STAFF AS staff, item,
        CASE WHEN i > :s THEN 'window' ELSE 'session' END AS binding,
        CASE WHEN i > :s OR ch < 80 THEN 'device' WHEN ch < 85 THEN 'qr'
             WHEN ch < 98 THEN 'default' ELSE 'paper' END AS channel,
        CASE WHEN lv < 700 THEN 5 WHEN lv < 890 THEN 4 WHEN lv < 960 THEN 3
             WHEN lv < 985 THEN 2 ELSE 1 END AS level FROM gen""".replace("WINDOWS", str(WINDOWS)).replace(
            "STAFF", str(STAFF)
        ),
        {"s": sessions},
    )
    conn.execute("UPDATE g2 SET level = 3 WHERE channel = 'default'")
    for lo in range(1, ratings + 1, chunk):
        rows = {"lo": lo, "hi": min(ratings, lo + chunk - 1)}
        conn.execute(
            """INSERT INTO sessions (session_id, hall, window, device_id, item_code,
            item_name, staff_id, staff_name, staff_no, unit_id, cases, created_at, screen_until,
            rate_until, state, rating_id, closed_at)
            SELECT 'S' || i, 'bench', CAST(w AS TEXT), 'dev-' || w, 'I' || item, '事项' || item,
                   printf('s%03d', staff), printf('员工%03d', staff), printf('%04d', staff),
                   printf('u%02d', staff % 12), 1, at - 600, at - 480, at + 5 * 86400,
                   CASE WHEN channel = 'default' THEN 'defaulted' ELSE 'rated' END, i, at
            FROM g2 WHERE binding = 'session' AND i BETWEEN :lo AND :hi""",
            rows,
        )
        conn.execute(
            """INSERT INTO ratings (id, channel, device_id, seq, hall, window, session_id,
            binding, level, reasons, cases, staff, device_time, clock_synced, received_at, wire,
            synced, client_addr, staff_id, unit_id, item_code)
            SELECT i, channel, CASE WHEN channel = 'device' THEN 'dev-' || w END,
                   CASE WHEN channel = 'device' THEN i END, 'bench', CAST(w AS TEXT),
                   CASE WHEN binding = 'session' THEN 'S' || i END, binding, level,
                   CASE WHEN level <= 2 THEN '[1]' ELSE '[]' END, 1, printf('%04d', staff), at, 1,
                   at, CASE WHEN channel = 'device' THEN randomblob(150) END, 1,
                   CASE WHEN channel = 'qr' THEN '10.' || (i % 250) || '.' || (i % 199) || '.7' END,
                   printf('s%03d', staff), printf('u%02d', staff % 12),
                   CASE WHEN binding = 'session' THEN 'I' || item END
            FROM g2 WHERE i BETWEEN :lo AND :hi""",
            rows,
        )
        if progress is not None:
            progress.say("seeded %s of %s ratings" % ("{:,}".format(rows["hi"]), "{:,}".format(ratings)))
    conn.execute(
        """INSERT INTO work_orders (rating_id, session_id, hall, window, staff_id, unit_id,
        state, opened_at, contact_due, done_due, closed_at, feedback, contacted_at, done_at, reply)
        SELECT id, session_id, hall, window, staff_id, unit_id,
               CASE WHEN received_at > :late THEN 'contacted' ELSE 'closed' END, received_at,
               received_at + 86400, received_at + 2 * 86400,
               CASE WHEN received_at > :late THEN NULL ELSE received_at + 3 * 86400 END,
               CASE WHEN received_at > :late THEN NULL ELSE '满意' END, received_at + 3600,
               CASE WHEN received_at > :late THEN NULL
                    ELSE received_at + 86400 + (id % 3) * 86400 END,
               CASE WHEN received_at > :late THEN NULL ELSE '已整改' END
        FROM ratings WHERE level <= 2 AND binding IN ('session', 'window')""",
        {"late": YEAR_START + 320 * 86400},
    )
    for offset, src, dst in (
        (0, None, "new"),
        (3600, "new", "contacted"),
        (86400, "contacted", "rectifying"),
    ):
        conn.execute(
            "INSERT INTO work_order_events (order_id, at, actor, from_state, to_state)"
            " SELECT order_id, opened_at + ?, 'bench', ?, ? FROM work_orders",
            (offset, src, dst),
        )
    conn.execute("DROP TABLE gen")
    conn.execute("DROP TABLE g2")
    fill_rollups(conn)


def dashboard_queries():
    """(name, fn(db)) of what the dashboard and hall display ask."""
    q = periods.period("2026Q4")
    m = periods.period("2026-11")
    d = periods.period(TODAY)
    now = d[0] + 15 * 3600
    return [
        ("rates_today", lambda db: stats.rates(db, *d)),
        ("rates_quarter", lambda db: stats.rates(db, *q)),
        ("quarter_by_day", lambda db: stats.breakdown(db, "day", *q)),
        ("quarter_by_window", lambda db: stats.breakdown(db, "window", *q)),
        ("today_by_window", lambda db: stats.breakdown(db, "window", *d)),
        ("quarter_by_staff", lambda db: stats.breakdown(db, "staff", *q)),
        ("quarter_by_unit", lambda db: stats.breakdown(db, "unit", *q)),
        ("month_by_item", lambda db: stats.breakdown(db, "item", *m)),
        ("month_by_channel", lambda db: stats.breakdown(db, "channel", *m)),
        ("one_staff_quarter", lambda db: stats.rates(db, *q, staff_id="s007")),
        ("ranking_staff", lambda db: ranking.ranking(db, "2026Q4", by="staff")),
        ("order_counts", lambda db: workorders.counts(db, now=now)),
        ("order_queue", lambda db: workorders.list_orders(db, open_only=True, now=now, limit=50)),
        ("bad_by_reason", lambda db: analysis.bad_by(db, "reason", *q)),
        ("bad_by_item", lambda db: analysis.bad_by(db, "item", *q)),
        ("bad_concentrations", lambda db: analysis.concentrations(db, defaults(), now)),
        ("annual_award", lambda db: awards.annual(db, 2026, "unit")),
    ]


def _time(fn, db, repeats, cpu=None):
    """Wall-clock ms of each call; CPU ms (this process) appended to `cpu`."""
    out = []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn(db)
        out.append(1000 * (time.perf_counter() - t0))
        if cpu is not None:
            cpu.append(1000 * (time.process_time() - c0))
    return out


def run(ratings=2_000_000, repeats=5, keep=None, page_repeats=20):
    """Generate, measure, delete (unless `keep` names the database path)."""
    progress = Progress("stats")
    workdir = None if keep else tempfile.mkdtemp(prefix="bench-stats-")
    path = keep or os.path.join(workdir, "hostd.db")
    db, generate_s = seed_database(
        path, TABLES, progress, lambda conn, progress: generate(conn, ratings, progress)
    )
    days = check_rollups(db.conn)
    upkeep.analyze(db.conn)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    progress.say("seeded in %.0f s; rollups match the rows on %d days" % (generate_s, days["ratings"]))
    size = os.path.getsize(path)
    counts = {
        t: db.execute("SELECT COUNT(*) FROM %s" % t).fetchone()[0]
        for t in ("ratings", "sessions", "work_orders", "work_order_events")
    }
    measured = measure(db, repeats, progress)
    db.conn.close()
    home = pages.make_home(os.path.join(os.path.dirname(path), "bench-home"), path)
    try:
        at = periods.period(TODAY)[0] + 15 * 3600
        measured.update(pages.measure(home, at, "s007", repeats=page_repeats, progress=progress))
    finally:
        pages.move_database(home.db_path, path)
        shutil.rmtree(home.path)
    if keep is None:
        os.remove(path)
        os.rmdir(workdir)
    return dict(
        measured,
        page_repeats=page_repeats,
        ratings=ratings,
        counts=counts,
        generate_s=round(generate_s, 1),
        rollup_days_checked=days,
        db_bytes=size,
    )


def measure(db, repeats=5, progress=None):
    """Time the dashboard queries (and the COUNT(*) baseline) on `db`."""
    per_query, per_query_cpu, all_ms, all_cpu = {}, {}, [], []
    for name, fn in dashboard_queries():
        if progress is not None:
            progress.tick("timing %s" % name)
        fn(db)  # warm the cache once
        cpu = []
        ms = _time(fn, db, repeats, cpu)
        per_query[name] = round(statistics.median(ms), 2)
        per_query_cpu[name] = round(statistics.median(cpu), 2)
        all_ms += ms
        all_cpu += cpu
    baseline = _time(lambda db: db.execute("SELECT COUNT(*) FROM ratings").fetchone(), db, repeats)
    return {
        "query_ms_median": per_query,
        "query_cpu_ms_median": per_query_cpu,
        "stats_query_ms_p95": round(percentile(all_ms, 95), 2),
        "stats_query_ms_max": round(max(all_ms), 2),
        "stats_query_cpu_ms_p95": round(percentile(all_cpu, 95), 2),
        "loadavg": os.getloadavg()[0],
        "count_ms_median": round(statistics.median(baseline), 2),
    }


def figures(raw):
    n = "{:,}".format(raw["ratings"])
    page, page_ms = pages.slowest(raw)
    return {
        "stats_page_ms_p95": figure(
            page_ms,
            "ms",
            "the slowest hall page's p95 (%s) of %d pages (dashboard as supervisor and as staff, /display,"
            " /ranking by staff/window/unit, the work-order queue and its overdue view, the rating list as"
            " supervisor and as staff, 差评分析, 第三方评价, 办不成事, 异常线索) x %d requests each"
            " through hostd's web app on the %s-rating year"
            % (page, len(pages.PAGES), raw.get("page_repeats", 20), n),
            baseline="stats_count_ms",
            target="< 5x stats_count_ms",
        ),
        "export_page_ms_p95": figure(
            raw["page_ms_p95"]["export"],
            "ms",
            "the export page's p95, apart: it shows every table's exact row count (a COUNT(*) of each)",
            baseline="stats_count_ms",
        ),
        "stats_query_ms_p95": figure(
            raw["stats_query_ms_p95"],
            "ms",
            "p95 over %d dashboard queries (rates, breakdowns by day/window/staff/unit/item/channel,"
            " ranking, work-order queue, 差评 by reason and item, concentrations, the annual award)"
            " x repeats on a %s-rating year, warm cache" % (len(raw["query_ms_median"]), n),
            baseline="stats_count_ms",
        ),
        "stats_query_cpu_ms_p95": figure(
            raw["stats_query_cpu_ms_p95"],
            "ms",
            "the same queries' p95 in CPU time of the benchmark process (wall time counts"
            " waiting for a busy machine; load average was %.1f)" % raw["loadavg"],
        ),
        "stats_count_ms": figure(
            raw["count_ms_median"], "ms", "baseline: median SELECT COUNT(*) FROM ratings, same database"
        ),
        "stats_db_mb": figure(
            round(raw["db_bytes"] / 1e6, 1),
            "MB",
            "hostd.db size with %s ratings, their sessions, work orders and the statistics indexes" % n,
        ),
    }


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    raw = run(*args)
    import json

    print(json.dumps(raw, indent=1))
