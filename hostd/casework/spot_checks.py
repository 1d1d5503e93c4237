"""回访抽查: supervisors spot-check finished work orders (003 第十六条).

A supervisor draws a random share of the work orders finished (已办结 or
已说明) in a quarter that were not drawn before, calls the complainants
back, and records what they found for each:
  confirmed    回访属实: the callback and the rectification happened as recorded
  disputed     与记录不符: they did not (a note says how)
  unreachable  无法联系: nobody could be reached
Each step names who and when. The quarterly report shows the draw and its
outcomes (hostd/reporting/report.py).
"""

import math
import random

from hostd.base.errors import UserError

OUTCOMES = {"confirmed": "回访属实", "disputed": "与记录不符", "unreachable": "无法联系"}
MAX_NOTE = 300


class SpotCheckError(UserError):
    """str(): why, in Chinese and English."""


def draw(db, percent, quarter, span, by, now, rng=None):
    """Draw `percent`% (rounded up) of the orders finished in `quarter` (its
    [start, end) `span`, hostd/reporting/periods.py) that were not drawn yet;
    their order ids, in the order drawn."""
    if isinstance(percent, bool) or not isinstance(percent, (int, float)) or not 0 < percent <= 100:
        raise SpotCheckError("抽查比例须在 1-100 之间 / the share must be 1-100 percent, got %r" % (percent,))
    start, end = span
    candidates = [
        row[0]
        for row in db.conn.execute(
            "SELECT o.order_id FROM work_orders o WHERE o.state IN ('closed', 'explained')"
            " AND o.closed_at >= ? AND o.closed_at < ?"
            " AND NOT EXISTS (SELECT 1 FROM spot_checks c WHERE c.order_id = o.order_id) ORDER BY o.order_id",
            (int(start), int(end)),
        )
    ]
    if not candidates:
        raise SpotCheckError(
            "%s 没有可抽查的已办结工单（或已全部抽过）/ no finished work order of %s is left to draw"
            % (quarter, quarter)
        )
    count = min(len(candidates), math.ceil(len(candidates) * percent / 100))
    drawn = (rng or random.SystemRandom()).sample(candidates, count)
    db.conn.executemany(
        "INSERT INTO spot_checks (order_id, period, drawn_at, drawn_by) VALUES (?, ?, ?, ?)",
        [(order_id, quarter, int(now), by) for order_id in drawn],
    )
    return drawn


def record(db, check_id, outcome, note, by, now):
    """Record what the callback check found; once."""
    if outcome not in OUTCOMES:
        raise SpotCheckError(
            "抽查结果须为 %s / outcome must be one of %s"
            % ("、".join(OUTCOMES.values()), ", ".join(OUTCOMES))
        )
    note = (note or "").strip()[:MAX_NOTE] or None
    if outcome == "disputed" and not note:
        raise SpotCheckError("与记录不符时请说明情况 / a disputed check needs a note saying how")
    row = db.conn.execute("SELECT outcome FROM spot_checks WHERE id = ?", (check_id,)).fetchone()
    if row is None:
        raise SpotCheckError("没有抽查 %s / no spot check %s" % (check_id, check_id))
    if row[0] is not None:
        raise SpotCheckError(
            "抽查 %s 已有结果，不能更改 / spot check %s has its outcome" % (check_id, check_id)
        )
    db.conn.execute(
        "UPDATE spot_checks SET outcome = ?, note = ?, checked_at = ?, checked_by = ? WHERE id = ?",
        (outcome, note, int(now), by, check_id),
    )


def listed(db, quarter):
    """The draw of `quarter` with each order's state, staff and outcome."""
    rows = db.conn.execute(
        "SELECT c.id, c.order_id, c.drawn_at, c.drawn_by, c.outcome, c.note, c.checked_at, c.checked_by,"
        " o.state, o.window, o.staff_id, s.name, o.feedback, o.closed_at"
        " FROM spot_checks c JOIN work_orders o ON o.order_id = c.order_id"
        " LEFT JOIN staff s ON s.staff_id = o.staff_id WHERE c.period = ? ORDER BY c.id",
        (quarter,),
    ).fetchall()
    keys = ("id", "order_id", "drawn_at", "drawn_by", "outcome", "note", "checked_at", "checked_by",
            "state", "window", "staff_id", "staff_name", "feedback", "closed_at")  # fmt: skip
    out: list[dict] = [dict(zip(keys, row)) for row in rows]
    for row in out:
        row["outcome_label"] = OUTCOMES.get(row["outcome"], "待回访")
    return out


def summary(db, quarter, span):
    """{drawn, checked, confirmed, disputed, unreachable, finished} of `quarter` ([start, end) `span`)."""
    start, end = span
    counts = dict(
        db.conn.execute(
            "SELECT COALESCE(outcome, 'waiting'), COUNT(*) FROM spot_checks WHERE period = ? GROUP BY 1",
            (quarter,),
        ).fetchall()
    )
    finished = db.conn.execute(
        "SELECT COUNT(*) FROM work_orders WHERE state IN ('closed', 'explained')"
        " AND closed_at >= ? AND closed_at < ?",
        (int(start), int(end)),
    ).fetchone()[0]
    drawn = sum(counts.values())
    return {
        "finished": finished,
        "drawn": drawn,
        "checked": drawn - counts.get("waiting", 0),
        **{key: counts.get(key, 0) for key in OUTCOMES},
    }
