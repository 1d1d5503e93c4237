"""The upstream outbox: what must reach the provincial platform and 12345.

The rules call the enqueue_* functions inside the transaction that
records the session, rating or work-order change, so a record is queued if
and only if its cause committed. hostd/sync/sender.py drains the queue.

Idempotency keys (unique in upstream_outbox, sent with every record):
  svc:<case_id>:<visit>                  service record (办件服务数据)
  dev:<device_id>:<seq>:<case_id>        device rating; (device_id, seq) per case
  <channel>:<session_id>:<case_id>       qr / default / paper rating
  reply:<order_id>:<case_id>             rectification reply of a work order
  order:<order_id>                       a 差评 work order forwarded to 12345
A batch session (批量业务) has several cases: its one rating is one record per
case. A rating waits (blocked) until its service record is confirmed; a
reply waits for its rating.
"""

import json

from hostd.base import clock
from hostd.upstream import records


def encode(body):
    """A record's body as it is stored and sent: compact JSON, Chinese as is."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def fetch_row(db, sql, args):
    """The first row of a query as a dict, or None."""
    cursor = db.conn.execute(sql, args)
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip([c[0] for c in cursor.description], row))


def _rows(db, sql, args):
    cursor = db.conn.execute(sql, args)
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _status(db, key):
    row = db.conn.execute("SELECT status, last_error FROM upstream_outbox WHERE key = ?", (key,)).fetchone()
    return row


def put(db, target, kind, key, ref, body, depends_on=None):
    """Insert one outbox row unless its key is queued already; True if new."""
    blocked, status, error = 0, "pending", None
    if depends_on is not None:
        dep = _status(db, depends_on)
        if dep is None or dep[0] != "confirmed":
            blocked = 1
        if dep is not None and dep[0] == "dead":
            blocked, status, error = 0, "dead", "its prerequisite %s is dead: %s" % (depends_on, dep[1])
    return (
        db.conn.execute(
            "INSERT OR IGNORE INTO upstream_outbox (target, kind, key, ref, depends_on, blocked,"
            " body, status, last_error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (target, kind, key, str(ref), depends_on, blocked, encode(body), status, error, int(clock.now())),
        ).rowcount
        == 1
    )


def session_parts(db, session_id):
    """(session row, its [(case_id, visit)], its unit's codes) for the records."""
    session = fetch_row(db, "SELECT * FROM sessions WHERE session_id = ?", (session_id,))
    if session is None:
        return None, [], None
    cases = db.conn.execute(
        "SELECT case_id, visit FROM session_cases WHERE session_id = ? ORDER BY case_id, visit", (session_id,)
    ).fetchall()
    unit = None
    if session.get("unit_id"):
        unit = fetch_row(
            db, "SELECT dept_code, area_code FROM units WHERE unit_id = ?", (session["unit_id"],)
        )
    return session, cases, unit


def service_key(case_id, visit):
    return "svc:%s:%d" % (case_id, visit)


def rating_key(rating, case_id):
    if rating["channel"] == "device":
        return "dev:%s:%d:%s" % (rating["device_id"], rating["seq"], case_id)
    return "%s:%s:%s" % (rating["channel"], rating["session_id"], case_id)


def enqueue_session(db, session_id):
    """Queue the service record of each case of a new session; return how many."""
    session, cases, unit = session_parts(db, session_id)
    count = 0
    for case_id, visit in cases:
        key = service_key(case_id, visit)
        body = records.service_record(key, session, case_id, visit, unit)
        count += put(db, "province", "service", key, session_id, body)
    return count


def enqueue_rating(db, rating_id):
    """Queue a rating that counts for a session, once per case; return how many.
    Window-level and refused ratings stay home (see records.py)."""
    rating = fetch_row(db, "SELECT * FROM ratings WHERE id = ?", (rating_id,))
    if rating is None or rating["binding"] != "session" or not rating["session_id"]:
        return 0
    session, cases, unit = session_parts(db, rating["session_id"])
    if session is None:
        return 0
    count = 0
    kind = "default" if rating["channel"] == "default" else "rating"
    for case_id, visit in cases:
        service = service_key(case_id, visit)
        if _status(db, service) is None:  # a session from before the outbox
            put(
                db,
                "province",
                "service",
                service,
                session["session_id"],
                records.service_record(service, session, case_id, visit, unit),
            )
        key = rating_key(rating, case_id)
        body = records.rating_record(key, rating, session, case_id, visit, unit)
        count += put(db, "province", kind, key, rating_id, body, depends_on=service)
    return count


def enqueue_work_order(db, order_id, to_state):
    """A new 差评 work order goes to 12345; a closed one sends its
    rectification reply upstream. Return how many rows were queued."""
    order = fetch_row(db, "SELECT * FROM work_orders WHERE order_id = ?", (order_id,))
    if order is None:
        return 0
    rating = fetch_row(db, "SELECT * FROM ratings WHERE id = ?", (order["rating_id"],))
    session, cases, _unit = (
        session_parts(db, order["session_id"]) if order["session_id"] else (None, [], None)
    )
    if to_state == "new":
        body = {
            "type": "order",
            "key": "order:%d" % order_id,
            "externalId": str(order_id),
            "hall": order["hall"],
            "window": order["window"] or "",
            "staff": session["staff_name"] if session else (order["staff_id"] or ""),
            "item": session["item_name"] if session else "",
            "cases": [c[0] for c in cases],
            "satisfaction": rating["level"] if rating else 0,
            "evalDetail": records.eval_detail(rating["reasons"], rating.get("details")) if rating else "",
            "writingEvaluation": (rating or {}).get("comment") or "",
            "openedAt": records.format_time(order["opened_at"]),
            "contactDue": records.format_time(order["contact_due"]) if order["contact_due"] else "",
            "doneDue": records.format_time(order["done_due"]) if order["done_due"] else "",
        }
        return int(put(db, "12345", "order", body["key"], order_id, body))
    if to_state not in ("closed", "explained") or rating is None:
        return 0
    count = 0
    for case_id, visit in cases:
        key = "reply:%d:%s" % (order_id, case_id)
        body = records.reply_record(key, order, case_id, visit, clock.now())
        count += put(db, "province", "reply", key, order_id, body, depends_on=rating_key(rating, case_id))
    return count
