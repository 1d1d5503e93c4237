"""Monthly rollups and work-order rollups, added after workorders.py's daily ones.

hostd/reporting/stats.py answers a whole-day period from rollups kept by
triggers, so a page never reads the rating rows themselves:

  stats_monthly, sessions_monthly   stats_daily / sessions_daily by local
                                    month (year * 12 + month - 1, UTC+8): a
                                    quarter reads three months' rows, not
                                    ninety days' (the days at either end of a
                                    period still come from the daily tables)
  orders_daily, orders_monthly      差评 work orders of counted ratings by the
                                    local day / month they opened, and who and
                                    where: how many, and how many were done by
                                    their deadline (差评整改率)
  orders_by_state                   work orders by state and staff member: the
                                    dashboard's counts without a scan of every
                                    order ever opened

and an index of the open work orders only (work_orders_open), which answers
the overdue count and the queue's order without reading closed ones.

Keys hold '' for none. Whoever writes (ratings, sessions, work_orders, or an
appeal that excludes a rating), the triggers follow in the same
transaction. A work order counts while its rating counts; ratings are never
deleted (a rating insert is the hot path: no trigger here probes
work_orders for it). tests/test_rollups.py checks every rollup against the raw rows
after random writes.

A new change is a new function at the end; never edit one that has shipped.
"""

from sqlite_utils import Migrations

MIGRATIONS = Migrations("hostd.rollups")  # its name is stored in hostd.db: never change it

LOCAL = 28800  # UTC+8: local days and months


def month_of(seconds):
    """SQL: the local month (year * 12 + month - 1) of a Unix time expression."""
    t = "%s + %d, 'unixepoch'" % (seconds, LOCAL)
    return "(CAST(strftime('%%Y', %s) AS INTEGER) * 12 + CAST(strftime('%%m', %s) AS INTEGER) - 1)" % (t, t)


def _ratings_upsert(row, sign):
    counts = ", ".join(
        "%s * (%s)" % (sign, c % {"r": row})
        for c in (
            "%(r)s.excluded IS NULL",
            "%(r)s.excluded IS NULL AND %(r)s.level >= 4",
            "%(r)s.excluded IS NULL AND %(r)s.level = 3",
            "%(r)s.excluded IS NULL AND %(r)s.level <= 2",
            "%(r)s.excluded IS NOT NULL",
        )
    )
    return """
    INSERT INTO stats_monthly (month, hall, window, staff_id, unit_id, channel,
                               total, good, middle, bad, not_counted)
    SELECT {month}, {r}.hall, COALESCE({r}.window, ''), COALESCE({r}.staff_id, ''),
           COALESCE({r}.unit_id, ''), {r}.channel, {counts}
    WHERE {r}.binding IN ('session', 'window')
    ON CONFLICT (month, hall, window, staff_id, unit_id, channel) DO UPDATE SET
        total = total + excluded.total, good = good + excluded.good,
        middle = middle + excluded.middle, bad = bad + excluded.bad,
        not_counted = not_counted + excluded.not_counted;""".format(
        month=month_of(row + ".received_at"), r=row, counts=counts
    )


def _sessions_upsert(row, sign):
    return """
    INSERT INTO sessions_monthly (month, hall, window, staff_id, unit_id, sessions, rated)
    SELECT {month}, {r}.hall, {r}.window, {r}.staff_id, COALESCE({r}.unit_id, ''),
           {s} * ({r}.state != 'cancelled'), {s} * ({r}.state = 'rated') WHERE true
    ON CONFLICT (month, hall, window, staff_id, unit_id) DO UPDATE SET
        sessions = sessions + excluded.sessions, rated = rated + excluded.rated;""".format(
        month=month_of(row + ".created_at"), r=row, s=sign
    )


def counted(row):
    """SQL: 1 if the ratings row `row` counts in the statistics, else 0."""
    return "(%s.binding IN ('session', 'window') AND %s.excluded IS NULL)" % (row, row)


