"""work_order  # 差评整改工单: every counted 差评 is followed to rectification.

A rating of level <= 2 with binding 'session' or 'window' (any channel) opens
one order, assigned by 谁办理、谁负责 to the staff member and unit who handled
the case (hostd/rules/attribution.py decides who that is). States:

  new -> contacted -> rectifying -> replied -> closed   (feedback 满意/基本满意/不满意,
                                                         or none: not reachable)
  contacted | rectifying | new -> explained             (诉求不合理, with the explanation)

Deadlines come from hostd/rules/deadlines.py. Every change is one row of
work_order_events (actor, time, from, to, note) and a call to
hostd/upstream/outbox.py enqueue_work_order, in the caller's transaction.
"""

import logging

from hostd.base import clock, hall_time
from hostd.base.errors import UserError
from hostd.rules import attribution, deadlines
from hostd.upstream import outbox

log = logging.getLogger("hostd.workorders")

STATES = ("new", "contacted", "rectifying", "replied", "closed", "explained")
STATE_LABELS = {
    "new": "待联系",
    "contacted": "已联系",
    "rectifying": "整改中",
    "replied": "已答复",
    "closed": "已办结",
    "explained": "已说明(诉求不合理)",
}
NEXT = {
    "new": ("contacted", "explained"),
    "contacted": ("rectifying", "explained"),
    "rectifying": ("replied", "explained"),
    "replied": ("closed",),
    "closed": (),
    "explained": (),
}
OPEN_STATES = ("new", "contacted", "rectifying", "replied")
FEEDBACK = ("满意", "基本满意", "不满意")
SYSTEM = "system"


class WorkOrderError(UserError):
    pass


class NotFound(WorkOrderError):
    pass


class BadMove(WorkOrderError):
    exit_code = 2


def _now(now):
    return int(clock.now()) if now is None else int(now)


def on_rating(db, rating_id, config=None, recorded=None):
    """Pipeline hook: attribute the rating; open a work order for a counted 差评.
    Return the new order's id, or None. `recorded` (hostd/recording/pipeline.py Recorded): the
    row was just inserted attributed, with these values."""
    if recorded is not None:
        if recorded.level > 2 or recorded.binding not in ("session", "window"):
            return None  # a new row is not excluded and has no order yet
        who = {"staff_id": recorded.staff_id, "unit_id": recorded.unit_id}
        session_id, hall, window, received_at = (
            recorded.session_id,
            recorded.hall,
            recorded.window,
            recorded.received_at,
        )
    else:
        who = attribution.attribute(db, rating_id)
        row = db.conn.execute(
            "SELECT level, binding, excluded, session_id, hall, window, received_at"
            " FROM ratings WHERE id = ?",
            (rating_id,),
        ).fetchone()
        if row is None:
            return None
        level, binding, excluded, session_id, hall, window, received_at = row
        if level > 2 or binding not in ("session", "window") or excluded:
            return None
        if db.conn.execute("SELECT 1 FROM work_orders WHERE rating_id = ?", (rating_id,)).fetchone():
            return None
    complexity = deadlines.default_class(config)
    due = deadlines.due_dates(config, received_at, complexity)
    order_id = db.conn.execute(
        "INSERT INTO work_orders (rating_id, session_id, hall, window, staff_id, unit_id, state,"
        " opened_at, contact_due, done_due, complexity) VALUES (?, ?, ?, ?, ?, ?, 'new', ?, ?, ?, ?)",
        (
            rating_id,
            session_id,
            hall,
            window,
            who["staff_id"],
            who["unit_id"],
            received_at,
            due["contact_due"],
            due["done_due"],
            complexity,
        ),
    ).lastrowid
    event(db, order_id, received_at, SYSTEM, None, "new", "差评自动生成工单")
    outbox.enqueue_work_order(db, order_id, "new")
    return order_id


def responsible(db, rating_id):
    """{"staff_id", "unit_id"} of a rating (谁办理谁负责)."""
    row = db.conn.execute("SELECT staff_id, unit_id FROM ratings WHERE id = ?", (rating_id,)).fetchone()
    if row is None:
        raise NotFound("没有评价 %s / no rating %s" % (rating_id, rating_id))
    return {"staff_id": row[0], "unit_id": row[1]}


def event(db, order_id, at, actor, from_state, to_state, note):
    db.conn.execute(
        "INSERT INTO work_order_events (order_id, at, actor, from_state, to_state, note)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (order_id, at, actor, from_state, to_state, note),
    )


def state_of(db, order_id):
    row = db.conn.execute("SELECT state FROM work_orders WHERE order_id = ?", (order_id,)).fetchone()
    if row is None:
        raise NotFound(
            "没有工单 %s / no work order %s: check the number with `hostd workorder list`"
            % (order_id, order_id)
        )
    return row[0]


