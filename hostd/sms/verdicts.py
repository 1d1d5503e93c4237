"""The verdict link by SMS: a replied work order's complainant gets the link
to rate the rectification (hostd/web/verdict.py), once per reply, when they
gave a number with consent: the business system's (session_contacts) or a
实名 evaluator's (ratings.evaluator_mobile, left with the callback consent).

queue() finds replied orders with a number and no message for that reply
yet (the job runs every sms.check_s); claim() and the answers follow
hostd/sms/reminders.py, with the same per-number limits, states and
never-twice rule. The template (sms.verdict_template_code) has ${item} and
${code}; /s/<code> leads to the verdict link. With no template, nothing is
sent and the supervisor sends the link the order's page shows.
"""

from hostd.sms import reminders

_REPLIED = (
    "SELECT o.order_id, (SELECT MAX(e.at) FROM work_order_events e WHERE e.order_id = o.order_id"
    " AND e.to_state = 'replied' AND e.from_state IS NOT 'replied') AS at,"  # a reply, not a note
    " COALESCE(c.mobile, r.evaluator_mobile)"
    " FROM work_orders o JOIN ratings r ON r.id = o.rating_id"
    " LEFT JOIN session_contacts c ON c.session_id = o.session_id"
    " WHERE o.state = 'replied' AND COALESCE(c.mobile, r.evaluator_mobile) IS NOT NULL"
)


def queue(db, now):
    """Queue a message for each replied order with a number and none for its
    latest reply yet (inside the caller's transaction); how many."""
    count = 0
    for order_id, at, mobile in db.conn.execute(_REPLIED).fetchall():
        if at is None:
            continue
        count += db.conn.execute(
            "INSERT OR IGNORE INTO sms_verdicts (order_id, replied_at, mobile, code, due_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (order_id, at, mobile, reminders.new_code(), int(now)),
        ).rowcount
    return count


def due(db, now, limit=100):
    return db.conn.execute(
        "SELECT order_id, replied_at FROM sms_verdicts WHERE state = 'waiting' AND due_at <= ?"
        " ORDER BY due_at LIMIT ?",
        (int(now), limit),
    ).fetchall()


def claim(db, key, now, days):
    """Decide one due message (as reminders.claim): the message to send, or None."""
    order_id, replied_at = key
    row = db.conn.execute(
        "SELECT v.state, v.code, v.mobile, o.state, COALESCE(s.item_name, '政务服务')"
        " FROM sms_verdicts v JOIN work_orders o ON o.order_id = v.order_id"
        " LEFT JOIN sessions s ON s.session_id = o.session_id WHERE v.order_id = ? AND v.replied_at = ?",
        (order_id, replied_at),
    ).fetchone()
    if row is None or row[0] != "waiting":
        return None
    _, code, mobile, order_state, item_name = row
    where = " WHERE order_id = ? AND replied_at = ?"
    if order_state != "replied" or now >= replied_at + days * reminders.DAY or not mobile:
        db.conn.execute("UPDATE sms_verdicts SET state = 'skipped', error = ?" + where,
                        ("order_%s" % order_state, order_id, replied_at))  # fmt: skip
        return None
    allowed = reminders.next_allowed(db, mobile, now)
    if allowed > now:
        db.conn.execute("UPDATE sms_verdicts SET due_at = ?" + where, (int(allowed), order_id, replied_at))
        return None
    db.conn.execute(
        "UPDATE sms_verdicts SET state = 'sending', attempts = attempts + 1, sent_at = ?" + where,
        (int(now), order_id, replied_at),
    )
    item = item_name if len(item_name) <= reminders.ITEM_MAX else item_name[: reminders.ITEM_MAX - 1] + "…"
    return {"mobile": mobile, "params": {"item": item, "code": code}, "out_id": "o%d" % order_id}


def answered(db, key, state, gateway_id=None, error=None, now=None):
    """Record the gateway's answer: sent, refused, unknown, or waiting again (a retry)."""
    order_id, replied_at = key
    if state == "waiting":
        db.conn.execute(
            "UPDATE sms_verdicts SET state = 'waiting', sent_at = NULL, due_at = ?, error = ?"
            " WHERE order_id = ? AND replied_at = ?",
            (int(now or 0) + reminders.BACKOFF[0] * 2, (error or "")[:200], order_id, replied_at),
        )
        return
    db.conn.execute(
        "UPDATE sms_verdicts SET state = ?, gateway_id = ?, error = ? WHERE order_id = ? AND replied_at = ?",
        (state, gateway_id, (error or "")[:200] or None, order_id, replied_at),
    )


def interrupted(db):
    return db.conn.execute(
        "UPDATE sms_verdicts SET state = 'unknown', error = 'hostd stopped while sending'"
        " WHERE state = 'sending'"
    ).rowcount


def target(db, code):
    """(order_id, replied_at) of a verdict message's short code, or None."""
    return db.conn.execute("SELECT order_id, replied_at FROM sms_verdicts WHERE code = ?", (code,)).fetchone()
