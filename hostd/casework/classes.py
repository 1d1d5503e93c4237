"""An order's class (简单 / 一般 / 复杂, by the hall's policy) and its 会商.

A supervisor sets the class of an open order (page, CLI); its deadlines
follow the policy (hostd/rules/deadlines.py): the 办结 deadline always, the
contact deadline while nobody has contacted the complainant yet.

A class marked `consult` (the Ezhou pilot's 较为复杂, 003 工作方案 二(三)2)
asks for a 会商 of the departments involved: the supervisor lists them, and
records each one's reply. workorders.move refuses 已答复 while a listed
department has not replied. Every change is a work_order_events row.
"""

from hostd.base import clock
from hostd.casework import workorders
from hostd.rules import deadlines
from hostd.upstream import outbox

MAX_DEPARTMENT = 60
MAX_REPLY = 1000


def _now(now):
    return int(clock.now()) if now is None else int(now)


def _open(db, order_id):
    current = workorders.state_of(db, order_id)
    if current not in workorders.OPEN_STATES:
        raise workorders.BadMove("工单 %s 已结束，不能再改 / order %s is finished" % (order_id, order_id))
    return current


def set_class(db, order_id, complexity, actor, config=None, now=None):
    """Classify an open order under the active policy; return the order dict."""
    now = _now(now)
    rules = deadlines.classes(config)
    if complexity not in rules:
        raise workorders.BadMove(
            "本政策的问题分类为 %s / class must be one of %s"
            % ("、".join("%s(%s)" % (k, c["label"]) for k, c in rules.items()), ", ".join(rules))
        )
    if not actor:
        raise workorders.BadMove("每次变更须注明操作人 / every change needs an actor")
    current = _open(db, order_id)
    opened_at, contacted_at = db.conn.execute(
        "SELECT opened_at, contacted_at FROM work_orders WHERE order_id = ?", (order_id,)
    ).fetchone()
    due = deadlines.due_dates(config, opened_at, complexity)
    db.conn.execute(
        "UPDATE work_orders SET complexity = ?, done_due = ?,"
        " contact_due = CASE WHEN ? IS NULL THEN ? ELSE contact_due END WHERE order_id = ?",
        (complexity, due["done_due"], contacted_at, due["contact_due"], order_id),
    )
    one = rules[complexity]
    note = "定为「%s」" % one["label"] + ("，须会商" if one["consult"] else "")
    workorders.event(db, order_id, now, actor, current, current, note)
    outbox.enqueue_work_order(db, order_id, current)
    return workorders.get(db, order_id, now=now)


def _department(text):
    text = (text or "").strip()
    if not text or len(text) > MAX_DEPARTMENT:
        raise workorders.BadMove("请填写会商部门名称（1-%d 字）/ name the department" % MAX_DEPARTMENT)
    return text


def add_consult(db, order_id, department, actor, now=None):
    """Put the order to one more department for 会商; return the order dict."""
    now = _now(now)
    department = _department(department)
    current = _open(db, order_id)
    if current == "replied":
        raise workorders.BadMove("工单已答复，不能再加会商部门 / the order was replied already")
    cur = db.conn.execute(
        "INSERT INTO work_order_consults (order_id, department, asked_at, asked_by) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (order_id, department) DO NOTHING",
        (order_id, department, now, actor),
    )
    if not cur.rowcount:
        raise workorders.BadMove("已请 %s 会商 / %s is in the 会商 already" % (department, department))
    workorders.event(db, order_id, now, actor, current, current, "提请会商：%s" % department)
    return workorders.get(db, order_id, now=now)


def consult_reply(db, order_id, department, reply, actor, now=None):
    """Record a department's 会商 reply; return the order dict."""
    now = _now(now)
    department = _department(department)
    reply = (reply or "").strip()
    if not reply or len(reply) > MAX_REPLY:
        raise workorders.BadMove("请填写会商意见（1-%d 字）/ give the department's reply" % MAX_REPLY)
    current = _open(db, order_id)
    cur = db.conn.execute(
        "UPDATE work_order_consults SET reply = ?, replied_at = ?, replied_by = ?"
        " WHERE order_id = ? AND department = ? AND replied_at IS NULL",
        (reply, now, actor, order_id, department),
    )
    if not cur.rowcount:
        raise workorders.BadMove(
            "%s 不在本工单的待回复会商部门中 / %s has no open 会商 on this order" % (department, department)
        )
    workorders.event(db, order_id, now, actor, current, current, "会商回复（%s）：%s" % (department, reply))
    return workorders.get(db, order_id, now=now)