def move(db, order_id, to_state, actor, note=None, feedback=None, explanation=None, reply=None, now=None):
    """Move an order to `to_state` (one step of NEXT); return the order dict."""
    now = _now(now)
    if not actor:
        raise BadMove("每次变更须注明操作人 / every change needs an actor")
    current = state_of(db, order_id)
    if to_state not in STATES:
        raise BadMove("未知状态 %r / unknown state; use one of %s" % (to_state, ", ".join(STATES)))
    if to_state not in NEXT[current]:
        allowed = ", ".join(NEXT[current]) or "none (the order is finished)"
        raise BadMove(
            "工单 %s 当前为%s，不能改为%s / order %s is %s; next: %s"
            % (order_id, STATE_LABELS[current], STATE_LABELS[to_state], order_id, current, allowed)
        )
    sets: dict[str, object] = {"state": to_state}
    if to_state == "contacted":
        sets["contacted_at"] = now
    elif to_state == "replied":
        if not reply:
            raise BadMove("答复须填写整改结果 / give the reply (what was rectified)")
        waiting = _consults_waiting(db, order_id)
        if waiting:
            raise BadMove(
                "会商部门尚未全部回复（%s），不能答复 / the 会商 departments have not all replied"
                % "、".join(waiting)
            )
        if waiting is None and _needs_consult(db, order_id):
            raise BadMove(
                "此类问题须先会商：请提请相关部门会商并记录其意见后再答复 / this class needs a 会商 first"
            )
        sets["reply"] = reply
        sets["done_at"] = now
    elif to_state == "explained":
        if not explanation:
            raise BadMove("诉求不合理须填写说明 / give the explanation")
        sets["explanation"] = explanation
        sets["done_at"] = now
        sets["closed_at"] = now
    elif to_state == "closed":
        if feedback is not None and feedback not in FEEDBACK:
            raise BadMove(
                "群众评价须为 满意/基本满意/不满意 / feedback must be one of %s" % "/".join(FEEDBACK)
            )
        sets["feedback"] = feedback
        sets["closed_at"] = now
        if feedback is None and not note:
            note = "群众无法联系，未作评价"
    if to_state == "explained":  # explained without a contact step: it counts as contact
        db.conn.execute(
            "UPDATE work_orders SET contacted_at = COALESCE(contacted_at, ?) WHERE order_id = ?",
            (now, order_id),
        )
    columns = ", ".join("%s = ?" % k for k in sets)
    db.conn.execute(
        "UPDATE work_orders SET %s WHERE order_id = ?" % columns, list(sets.values()) + [order_id]
    )
    if feedback:
        note = ("%s；" % note if note else "") + "群众评价：" + feedback
    event(db, order_id, now, actor, current, to_state, note)
    outbox.enqueue_work_order(db, order_id, to_state)
    return get(db, order_id, now=now)


def _consults_waiting(db, order_id):
    """Departments of the order's 会商 (hostd/casework/classes.py) without a
    reply yet; None when no department was asked at all."""
    rows = db.conn.execute(
        "SELECT department, replied_at FROM work_order_consults WHERE order_id = ? ORDER BY id", (order_id,)
    ).fetchall()
    if not rows:
        return None
    return [department for department, replied_at in rows if replied_at is None]


def _needs_consult(db, order_id):
    """The order's class, under the active policy, needs a 会商."""
    complexity = db.conn.execute(
        "SELECT complexity FROM work_orders WHERE order_id = ?", (order_id,)
    ).fetchone()[0]
    return bool(deadlines.classes().get(complexity, {}).get("consult"))


_SELECT = """
    SELECT o.*, r.level, r.channel, r.reasons, r.comment, r.received_at, r.excluded,
           s.name AS staff_name, s.staff_no, u.name AS unit_name
    FROM work_orders o JOIN ratings r ON r.id = o.rating_id
    LEFT JOIN staff s ON s.staff_id = o.staff_id
    LEFT JOIN units u ON u.unit_id = o.unit_id"""


# the queue: overdue first (earliest missed deadline first), then open by due, finished last
_QUEUE_ORDER = """
    CASE WHEN o.state IN ('closed', 'explained') THEN 2 WHEN %s THEN 0 ELSE 1 END,
    COALESCE(CASE WHEN o.contacted_at IS NULL THEN o.contact_due END, o.done_due), o.order_id"""
_OPEN = "o.state IN ('new', 'contacted', 'rectifying', 'replied')"  # work_orders_open's WHERE
_LATE = "((o.done_at IS NULL AND o.done_due < :now) OR (o.contacted_at IS NULL AND o.contact_due < :now))"
_QUEUE_ORDER %= _LATE


def overdue(order, now):
    """None, "contact" or "done": which deadline an open order has missed."""
    if order["state"] not in OPEN_STATES:
        return None
    if order["done_at"] is None and order["done_due"] is not None and now > order["done_due"]:
        return "done"
    if order["contacted_at"] is None and order["contact_due"] is not None and now > order["contact_due"]:
        return "contact"
    return None


def _dress(order, now):
    order = dict(order)
    order["state_label"] = STATE_LABELS[order["state"]]
    order["overdue"] = late = overdue(order, now)
    due = order["done_due"] if late == "done" else order["contact_due"]
    order["overdue_seconds"] = (now - due) if late else 0
    order["on_time"] = (
        order["done_at"] is not None
        and order["done_due"] is not None
        and order["done_at"] <= order["done_due"]
    )
    return order


