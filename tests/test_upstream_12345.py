"""差评 work orders forwarded to (fake) 12345, and its replies brought back."""

import json

from upstream_fixtures import add_rating, add_session, make_sender, outbox_counts, writer
from upstream_platform import db, ref  # noqa: F401 (fixtures)

from hostd.sync.sender import Backoff
from hostd.sync.twelve345 import Forwarder

SECRET = b"12345-secret"


def order_state(db, order_id):
    return db.conn.execute(
        "SELECT state, reply, feedback FROM work_orders WHERE order_id = ?", (order_id,)
    ).fetchone()


def test_bad_rating_is_forwarded_and_replies_close_the_order(db, ref):
    with db.conn:
        add_session(db, "s1", cases=("C-9",))
        rating_id = add_rating(db, "s1", level=2, reasons="[2]", seq=5)
        add_session(db, "s2", cases=("C-10",))
        add_rating(db, "s2", level=5, seq=6)  # a 好评: no work order
    order_id = db.conn.execute(
        "SELECT order_id FROM work_orders WHERE rating_id = ?", (rating_id,)
    ).fetchone()[0]
    write, read = writer(db)
    forwarder = Forwarder(ref.url, SECRET, write, read, backoff=Backoff(0.01, 0.05))
    assert forwarder.sender.drain()["confirmed"] == 1
    assert outbox_counts(db, "12345") == {"confirmed": 1}
    ticket = db.conn.execute(
        "SELECT ticket FROM twelve345_tickets WHERE order_id = ?", (order_id,)
    ).fetchone()[0]
    sent = ref.platform.db.execute("SELECT external_id, body FROM tickets").fetchall()
    assert len(sent) == 1 and sent[0][0] == str(order_id)
    order = json.loads(sent[0][1])
    assert order["reasons"] == "服务效率" and order["cases"] == ["C-9"] and "key" not in order

    ref.platform.add_reply(ticket, "verification", "已联系群众核实")
    assert forwarder.poll() == 1
    assert order_state(db, order_id)[0] == "contacted"
    ref.platform.add_reply(ticket, "rectification", "已加派窗口人员")
    ref.platform.add_reply(ticket, "closure", "办结", feedback="满意")
    assert forwarder.poll() == 2
    assert order_state(db, order_id) == ("closed", "已加派窗口人员", "满意")
    assert forwarder.poll() == 0  # the cursor: each reply lands once
    events = db.conn.execute(
        "SELECT actor, from_state, to_state FROM work_order_events"
        " WHERE order_id = ? AND actor = '12345' ORDER BY id",
        (order_id,),
    ).fetchall()
    assert [e[2] for e in events] == ["contacted", "rectifying", "replied", "closed"]

    # the closed order's rectification reply goes upstream after its rating
    reply = db.conn.execute(
        "SELECT key, blocked, depends_on FROM upstream_outbox WHERE kind = 'reply'"
    ).fetchall()
    assert reply == [("reply:%d:C-9" % order_id, 1, "dev:d1:5:C-9")]
    make_sender(db, ref.url, secret=SECRET).drain()
    assert outbox_counts(db) == {"confirmed": 5}  # 2 services, 2 ratings, 1 reply
    assert ref.stats()["replies"] == 1


def test_late_reply_after_close_is_kept_in_the_trail(db, ref):
    with db.conn:
        add_session(db, "s1")
        rating_id = add_rating(db, "s1", level=1, reasons="[1]", seq=1)
    order_id = db.conn.execute(
        "SELECT order_id FROM work_orders WHERE rating_id = ?", (rating_id,)
    ).fetchone()[0]
    write, read = writer(db)
    forwarder = Forwarder(ref.url, SECRET, write, read)
    forwarder.sender.drain()
    (ticket,) = db.conn.execute("SELECT ticket FROM twelve345_tickets").fetchone()
    ref.platform.add_reply(ticket, "closure", "办结")
    ref.platform.add_reply(ticket, "verification", "补充核实")
    assert forwarder.poll() == 2
    assert order_state(db, order_id)[0] == "closed"
    last = db.conn.execute(
        "SELECT from_state, to_state, note FROM work_order_events"
        " WHERE order_id = ? ORDER BY id DESC LIMIT 1",
        (order_id,),
    ).fetchone()
    assert last[0] == last[1] == "closed" and "补充核实" in last[2]


def test_12345_down_keeps_the_order_queued(db, ref):
    with db.conn:
        add_session(db, "s1")
        add_rating(db, "s1", level=1, reasons="[1]", seq=1)
    ref.stop()
    write, read = writer(db)
    forwarder = Forwarder(ref.url, SECRET, write, read)
    assert forwarder.sender.drain()["error"]
    assert forwarder.poll() == 0
    assert outbox_counts(db, "12345") == {"pending": 1}