def _orders_upsert(table, row, weight, where="true", source=""):
    """Add `weight` (an SQL expression: the sign times whether the order's
    rating counts) for the work_orders row `row` to orders_daily or _monthly."""
    period = (
        "(%s.opened_at + %d) / 86400" % (row, LOCAL)
        if table == "orders_daily"
        else month_of(row + ".opened_at")
    )
    key = "day" if table == "orders_daily" else "month"
    return """
    INSERT INTO {table} ({key}, hall, window, staff_id, unit_id, orders, on_time)
    SELECT {period}, {o}.hall, COALESCE({o}.window, ''), COALESCE({o}.staff_id, ''),
           COALESCE({o}.unit_id, ''), {w},
           {w} * COALESCE({o}.done_at IS NOT NULL AND {o}.done_at <= {o}.done_due, 0)
    {source} WHERE {where}
    ON CONFLICT ({key}, hall, window, staff_id, unit_id) DO UPDATE SET
        orders = orders + excluded.orders, on_time = on_time + excluded.on_time;""".format(
        table=table, key=key, period=period, o=row, w=weight, where=where, source=source
    )


def _order_weight(row, sign):
    """SQL: sign x whether the order's rating counts now (0 if it is gone)."""
    return "%s * COALESCE((SELECT %s FROM ratings rr WHERE rr.id = %s.rating_id), 0)" % (
        sign,
        counted("rr"),
        row,
    )


def _both(row, weight, **kw):
    return "".join(_orders_upsert(t, row, weight, **kw) for t in ("orders_daily", "orders_monthly"))


def _state_count(row, sign):
    return """
    INSERT INTO orders_by_state (staff_id, state, n) VALUES (COALESCE(%s.staff_id, ''), %s.state, %d)
    ON CONFLICT (staff_id, state) DO UPDATE SET n = n + excluded.n;""" % (row, row, sign)


def _changed(columns):
    return " OR ".join("OLD.%s IS NOT NEW.%s" % (c, c) for c in columns)


RATING_COLUMNS = (
    "binding",
    "excluded",
    "level",
    "staff_id",
    "unit_id",
    "window",
    "channel",
    "received_at",
    "hall",
)
SESSION_COLUMNS = ("state", "staff_id", "unit_id", "window", "created_at", "hall")
ORDER_COLUMNS = ("opened_at", "hall", "window", "staff_id", "unit_id", "done_at", "done_due", "rating_id")


