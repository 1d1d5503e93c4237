"""好差评统计: rates, volumes and breakdowns, straight from SQL over indexed tables.

Counted ratings: binding 'session' or 'window' and not excluded (an upheld
appeal marks a rating 误评 / 恶意差评: kept, not counted). 'refused' ratings
(a second rating of one service) never count.
  好评率 good_rate     levels 5, 4 / counted ratings
  中评率 middle_rate   level 3 / counted
  差评率 bad_rate      levels 2, 1 / counted
  主动评价率 active_rate  sessions rated by the citizen (state 'rated'; a default
                       rating leaves 'defaulted') / sessions not cancelled
  差评整改率 rectify_rate  差评 work orders done (replied or explained) by their
                       done_due / all counted 差评 work orders
  volume               counted ratings (数据归集量)
Periods are half-open [start, end) in Unix seconds; days, weeks (Monday
first), months and quarters are China Standard Time (UTC+8, no DST).
Whole-day periods without an item filter read the rollups kept by
triggers (daily: hostd/db/schema/workorders.py w002; monthly and work
orders': hostd/db/schema/rollups.py), days at the ends and months between
(hostd/reporting/rollups.py); other queries read ratings, sessions and work
orders through covering indexes. Periods: hostd/reporting/periods.py.
"""

from hostd.reporting import rollups

TZ_SQL = "'+8 hours'"
COUNTED = "binding IN ('session', 'window') AND excluded IS NULL"
GROUPS = ("hall", "unit", "window", "staff", "item", "channel", "day", "week", "month", "quarter")
CHANNEL_LABELS = {"device": "评价器", "qr": "扫码评价", "default": "系统默认评价", "paper": "书面"}

# how each grouping names its key, on ratings (r), sessions (s) and work orders' ratings
_DIMENSION = {
    "hall": "hall",
    "unit": "unit_id",
    "window": "window",
    "staff": "staff_id",
    "item": "item_code",
    "channel": "channel",
}
_TIME = {
    "day": "date({t}, 'unixepoch', %s)" % TZ_SQL,
    "week": "date({t}, 'unixepoch', %s, 'weekday 0', '-6 days')" % TZ_SQL,
    "month": "strftime('%%Y-%%m', {t}, 'unixepoch', %s)" % TZ_SQL,
    "quarter": (
        "strftime('%%Y', {t}, 'unixepoch', %s) || 'Q' ||"
        " ((CAST(strftime('%%m', {t}, 'unixepoch', %s) AS INTEGER) + 2) / 3)" % (TZ_SQL, TZ_SQL)
    ),
}
# the who-and-where columns every rollup table has
_ROLLUP_KEYS = ("hall", "unit_id", "window", "staff_id")
_FILTERS = {
    "hall": "hall",
    "unit_id": "unit_id",
    "window": "window",
    "staff_id": "staff_id",
    "item_code": "item_code",
    "channel": "channel",
}


def _where(start, end, time_column, filters, prefix="", skip=()):
    clauses = ["%s%s >= :start AND %s%s < :end" % (prefix, time_column, prefix, time_column)]
    params = {"start": int(start), "end": int(end)}
    for name, column in _FILTERS.items():
        value = filters.get(name)
        if value is not None and name not in skip:
            clauses.append("%s%s = :%s" % (prefix, column, name))
            params[name] = value
    return " AND ".join(clauses), params


def _key(by, prefix, time_column):
    if by in _TIME:
        return _TIME[by].format(t=prefix + time_column)
    if by not in _DIMENSION:
        raise ValueError("group by one of %s" % ", ".join(GROUPS))
    return prefix + _DIMENSION[by]


def _filters_on(filters, columns, skip=()):
    """{column: value} of the filters a rollup table can apply."""
    return {
        _FILTERS[name]: value
        for name, value in filters.items()
        if value is not None and name not in skip and _FILTERS.get(name) in columns
    }


def _from_rollups(db, tables, columns, start, end, filters, by, having):
    sql, params = rollups.query(tables, columns, start, end, filters, by, _DIMENSION, having)
    return {row[0]: row[1:] for row in db.execute(sql, params).fetchall()}


def _group(sql, by, having=""):
    return sql + (" GROUP BY k" + having if by else "")


