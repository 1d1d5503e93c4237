"""Forward each 差评 work order to the 12345 hotline platform and bring its
replies back into the work order.

Outbound: outbox rows of target '12345' (kind 'order', queued by
outbox.enqueue_work_order when an order opens) are posted by a Sender to
<twelve345_url>/api/v1/tickets; the ticket number that comes back is kept in
twelve345_tickets. Inbound: poll() fetches the operators' replies after the
last one seen (cursor in upstream_state) and applies them, in one
transaction with the new cursor, so each reply lands exactly once:
  verification  (核实)  -> state contacted
  rectification (整改)  -> state replied, work_orders.reply = its text
  closure       (办结)  -> state closed, closed_at, feedback (满意/基本满意/不满意)
Moves go through hostd.casework.workorders.move with actor '12345' (each one a
work_order_events row and an outbox.enqueue_work_order call; a closed
order then sends its rectification reply upstream).
"""

import json
import logging

from hostd.base import clock
from hostd.casework import workorders
from hostd.sync import own, sealing
from hostd.sync.http_link import LinkPool, TransportError
from hostd.sync.sender import Sender, set_state

log = logging.getLogger("hostd.upstream.12345")

ACTOR = "12345"
STATE_OF = {"verification": "contacted", "rectification": "replied", "closure": "closed"}
CURSOR = "twelve345_cursor"
TICKETS_PATH = "/api/v1/tickets"
REPLIES_PATH = "/api/v1/replies"


class TicketAdapter:
    """POST <url>/api/v1/tickets {"records": [order, ...]}, HMAC-SHA256 signed
    as hostd's own wire (hostd/sync/sealing.py) -> {"results": [{"ok", "code",
    "message": ticket number}]}, in order. The hotline knows an order by its
    externalId (our work order id) and answers a repeat with the same ticket."""

    name = "12345"

    def __init__(self, url, secret, timeout=10.0):
        self.pool = LinkPool(url, timeout)
        self.secret = secret

    def signed(self, body):
        return sealing.signed_headers(self.secret, body)

    def send(self, items):
        body = own.dump({"records": [record for _id, _kind, record in items]})
        status, data = self.pool.request("POST", TICKETS_PATH, body, self.signed(body))
        answers = own.parse_results(status, data, len(items))
        return {item[0]: answer for item, answer in zip(items, answers)}

    def close(self):
        self.pool.close()


def remember_tickets(db, confirmed):
    now = int(clock.now())
    db.conn.executemany(
        "INSERT OR IGNORE INTO twelve345_tickets (order_id, ticket, forwarded_at) VALUES (?, ?, ?)",
        [(int(row[3]), answer[2], now) for row, answer in confirmed],
    )


PATH = ("new", "contacted", "rectifying", "replied", "closed")


def apply_replies(db, replies, now):
    """Apply 12345 replies (dicts with id, externalId, ticket, kind, text,
    feedback) to the work orders through hostd.casework.workorders.move (actor
    '12345'), stepping along new -> contacted -> rectifying -> replied ->
    closed as far as the reply says. A reply that moves nothing (a late one,
    or for a finished order) is kept in the trail. Return how many orders moved."""

    moved = 0
    for reply in replies:
        try:
            order_id = int(reply["externalId"])
        except (TypeError, ValueError, KeyError):
            log.warning("12345 reply %s names no work order of ours; ignored", reply.get("id"))
            continue
        row = db.conn.execute("SELECT state FROM work_orders WHERE order_id = ?", (order_id,)).fetchone()
        if row is None or reply.get("kind") not in STATE_OF:
            log.warning(
                "12345 reply %s: unknown order %s or kind %r; ignored",
                reply.get("id"),
                order_id,
                reply.get("kind"),
            )
            continue
        state, target = row[0], STATE_OF[reply["kind"]]
        text = reply.get("text") or ""
        note = "12345 %s %s: %s" % (reply.get("ticket", ""), reply["kind"], text)
        if state not in PATH or PATH.index(state) >= PATH.index(target):
            db.conn.execute(
                "INSERT INTO work_order_events (order_id, at, actor, from_state, to_state, note)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (order_id, int(now), ACTOR, state, state, note),
            )
            continue
        for step in PATH[PATH.index(state) + 1 : PATH.index(target) + 1]:
            feedback = (
                reply.get("feedback")
                if step == "closed" and reply.get("feedback") in workorders.FEEDBACK
                else None
            )
            workorders.move(
                db,
                order_id,
                step,
                ACTOR,
                note=note,
                reply=(text or "12345已答复") if step == "replied" else None,
                feedback=feedback,
                now=now,
            )
        moved += 1
    return moved


class Forwarder:
    """The 12345 side: a Sender for outbound orders plus the reply poller."""

    def __init__(self, url, secret, write, read, batch_size=50, backoff=None, timeout=10.0):
        self.adapter = TicketAdapter(url, secret, timeout)
        self.sender = Sender(
            self.adapter,
            write,
            read,
            target="12345",
            batch_size=batch_size,
            backoff=backoff,
            after_confirm=remember_tickets,
        )
        self.write, self.read = write, read

    def poll(self):
        """Fetch and apply new replies; return how many were applied (0 on error)."""
        with self.read() as db:
            row = db.conn.execute("SELECT value FROM upstream_state WHERE name = ?", (CURSOR,)).fetchone()
        cursor = int(row[0]) if row else 0
        try:
            status, data = self.adapter.pool.request(
                "GET", "%s?since=%d" % (REPLIES_PATH, cursor), None, self.adapter.signed(b"")
            )
            if status != 200:
                raise TransportError("12345 answered HTTP %d" % status)
            replies = json.loads(data)["replies"]
        except (TransportError, ValueError, KeyError) as exc:
            log.debug("12345 poll failed: %s", exc)
            return 0
        if not replies:
            return 0

        def op(db):
            apply_replies(db, replies, clock.now())
            set_state(db, CURSOR, max(int(r["id"]) for r in replies))
            return len(replies)

        return self.write(op)

    def step(self):
        self.sender.step()
        return self.poll()

    def close(self):
        self.adapter.close()
