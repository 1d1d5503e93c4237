"""Reading the rollups (hostd/db/schema/workorders.py w002, rollups.py): a
whole-day period as daily rows at its ends and monthly rows in between.

A quarter is three monthly rows per who-and-where instead of ninety daily
ones; a period such as 2026-10-15 .. 2026-12-10 reads the days of October
from the 15th, the whole of November by month, and December's first nine
days. Grouping by day or week reads daily rows only.

Rows are grouped on integer keys (a local day number, a week number, a month
number year * 12 + month - 1, a quarter number) and named at the end, so
the names are those of the raw-row queries in hostd/reporting/stats.py
('2026-11-20', '2026-11-16' for its week, '2026-11', '2026Q4').
"""

import datetime

from hostd.reporting.periods import TZ

DAY = 86400
EPOCH = datetime.date(1970, 1, 1)
# a daily row's local month: its day number is days since 1970-01-01, local
_MONTH_OF_DAY = (
    "(CAST(strftime('%Y', day * 86400, 'unixepoch') AS INTEGER) * 12"
    " + CAST(strftime('%m', day * 86400, 'unixepoch') AS INTEGER) - 1)"
)
_KEY = {
    "day": {"day": "day", "week": "(day + 3) / 7", "month": _MONTH_OF_DAY, "quarter": _MONTH_OF_DAY + " / 3"},
    "month": {"month": "month", "quarter": "month / 3"},
}
_NAME = {
    "day": "date(g * 86400, 'unixepoch')",
    "week": "date((g * 7 - 3) * 86400, 'unixepoch')",  # the Monday (day 4, 1970-01-05, is week 1)
    "month": "printf('%04d-%02d', g / 12, g % 12 + 1)",
    "quarter": "printf('%dQ%d', g / 4, g % 4 + 1)",
}


def whole_days(start, end):
    return (start + TZ) % DAY == 0 and (end + TZ) % DAY == 0


def day_of(seconds):
    return (int(seconds) + TZ) // DAY


def month_of_day(day):
    date = EPOCH + datetime.timedelta(days=day)
    return date.year * 12 + date.month - 1


def first_day(month):
    return (datetime.date(month // 12, month % 12 + 1, 1) - EPOCH).days


def pieces(start, end, months=True):
    """[(grain, lo, hi)]: half-open ranges of days ('day') and whole months
    ('month') that together cover the whole-day period [start, end)."""
    d0, d1 = day_of(start), day_of(end)
    m0 = month_of_day(d0) + (first_day(month_of_day(d0)) != d0)
    m1 = month_of_day(d1)  # the month d1 falls in: every month before it ends by d1
    if not months or m1 <= m0:
        return [("day", d0, d1)]
    out = [("day", d0, first_day(m0))] if first_day(m0) > d0 else []
    out.append(("month", m0, m1))
    if d1 > first_day(m1):
        out.append(("day", first_day(m1), d1))
    return out


def query(tables, columns, start, end, filters, by, dimensions, having):
    """(sql, params) summing `columns` of the rollup `tables` ({"day": daily
    table, "month": monthly table}) over [start, end), filtered by
    `filters` ({column: value}), grouped by `by` (a time grain or a column in
    `dimensions`, whose '' means none) or not at all (by None)."""
    parts, params = [], {}
    for i, (grain, lo, hi) in enumerate(pieces(start, end, months=by not in ("day", "week"))):
        if by is None:
            key = "NULL"
        elif by in _NAME:
            key = _KEY[grain][by]
        else:
            key = "NULLIF(%s, '')" % dimensions[by]
        where = ["%s >= :lo%d AND %s < :hi%d" % (grain, i, grain, i)]
        params.update({"lo%d" % i: lo, "hi%d" % i: hi})
        for column, value in filters.items():
            where.append("%s = :f_%s" % (column, column))
            params["f_" + column] = value
        parts.append(
            "SELECT %s AS g, %s FROM %s WHERE %s"
            % (key, ", ".join(columns), tables[grain], " AND ".join(where))
        )
    sums = ", ".join("SUM(%s)" % c for c in columns)
    name = _NAME.get(by, "g") if by else "NULL"
    sql = "SELECT %s AS k, %s FROM (%s)" % (name, sums, " UNION ALL ".join(parts))
    if by:
        sql += " GROUP BY g HAVING " + having
    return sql, params
