"""待确认的离线评价: a device rating taken offline that the binding could not
tie to one session (hostd/rules/binding.py), and a supervisor's decision.

While such a rating waits, none of its candidate sessions becomes a default
rating (hostd/recording/defaults.py skips them): a citizen's 差评 must not
reach the province as a 系统默认 基本满意 for the very service they rated.
The supervisor either
  binds it to one candidate: the rating then counts for that session,
  closes it, and goes upstream like any rating (its work order, if it is a
  差评, follows it to that session and staff member); or
  dismisses it: it stays a window-level rating (counted in the hall, not
  sent), and the candidates are free to default.
Each decision is kept in offline_reviews (who, when, note).
"""

from hostd.base.errors import UserError
from hostd.rules import binding
from hostd.upstream import outbox


class ReviewError(UserError):
    pass


def hold(db, rating_id, hall, window, candidates, now):
    """Put a rating up for review with its candidate sessions."""
    db.conn.execute(
        "INSERT OR IGNORE INTO offline_reviews (rating_id, hall, window, created_at) VALUES (?, ?, ?, ?)",
        (rating_id, hall, window, int(now)),
    )
    db.conn.executemany(
        "INSERT OR IGNORE INTO offline_candidates (rating_id, session_id) VALUES (?, ?)",
        [(rating_id, s) for s in candidates],
    )


def pending(db, limit=200):
    """The ratings waiting for a decision, oldest first, each with its candidates."""
    rows = db.conn.execute(
        "SELECT v.rating_id, v.window, v.created_at, r.level, r.reasons, r.device_id, r.device_time,"
        " r.clock_synced, r.received_at, r.staff FROM offline_reviews v JOIN ratings r ON r.id = v.rating_id"
        " WHERE v.state = 'pending' ORDER BY v.created_at, v.rating_id LIMIT ?",
        (limit,),
    ).fetchall()
    names = (
        "rating_id window held_at level reasons device_id device_time clock_synced received_at staff"
    ).split()
    out = []
    for row in rows:
        item = dict(zip(names, row))
        item["candidates"] = [
            dict(zip(("session_id", "item_name", "staff_name", "staff_no", "created_at", "state"), c))
            for c in db.conn.execute(
                "SELECT s.session_id, s.item_name, s.staff_name, s.staff_no, s.created_at, s.state"
                " FROM offline_candidates c JOIN sessions s ON s.session_id = c.session_id"
                " WHERE c.rating_id = ? ORDER BY s.created_at",
                (item["rating_id"],),
            )
        ]
        out.append(item)
    return out


def _pending_review(db, rating_id):
    row = db.conn.execute("SELECT state FROM offline_reviews WHERE rating_id = ?", (rating_id,)).fetchone()
    if row is None:
        raise ReviewError(
            "评价 #%d 不是待确认的离线评价 / rating %d is not waiting for review" % (rating_id, rating_id)
        )
    if row[0] != "pending":
        raise ReviewError("评价 #%d 已处理 / rating %d was decided already" % (rating_id, rating_id))


def bind(db, rating_id, session_id, actor, now, note=""):
    """Bind a waiting offline rating to one of its candidate sessions."""
    _pending_review(db, rating_id)
    if not db.conn.execute(
        "SELECT 1 FROM offline_candidates WHERE rating_id = ? AND session_id = ?", (rating_id, session_id)
    ).fetchone():
        raise ReviewError("会话 %s 不在候选中 / session %s is not a candidate" % (session_id, session_id))
    if binding.bind_channel(db, session_id) != "session":
        raise ReviewError(
            "会话 %s 已有评价或已结束，不能再绑定 / session %s is rated or closed already"
            % (session_id, session_id)
        )
    staff_id, unit_id, item_code = db.conn.execute(
        "SELECT staff_id, unit_id, item_code FROM sessions WHERE session_id = ?", (session_id,)
    ).fetchone()
    db.conn.execute(
        "UPDATE ratings SET binding = 'session', session_id = ?, matched_offline = 1, staff_id = ?,"
        " unit_id = ?, item_code = ? WHERE id = ?",
        (session_id, staff_id, unit_id, item_code, rating_id),
    )
    binding.close_session(db, session_id, rating_id, int(now), mark_matched=False)
    db.conn.execute(
        "UPDATE work_orders SET session_id = ?, staff_id = ?, unit_id = ? WHERE rating_id = ?",
        (session_id, staff_id, unit_id, rating_id),
    )
    _decide(db, rating_id, "bound", session_id, actor, now, note)
    outbox.enqueue_rating(db, rating_id)


def dismiss(db, rating_id, actor, now, note=""):
    """Keep a waiting offline rating window-level; its candidates may default."""
    _pending_review(db, rating_id)
    _decide(db, rating_id, "dismissed", None, actor, now, note)


def _decide(db, rating_id, state, session_id, actor, now, note):
    db.conn.execute(
        "UPDATE offline_reviews SET state = ?, session_id = ?, decided_by = ?, decided_at = ?, note = ?"
        " WHERE rating_id = ?",
        (state, session_id, actor, int(now), note or None, rating_id),
    )


HELD_SQL = (
    "EXISTS (SELECT 1 FROM offline_candidates c JOIN offline_reviews v ON v.rating_id = c.rating_id"
    " WHERE c.session_id = %s AND v.state = 'pending')"
)


def decided(db, limit=20):
    """The latest decisions, newest first."""
    cursor = db.conn.execute(
        "SELECT rating_id, window, state, session_id, decided_by, decided_at, note FROM offline_reviews"
        " WHERE state != 'pending' ORDER BY decided_at DESC, rating_id DESC LIMIT ?",
        (limit,),
    )
    names = ("rating_id", "window", "state", "session_id", "decided_by", "decided_at", "note")
    return [dict(zip(names, row)) for row in cursor]