def get(db, order_id, now=None):
    now = _now(now)
    rows = list(db.query(_SELECT + " WHERE o.order_id = ?", [order_id]))
    if not rows:
        raise NotFound("没有工单 %s / no work order %s" % (order_id, order_id))
    order = _dress(rows[0], now)
    order["events"] = list(
        db.query(
            "SELECT id, order_id, at, actor, from_state, to_state, note FROM work_order_events"
            " WHERE order_id = ? ORDER BY at, id",
            [order_id],
        )
    )
    order["rating"] = next(
        db.query(
            "SELECT id, channel, level, reasons, comment, details, received_at, hall, window,"
            " session_id, binding, excluded FROM ratings WHERE id = ?",
            [order["rating_id"]],
        )
    )
    # What a callback needs: the service (事项) and its case ids (办件编号).
    order["service"] = next(
        db.query(
            "SELECT item_code, item_name, (SELECT group_concat(case_id, '、') FROM session_cases c"
            " WHERE c.session_id = s.session_id) AS case_ids FROM sessions s WHERE session_id = ?",
            [order["rating"]["session_id"]],
        ),
        None,
    )
    order["consults"] = list(
        db.query("SELECT * FROM work_order_consults WHERE order_id = ? ORDER BY id", [order_id])
    )
    return order


def list_orders(
    db,
    state=None,
    staff_id=None,
    unit_id=None,
    open_only=False,
    overdue_only=False,
    now=None,
    limit=200,
    offset=0,
):
    """Orders, overdue first (most late first), then by due time.

    The filter, order and page are taken on work_orders alone (open ones
    through work_orders_open); only the page's rows are joined."""
    now = _now(now)
    where, params = _filter(state, staff_id, unit_id, open_only, overdue_only, now)
    params.update({"limit": int(limit), "offset": int(offset)})
    page = "SELECT o.order_id FROM work_orders o%s%s ORDER BY %s LIMIT :limit OFFSET :offset" % (
        " INDEXED BY work_orders_open" if (open_only or overdue_only) else "",
        " WHERE " + " AND ".join(where) if where else "",
        _QUEUE_ORDER,
    )
    sql = "%s WHERE o.order_id IN (%s) ORDER BY %s" % (_SELECT, page, _QUEUE_ORDER)
    return [_dress(row, now) for row in db.query(sql, params)]


def count_orders(db, state=None, staff_id=None, unit_id=None, open_only=False, overdue_only=False, now=None):
    """How many orders list_orders would list without its limit."""
    where, params = _filter(state, staff_id, unit_id, open_only, overdue_only, _now(now))
    sql = "SELECT COUNT(*) FROM work_orders o%s%s" % (
        " INDEXED BY work_orders_open" if (open_only or overdue_only) else "",
        " WHERE " + " AND ".join(where) if where else "",
    )
    return db.execute(sql, params).fetchone()[0]


def _filter(state, staff_id, unit_id, open_only, overdue_only, now):
    where = []
    params = {"now": now, "state": state, "staff_id": staff_id, "unit_id": unit_id}
    if state:
        where.append("o.state = :state")
    if staff_id:
        where.append("o.staff_id = :staff_id")
    if unit_id:
        where.append("o.unit_id = :unit_id")
    if open_only or overdue_only:
        where.append(_OPEN)
    if overdue_only:
        where.append(_LATE)
    return where, params


def check_overdue(db, now):
    """Open orders past a deadline; one WARNING in the log for each (read-only)."""
    orders = list_orders(db, overdue_only=True, now=now, limit=10000)
    for order in orders:
        log.warning(
            "work order %s overdue (%s deadline missed by %.1f h): staff %s, window %s",
            order["order_id"],
            order["overdue"],
            order["overdue_seconds"] / 3600.0,
            order["staff_id"] or "-",
            order["window"] or "-",
            extra=hall_time.about(order=order["order_id"]),
        )
    return orders


def counts(db, now=None, staff_id=None):
    """{"open", "overdue", "by_state": {state: n}} for the dashboard."""
    now = _now(now)
    where, args = ("WHERE staff_id = ?", [staff_id]) if staff_id else ("", [])
    by_state = {state: 0 for state in STATES}
    for state, n in db.execute(  # kept by triggers: hostd/db/schema/rollups.py
        "SELECT state, SUM(n) FROM orders_by_state %s GROUP BY state" % where, args
    ).fetchall():
        by_state[state] = n
    late = db.execute(
        "SELECT COUNT(*) FROM work_orders o INDEXED BY work_orders_open WHERE "
        + _OPEN
        + " AND "
        + _LATE
        + (" AND o.staff_id = :staff_id" if staff_id else ""),
        {"now": now, "staff_id": staff_id},
    ).fetchone()[0]
    return {"open": sum(by_state[s] for s in OPEN_STATES), "overdue": late, "by_state": by_state}
