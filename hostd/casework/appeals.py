"""appeal  # 申诉复核: the rated staff member appeals a rating; a supervisor decides.

An upheld appeal marks the rating 误评 (mistaken) or 恶意差评 (malicious):
ratings.excluded is set, the row stays, and statistics and rankings skip it
(hostd/reporting/stats.py COUNTED). Its open work order ends as explained. A rejected
appeal changes nothing but its own record. Every filing and decision is kept
in the appeals row (who, when, verdict, note), and every decision on a
rating that went upstream is queued for the provincial platform
(hostd/upstream/followups.py).
"""

from hostd.base import clock
from hostd.base.errors import UserError
from hostd.casework import workorders
from hostd.upstream import followups

VERDICTS = ("误评", "恶意差评")
STATE_LABELS = {"pending": "待复核", "upheld": "申诉成立", "rejected": "申诉驳回"}


class AppealError(UserError):
    pass


class NotFound(AppealError):
    pass


def _now(now):
    return int(clock.now()) if now is None else int(now)


def file(db, rating_id, staff_id, reason, actor, now=None):
    """A staff member appeals a rating of their own; return the appeal dict."""
    now = _now(now)
    row = db.conn.execute(
        "SELECT staff_id, excluded, binding FROM ratings WHERE id = ?", (rating_id,)
    ).fetchone()
    if row is None:
        raise NotFound("没有评价 %s / no rating %s" % (rating_id, rating_id))
    rated_staff, excluded, binding = row
    if not staff_id or rated_staff != staff_id:
        raise AppealError("只能申诉对本人的评价 / staff %s may appeal only ratings of their own" % staff_id)
    if not reason or not reason.strip():
        raise AppealError("请填写申诉理由 / give the reason for the appeal")
    if excluded or binding == "refused":
        raise AppealError("该评价已不计入统计，无需申诉 / rating %s is not counted already" % rating_id)
    if db.conn.execute(
        "SELECT 1 FROM appeals WHERE rating_id = ? AND state = 'pending'", (rating_id,)
    ).fetchone():
        raise AppealError("该评价已有待复核的申诉 / rating %s already has a pending appeal" % rating_id)
    appeal_id = db.conn.execute(
        "INSERT INTO appeals (rating_id, staff_id, reason, filed_at, filed_by) VALUES (?, ?, ?, ?, ?)",
        (rating_id, staff_id, reason.strip(), now, actor),
    ).lastrowid
    return get(db, appeal_id)


def decide(db, appeal_id, uphold, actor, verdict=None, note="", now=None):
    """A supervisor upholds (verdict 误评 / 恶意差评) or rejects a pending appeal."""
    now = _now(now)
    appeal = get(db, appeal_id)
    if appeal["state"] != "pending":
        raise AppealError(
            "申诉 %s 已复核（%s）/ appeal %s was decided already"
            % (appeal_id, appeal["state_label"], appeal_id)
        )
    if not actor:
        raise AppealError("复核须注明复核人 / a decision needs an actor")
    if uphold and verdict not in VERDICTS:
        raise AppealError("申诉成立须认定为 误评 或 恶意差评 / verdict must be 误评 or 恶意差评")
    if not uphold:
        verdict = None
    db.conn.execute(
        "UPDATE appeals SET state = ?, decided_at = ?, decided_by = ?, verdict = ?,"
        " decision_note = ? WHERE appeal_id = ?",
        ("upheld" if uphold else "rejected", now, actor, verdict, note or "", appeal_id),
    )
    if uphold:
        rating_id = appeal["rating_id"]
        db.conn.execute(
            "UPDATE ratings SET excluded = ?, excluded_at = ? WHERE id = ?", (verdict, now, rating_id)
        )
        order = db.conn.execute(
            "SELECT order_id, state FROM work_orders WHERE rating_id = ?", (rating_id,)
        ).fetchone()
        if order and order[1] in workorders.OPEN_STATES:
            _end_order(db, order[0], order[1], actor, verdict, appeal_id, now)
    followups.enqueue_appeal(db, appeal_id)  # reported upward (policy.md "Appeals")
    return get(db, appeal_id)


def _end_order(db, order_id, state, actor, verdict, appeal_id, now):
    explanation = "申诉成立（%s），评价不计入统计（申诉 %s）" % (verdict, appeal_id)
    if "explained" in workorders.NEXT[state]:
        workorders.move(db, order_id, "explained", actor, explanation=explanation, now=now)
    else:  # replied: the rectification was answered; close without feedback
        workorders.move(db, order_id, "closed", actor, note=explanation, now=now)


_SELECT = """
    SELECT a.*, s.name AS staff_name, s.staff_no, r.level, r.channel, r.received_at, r.window, r.excluded,
           r.reasons, r.comment, r.session_id, ss.item_code, ss.item_name,
           (SELECT group_concat(c.case_id, '、') FROM session_cases c WHERE c.session_id = r.session_id)
               AS case_ids
    FROM appeals a JOIN ratings r ON r.id = a.rating_id
    LEFT JOIN staff s ON s.staff_id = a.staff_id
    LEFT JOIN sessions ss ON ss.session_id = r.session_id"""


def _dress(row):
    row = dict(row)
    row["state_label"] = STATE_LABELS[row["state"]]
    return row


def get(db, appeal_id):
    rows = list(db.query(_SELECT + " WHERE a.appeal_id = ?", [appeal_id]))
    if not rows:
        raise NotFound("没有申诉 %s / no appeal %s" % (appeal_id, appeal_id))
    return _dress(rows[0])


def list_appeals(db, state=None, staff_id=None, limit=200):
    """Appeals, pending first (oldest first), then decided (newest first)."""
    where, params = [], {"limit": int(limit)}
    if state:
        where.append("a.state = :state")
        params["state"] = state
    if staff_id:
        where.append("a.staff_id = :staff_id")
        params["staff_id"] = staff_id
    sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "")
    sql += (
        " ORDER BY a.state != 'pending', CASE WHEN a.state = 'pending' THEN a.filed_at"
        " ELSE -a.decided_at END LIMIT :limit"
    )
    return [_dress(row) for row in db.query(sql, params)]
