"""差评 analysis (归因分析, 001 三(二); 002 二(二)3): where the 差评 come from, and
where they pile up.

bad_by()          counted 差评 of a period by reason, item, staff member or
                  unit, with the period before (the month or quarter before)
                  for the trend; read from rollups kept by triggers
                  (hostd/db/schema/supervision.py): bad_monthly for whole
                  months (a quarter on two million ratings reads a few
                  hundred rows), bad_reasons_daily / bad_daily otherwise
monthly()         差评 per month by reason, for the trend chart
concentrations()  one staff member or item with analysis.concentration_count
                  差评 or more in the last analysis.concentration_days days:
                  the alert hostd/alerts/conditions.py raises

Periods are whole local days (the daily rollups' grain); a period that is
not is widened to the days it touches.
"""

import calendar
import time

from hostd.base import hall_time
from hostd.reporting import stats

DAY = 86400
BY = ("reason", "item", "staff", "unit")
REASONS = {  # the names the hall pages use too (hostd/web/pages/common.py)
    0: "未选择原因",
    1: "服务态度",
    2: "服务效率",
    3: "服务质量",
    4: "服务环境",
    5: "其他",
    6: "便捷性",
}  # protocol.messages REASON_*
_COLUMN = {"reason": "reason", "item": "item_code", "staff": "staff_id", "unit": "unit_id"}


def _days(start, end):
    """The local day numbers [first, last) of the rollups covering [start, end)."""
    first = (int(start) + hall_time.OFFSET) // DAY
    last = -(-(int(end) + hall_time.OFFSET) // DAY)
    return first, last


def _counts(db, by, start, end, hall=None, where=""):
    first_month, whole_first = _local_month(start)
    last_month, whole_last = _local_month(end)
    if whole_first and whole_last and not where:  # whole months: bad_monthly, a few hundred rows
        rows = db.execute(
            "SELECT key, SUM(n) FROM bad_monthly WHERE month >= ? AND month < ? AND dim = ?%s"
            " GROUP BY key HAVING SUM(n) > 0" % (" AND hall = ?" if hall else ""),
            [first_month, last_month, by] + ([hall] if hall else []),
        ).fetchall()
        return {(int(k) if by == "reason" else k): n for k, n in rows}
    first, last = _days(start, end)
    table = "bad_reasons_daily" if by == "reason" else "bad_daily"
    column = _COLUMN[by]
    sql = "SELECT %s, SUM(n) FROM %s WHERE day >= ? AND day < ?%s%s GROUP BY %s HAVING SUM(n) > 0" % (
        column,
        table,
        " AND hall = ?" if hall else "",
        where,
        column,
    )
    args = [first, last] + ([hall] if hall else [])
    return {row[0]: row[1] for row in db.execute(sql, args).fetchall()}


def _labels(db, by, keys):
    if by == "reason":
        return {k: REASONS.get(k, "原因 %s" % k) for k in keys}
    return stats.labels(db, by, [k for k in keys if k != ""])


def _local_month(ts):
    t = time.gmtime(int(ts) + hall_time.OFFSET)
    return t.tm_year * 12 + t.tm_mon - 1, (t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec) == (1, 0, 0, 0)


def _month_start(month):
    return calendar.timegm((month // 12, month % 12 + 1, 1, 0, 0, 0)) - hall_time.OFFSET


def previous(start, end):
    """The period before [start, end): the month or quarter before a whole
    calendar month or quarter (so 2026Q1 is compared with all of 2025Q4,
    and March with February), else the span of the same length before."""
    first, whole_first = _local_month(start)
    last, whole_last = _local_month(end)
    months = last - first
    if whole_first and whole_last and months in (1, 3) and (months == 1 or first % 3 == 0):
        return _month_start(first - months), int(start)
    return int(start) - (int(end) - int(start)), int(start)


def bad_by(db, by, start, end, hall=None, limit=20):
    """[{key, label, bad, share (of all 差评), before (the period before,
    previous()), change}] most 差评 first; "" keys are 未知 (no item, or a
    window nobody was on duty at)."""
    if by not in BY:
        raise ValueError("analyse by one of %s" % ", ".join(BY))
    now = _counts(db, by, start, end, hall)
    before = _counts(db, by, *previous(start, end), hall=hall)
    total = sum(now.values()) if by != "reason" else sum(_counts(db, "unit", start, end, hall).values())
    names = _labels(db, by, list(now))
    rows = [
        {
            "key": k,
            "label": names.get(k) or ("未知" if k in ("", None) else k),
            "bad": n,
            "share": round(n / total, 4) if total else None,
            "before": before.get(k, 0),
            "change": n - before.get(k, 0),
        }
        for k, n in now.items()
    ]
    rows.sort(key=lambda r: (-r["bad"], str(r["key"])))
    return rows[:limit]


def monthly(db, start, end, hall=None):
    """{"months": ["2026-10", ...], "series": {reason label: [n per month]}} of
    差评 by reason, over the months [start, end) touches."""
    first, _whole = _local_month(start)
    last, whole = _local_month(end)
    rows = [
        ("%04d-%02d" % (m // 12, m % 12 + 1), int(reason), n)
        for m, reason, n in db.execute(
            "SELECT month, key, SUM(n) FROM bad_monthly WHERE month >= ? AND month < ? AND dim = 'reason'%s"
            " GROUP BY month, key HAVING SUM(n) > 0 ORDER BY month" % (" AND hall = ?" if hall else ""),
            [first, last if whole else last + 1] + ([hall] if hall else []),
        ).fetchall()
    ]
    months = sorted({m for m, _r, _n in rows})
    series = {}
    for m, reason, n in rows:
        series.setdefault(REASONS.get(reason, str(reason)), [0] * len(months))[months.index(m)] = n
    return {"months": months, "series": series}


def concentrations(db, config, now, hall=None):
    """[{by: "staff" | "item", key, label, bad, days}] with at least K counted
    差评 in the last D local days (today included)."""
    k, d = config["analysis"]["concentration_count"], config["analysis"]["concentration_days"]
    today = (int(now) + hall_time.OFFSET) // DAY
    start = (today - d + 1) * DAY - hall_time.OFFSET
    out = []
    for by in ("staff", "item"):
        counts = _counts(db, by, start, int(now), hall, " AND %s != ''" % _COLUMN[by])
        hits = {key: n for key, n in counts.items() if n >= k}
        names = _labels(db, by, list(hits))
        for key, n in sorted(hits.items(), key=lambda kv: (-kv[1], kv[0])):
            out.append({"by": by, "key": key, "label": names.get(key) or key, "bad": n, "days": d})
    return out


def year_span(year):
    """[start, end) of a calendar year in the hall's time."""
    start = calendar.timegm((int(year), 1, 1, 0, 0, 0)) - hall_time.OFFSET
    return start, calendar.timegm((int(year) + 1, 1, 1, 0, 0, 0)) - hall_time.OFFSET


def this_year(now=None):
    return time.gmtime((now if now is not None else time.time()) + hall_time.OFFSET).tm_year
