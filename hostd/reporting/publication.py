"""What a hall publishes (晾晒, 000 二(五); 001 三(四); 004 第十五条): the figures
of the public display (/display) and of its printed poster (hostd/reporting/poster.py).

Aggregates only, by construction: counts, rates and the ranking of windows
by their score. Nothing here reads a comment, a name of an evaluator, a
phone number or a single rating; staff appear only as the window they sit at.

  today / quarter   评价数, 好评率, 差评率 of the hall
  windows           each window's today and quarter figures
  rectification     this quarter's 差评整改: orders opened, rectified (replied
                    or explained: done_at), rectified on time, still open,
                    overdue, and the on-time rate
  ranking           the quarter's window ranking (hostd/reporting/ranking.py),
                    to date while the quarter runs
  unresolved        this quarter's 办不成事: reported, resolved, explained,
                    open, overdue (hostd/casework/unresolved.py)
"""

from hostd.base import clock, hall_time
from hostd.casework import unresolved
from hostd.reporting import periods, ranking, stats

DAY = 86400


def _rectification(db, hall, rates, start, end, now):
    """整改情况 of the orders opened in [start, end) at `hall`: the orders and
    those rectified on time from the rollups (`rates`, stats.rates of the
    same period), the ones still being rectified (and late) from the open
    orders' covering index: a quarter of a big hall reads its open orders and
    nothing else. (An open order's rating counts: an appeal or a fraud review
    that excludes it ends the order.)"""
    still_open, overdue = db.execute(
        "SELECT COUNT(*), SUM(o.done_due < :now OR (o.contacted_at IS NULL AND o.contact_due < :now))"
        " FROM work_orders o INDEXED BY work_orders_open_opened"
        " WHERE o.state IN ('new', 'contacted', 'rectifying', 'replied') AND o.done_at IS NULL"
        " AND o.opened_at >= :start AND o.opened_at < :end AND o.hall = :hall",
        {"start": start, "end": end, "hall": hall, "now": now},
    ).fetchone()
    orders, on_time = rates["bad_orders"], rates["rectified_on_time"]
    return {
        "orders": orders,
        "finished": orders - still_open,
        "on_time": on_time,
        "open": still_open,
        "overdue": int(overdue or 0),
        "on_time_rate": round(on_time / orders, 4) if orders else None,
    }


def figures(db, hall, config=None, now=None):
    """Everything the display and the poster show, as one dict."""
    now = int(clock.now() if now is None else now)
    today = hall_time.day_start(now)
    quarter = periods.quarter_of(now)
    q_start, q_end = periods.period(quarter)
    names = {w: n for w, n in db.execute("SELECT window, name FROM windows WHERE hall = ?", [hall])}
    by_today = {r["key"]: r for r in stats.breakdown(db, "window", today, today + DAY, hall=hall)}
    by_quarter = {r["key"]: r for r in stats.breakdown(db, "window", q_start, q_end, hall=hall)}
    windows = sorted(set(names) | set(by_today) | set(by_quarter), key=str)
    ranked = ranking.ranking(db, quarter, by="window", config=config, hall=hall)
    quarter_rates = stats.rates(db, q_start, q_end, hall=hall)
    return {
        "hall": hall,
        "quarter": quarter,
        "at": now,
        "today": stats.rates(db, today, today + DAY, hall=hall),
        "quarter_rates": quarter_rates,
        "windows": [
            {"window": w, "name": names.get(w) or "", "today": by_today.get(w), "quarter": by_quarter.get(w)}
            for w in windows
            if w
        ],
        "rectification": _rectification(db, hall, quarter_rates, q_start, q_end, now),
        "ranking": [
            {
                "rank": r["rank"],
                "window": r["key"],
                "name": names.get(r["key"]) or "",
                "score": r["score"],
                "total": r["total"],
                "good_rate": r["good_rate"],
            }
            for r in ranked
        ],
        "min_ratings": (config or {}).get("ranking", {}).get("min_ratings", 10),
        "unresolved": unresolved.counts(db, hall, q_start, q_end, now),
    }