@MIGRATIONS()
def r001_monthly_and_order_rollups(db):
    db.execute("""
        CREATE TABLE stats_monthly (
            month INTEGER NOT NULL, hall TEXT NOT NULL, window TEXT NOT NULL,
            staff_id TEXT NOT NULL, unit_id TEXT NOT NULL, channel TEXT NOT NULL,
            total INTEGER NOT NULL, good INTEGER NOT NULL, middle INTEGER NOT NULL,
            bad INTEGER NOT NULL, not_counted INTEGER NOT NULL,
            PRIMARY KEY (month, hall, window, staff_id, unit_id, channel)
        ) WITHOUT ROWID""")
    db.execute("""
        CREATE TABLE sessions_monthly (
            month INTEGER NOT NULL, hall TEXT NOT NULL, window TEXT NOT NULL,
            staff_id TEXT NOT NULL, unit_id TEXT NOT NULL,
            sessions INTEGER NOT NULL, rated INTEGER NOT NULL,
            PRIMARY KEY (month, hall, window, staff_id, unit_id)
        ) WITHOUT ROWID""")
    for table, key in (("orders_daily", "day"), ("orders_monthly", "month")):
        db.execute(
            """
            CREATE TABLE %s (
                %s INTEGER NOT NULL, hall TEXT NOT NULL, window TEXT NOT NULL,
                staff_id TEXT NOT NULL, unit_id TEXT NOT NULL,
                orders INTEGER NOT NULL, on_time INTEGER NOT NULL,
                PRIMARY KEY (%s, hall, window, staff_id, unit_id)
            ) WITHOUT ROWID"""
            % (table, key, key)
        )
    db.execute("""
        CREATE TABLE orders_by_state (
            staff_id TEXT NOT NULL, state TEXT NOT NULL, n INTEGER NOT NULL,
            PRIMARY KEY (staff_id, state)
        ) WITHOUT ROWID""")
    db.execute(
        "CREATE INDEX work_orders_open ON work_orders (staff_id, state, contacted_at, contact_due, done_at,"
        " done_due, unit_id) WHERE state IN ('new', 'contacted', 'rectifying', 'replied')"
    )
    triggers = {
        "ratings_monthly_insert": ("AFTER INSERT ON ratings", _ratings_upsert("NEW", 1)),
        "ratings_monthly_update": (
            "AFTER UPDATE OF %s ON ratings WHEN %s" % (", ".join(RATING_COLUMNS), _changed(RATING_COLUMNS)),
            _ratings_upsert("OLD", -1) + _ratings_upsert("NEW", 1),
        ),
        "ratings_monthly_delete": ("AFTER DELETE ON ratings", _ratings_upsert("OLD", -1)),
        "sessions_monthly_insert": ("AFTER INSERT ON sessions", _sessions_upsert("NEW", 1)),
        "sessions_monthly_update": (
            "AFTER UPDATE OF %s ON sessions WHEN %s"
            % (", ".join(SESSION_COLUMNS), _changed(SESSION_COLUMNS)),
            _sessions_upsert("OLD", -1) + _sessions_upsert("NEW", 1),
        ),
        "sessions_monthly_delete": ("AFTER DELETE ON sessions", _sessions_upsert("OLD", -1)),
        "orders_rollup_insert": ("AFTER INSERT ON work_orders", _both("NEW", _order_weight("NEW", 1))),
        "orders_rollup_update": (
            "AFTER UPDATE OF %s ON work_orders WHEN %s" % (", ".join(ORDER_COLUMNS), _changed(ORDER_COLUMNS)),
            _both("OLD", _order_weight("OLD", -1)) + _both("NEW", _order_weight("NEW", 1)),
        ),
        "orders_rollup_delete": ("AFTER DELETE ON work_orders", _both("OLD", _order_weight("OLD", -1))),
        # an appeal upheld (excluded) or a binding changed: the rating's order
        # leaves or joins the counts
        "orders_rollup_rating_counted": (
            "AFTER UPDATE OF binding, excluded ON ratings WHEN %s != %s" % (counted("OLD"), counted("NEW")),
            _both(
                "o",
                "(%s - %s)" % (counted("NEW"), counted("OLD")),
                where="o.rating_id = NEW.id",
                source="FROM work_orders o",
            ),
        ),
    }
    triggers.update(
        {
            "orders_by_state_insert": ("AFTER INSERT ON work_orders", _state_count("NEW", 1)),
            "orders_by_state_update": (
                "AFTER UPDATE OF state, staff_id ON work_orders WHEN %s" % _changed(("state", "staff_id")),
                _state_count("OLD", -1) + _state_count("NEW", 1),
            ),
            "orders_by_state_delete": ("AFTER DELETE ON work_orders", _state_count("OLD", -1)),
        }
    )
    for name, (when, body) in triggers.items():
        db.execute("CREATE TRIGGER %s %s BEGIN %s END" % (name, when, body))
    fill(db)


def fill(db):
    """The rollups of the rows already there (the migration, and the benchmark's bulk load)."""
    db.execute(
        "INSERT INTO stats_monthly SELECT %s, hall, window, staff_id, unit_id, channel, SUM(total),"
        " SUM(good), SUM(middle), SUM(bad), SUM(not_counted) FROM stats_daily GROUP BY 1, 2, 3, 4, 5, 6"
        " HAVING SUM(total) != 0 OR SUM(not_counted) != 0" % month_of("day * 86400 - %d" % LOCAL)
    )
    db.execute(
        "INSERT INTO sessions_monthly SELECT %s, hall, window, staff_id, unit_id, SUM(sessions), SUM(rated)"
        " FROM sessions_daily GROUP BY 1, 2, 3, 4, 5 HAVING SUM(sessions) != 0 OR SUM(rated) != 0"
        % month_of("day * 86400 - %d" % LOCAL)
    )
    db.execute(
        "INSERT INTO orders_by_state SELECT COALESCE(staff_id, ''), state, COUNT(*)"
        " FROM work_orders GROUP BY 1, 2"
    )
    for table, period in (
        ("orders_daily", "(o.opened_at + %d) / 86400" % LOCAL),
        ("orders_monthly", month_of("o.opened_at")),
    ):
        db.execute(
            "INSERT INTO %s SELECT %s, o.hall, COALESCE(o.window, ''), COALESCE(o.staff_id, ''),"
            " COALESCE(o.unit_id, ''), COUNT(*), SUM(COALESCE(o.done_at <= o.done_due, 0))"
            " FROM work_orders o JOIN ratings r ON r.id = o.rating_id WHERE %s GROUP BY 1, 2, 3, 4, 5"
            % (table, period, counted("r"))
        )
