"""The complainant's own verdict on a rectification (001 三(一)), through the
signed link of hostd/web/verdict.py or an SMS (hostd/sms/verdicts.py).
"""

from hostd.base import clock
from hostd.casework import workorders
from hostd.upstream import outbox

CITIZEN = "citizen"  # the actor of the complainant's own verdict (hostd/web/verdict.py)


def citizen_verdict(db, order_id, feedback, now=None, source=None):
    """The complainant rates the rectification of a replied order (001 三(一)):
    满意 or 基本满意 closes it with that feedback; 不满意 sends it back to
    rectifying, for another reply. `source` (where the answer came from, e.g.
    the client address) goes into the event. The order dict after it."""
    now = int(clock.now()) if now is None else int(now)
    if feedback not in workorders.FEEDBACK:
        raise workorders.BadMove(
            "群众评价须为 满意/基本满意/不满意 / feedback must be one of %s" % "/".join(workorders.FEEDBACK)
        )
    current = workorders.state_of(db, order_id)
    if current != "replied":
        raise workorders.BadMove(
            "工单 %s 不在等待群众评价 / order %s is not awaiting the complainant's verdict"
            % (order_id, order_id)
        )
    if feedback == "不满意":
        # done_at goes with the rejected reply: the order is open, and late, again
        db.conn.execute(
            "UPDATE work_orders SET state = 'rectifying', done_at = NULL WHERE order_id = ?", (order_id,)
        )
        workorders.event(
            db,
            order_id,
            now,
            CITIZEN,
            current,
            "rectifying",
            _sourced("群众对整改结果不满意，重新整改", source),
        )
        outbox.enqueue_work_order(db, order_id, "rectifying")
        return workorders.get(db, order_id, now=now)
    db.conn.execute(
        "UPDATE work_orders SET state = 'closed', feedback = ?, closed_at = ? WHERE order_id = ?",
        (feedback, now, order_id),
    )
    workorders.event(
        db, order_id, now, CITIZEN, current, "closed", _sourced("群众评价：%s（本人评价）" % feedback, source)
    )
    outbox.enqueue_work_order(db, order_id, "closed")
    return workorders.get(db, order_id, now=now)


def _sourced(note, source):
    return "%s；来自 %s" % (note, source) if source else note