def _ratings(db, start, end, filters, by=None):
    if rollups.whole_days(start, end) and by != "item" and filters.get("item_code") is None:
        return _from_rollups(
            db,
            {"day": "stats_daily", "month": "stats_monthly"},
            ("total", "good", "middle", "bad", "not_counted"),
            start,
            end,
            _filters_on(filters, _ROLLUP_KEYS + ("channel",)),
            by,
            "SUM(total) + SUM(not_counted) != 0",  # rows moved away
        )
    else:
        where, params = _where(start, end, "received_at", filters)
        index = "ratings_staff_stats" if filters.get("staff_id") is not None else "ratings_stats"
        sql = (
            "SELECT %s AS k, SUM(excluded IS NULL), SUM(excluded IS NULL AND level >= 4),"
            " SUM(excluded IS NULL AND level = 3), SUM(excluded IS NULL AND level <= 2),"
            " SUM(excluded IS NOT NULL) FROM ratings INDEXED BY %s"
            " WHERE %s AND binding IN ('session', 'window')"
            % (_key(by, "", "received_at") if by else "NULL", index, where)
        )
        sql = _group(sql, by)
    return {row[0]: row[1:] for row in db.execute(sql, params).fetchall()}


def _sessions(db, start, end, filters, by=None):
    if filters.get("channel") is not None or by == "channel":
        return {}
    if rollups.whole_days(start, end) and by != "item" and filters.get("item_code") is None:
        return _from_rollups(
            db,
            {"day": "sessions_daily", "month": "sessions_monthly"},
            ("sessions", "rated"),
            start,
            end,
            _filters_on(filters, _ROLLUP_KEYS),
            by,
            "SUM(sessions) != 0 OR SUM(rated) != 0",
        )
    else:
        where, params = _where(start, end, "created_at", filters, skip=("channel",))
        key = _key(by, "", "created_at") if by else "NULL"
        sql = _group(
            "SELECT %s AS k, SUM(state != 'cancelled'), SUM(state = 'rated') FROM sessions"
            " WHERE %s" % (key, where),
            by,
        )
    return {row[0]: row[1:] for row in db.execute(sql, params).fetchall()}


_ORDER_COLUMNS = {
    "hall": "o.hall",
    "window": "o.window",
    "staff_id": "o.staff_id",
    "unit_id": "o.unit_id",
    "item_code": "r.item_code",
    "channel": "r.channel",
}


def _orders(db, start, end, filters, by=None):
    # Whole days without an item or channel read orders_daily/_monthly; else
    # work orders drive the join (one primary-key lookup per order). An order
    # opens at its rating's received_at and carries its rating's hall, window,
    # staff and unit.
    rated = ("item_code", "channel")
    if (
        rollups.whole_days(start, end)
        and by not in ("item", "channel")
        and all(filters.get(f) is None for f in rated)
    ):
        return _from_rollups(
            db,
            {"day": "orders_daily", "month": "orders_monthly"},
            ("orders", "on_time"),
            start,
            end,
            _filters_on(filters, _ROLLUP_KEYS),
            by,
            "SUM(orders) != 0 OR SUM(on_time) != 0",
        )
    clauses = ["o.opened_at >= :start AND o.opened_at < :end"]
    params = {"start": int(start), "end": int(end)}
    for name, column in _ORDER_COLUMNS.items():
        if filters.get(name) is not None:
            clauses.append("%s = :%s" % (column, name))
            params[name] = filters[name]
    if by is None:
        key = "NULL"
    elif by in _TIME:
        key = _TIME[by].format(t="o.opened_at")
    else:
        key = _ORDER_COLUMNS[
            {
                "hall": "hall",
                "unit": "unit_id",
                "window": "window",
                "staff": "staff_id",
                "item": "item_code",
                "channel": "channel",
            }[by]
        ]
    sql = (
        "SELECT %s AS k, COUNT(*), SUM(o.done_at IS NOT NULL AND o.done_at <= o.done_due)"
        " FROM work_orders o INDEXED BY work_orders_opened CROSS JOIN ratings r"
        " ON r.id = o.rating_id WHERE %s AND r.binding IN ('session', 'window')"
        " AND r.excluded IS NULL" % (key, " AND ".join(clauses))
    )
    return {row[0]: row[1:] for row in db.execute(_group(sql, by), params).fetchall()}


def _ratio(part, whole):
    return round(part / whole, 4) if whole else None


def _combine(r, s, o):
    total, good, middle, bad, excluded = [x or 0 for x in (r or (0, 0, 0, 0, 0))]
    sessions, rated = [x or 0 for x in (s or (0, 0))]
    orders, on_time = [x or 0 for x in (o or (0, 0))]
    return {
        "total": total,
        "good": good,
        "middle": middle,
        "bad": bad,
        "excluded": excluded,
        "good_rate": _ratio(good, total),
        "middle_rate": _ratio(middle, total),
        "bad_rate": _ratio(bad, total),
        "sessions": sessions,
        "active_rated": rated,
        "active_rate": _ratio(rated, sessions),
        "bad_orders": orders,
        "rectified_on_time": on_time,
        "rectify_rate": _ratio(on_time, orders),
        "volume": total,
    }


def rates(db, start, end, **filters):
    """The rates dict of one period, with optional filters hall, unit_id, window,
    staff_id, item_code, channel (channel leaves the session-based active_rate None)."""
    filters.pop("now", None)
    r = _ratings(db, start, end, filters).get(None)
    s = _sessions(db, start, end, filters).get(None)
    o = _orders(db, start, end, filters).get(None)
    out = _combine(r, s, o)
    if filters.get("channel") is not None:
        out["active_rate"] = None
    return out


def breakdown(db, by, start, end, **filters):
    """[rates dict + key, label] grouped by one of GROUPS, in key order."""
    filters.pop("now", None)
    if by not in GROUPS:
        raise ValueError("group by one of %s" % ", ".join(GROUPS))
    r = _ratings(db, start, end, filters, by)
    s = _sessions(db, start, end, filters, by)
    o = _orders(db, start, end, filters, by)
    keys = sorted(set(r) | set(s) | set(o), key=lambda k: (k is None, str(k)))
    names = labels(db, by, keys)
    rows = []
    for k in keys:
        row = _combine(r.get(k), s.get(k), o.get(k))
        if not (row["total"] or row["excluded"] or row["sessions"] or row["bad_orders"]):
            continue  # e.g. only cancelled sessions, or rollup rows that moved away
        row["key"] = k
        row["label"] = names.get(k, k if k is not None else "未知")
        rows.append(row)
    return rows


def named_callbacks(db, start, end, **filters):
    """实名差评回访率: counted 差评 whose evaluator left a name or phone (ratings.named),
    and how many of their work orders reached the citizen (contacted_at).

    {named_bad, called_back, callback_rate}; filters hall, unit_id, window, staff_id."""
    clauses = [
        "r.named = 1 AND r.received_at >= :start AND r.received_at < :end",
        "r.binding IN ('session', 'window') AND r.excluded IS NULL",
    ]
    params = {"start": int(start), "end": int(end)}
    for name in ("hall", "window", "staff_id", "unit_id"):
        if filters.get(name) is not None:
            clauses.append("o.%s = :%s" % (name, name))
            params[name] = filters[name]
    total, called = db.execute(
        "SELECT COUNT(*), COALESCE(SUM(o.contacted_at IS NOT NULL), 0)"
        " FROM ratings r INDEXED BY ratings_named JOIN work_orders o ON o.rating_id = r.id WHERE "
        + " AND ".join(clauses),
        params,
    ).fetchone()
    return {"named_bad": total, "called_back": called, "callback_rate": _ratio(called, total)}


def labels(db, by, keys):
    """Display names (Chinese) of grouping keys."""
    keys = [k for k in keys if k is not None]
    if by == "channel":
        return {k: CHANNEL_LABELS.get(k, k) for k in keys}
    if by == "week":
        return {k: "%s起一周" % k for k in keys}
    table = {
        "unit": ("units", "unit_id", "name"),
        "staff": ("staff", "staff_id", "name || '（' || staff_no || '）'"),
        "window": ("windows", "window", "CASE WHEN name = '' THEN window || '号窗口' ELSE name END"),
    }.get(by)
    out = {}
    if table:
        name, column, expr = table
        for k in keys:
            row = db.execute("SELECT %s FROM %s WHERE %s = ? LIMIT 1" % (expr, name, column), (k,)).fetchone()
            if row and row[0]:
                out[k] = row[0]
    elif by == "item":
        for k in keys:
            row = db.execute("SELECT item_name FROM sessions WHERE item_code = ? LIMIT 1", (k,)).fetchone()
            if row:
                out[k] = row[0]
    return out
