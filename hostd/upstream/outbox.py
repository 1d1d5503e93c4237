"""The upstream outbox: what must reach the provincial platform and 12345.

The rules call the enqueue_* functions inside the transaction that
records the session, rating or work-order change, so a record is queued if
and only if its cause committed. hostd/sync/sender.py drains the queue.

Each row has a local `key` (unique in upstream_outbox). It names the row in
this hall (logs, the dead-letter page, `hostd sync --retry`) and NEVER
travels: a provincial platform knows a record by its `identity` only
(records.py), and refuses a repeat of it.
  svc:<case_id>:<visit>                  service record (办件服务数据)
  dev:<device_id>:<seq>:<case_id>        device rating; (device_id, seq) per case
  <channel>:<session_id>:<case_id>       qr / default / paper rating
  add:<rating key>                       追评: what the citizen added later
  reply:<order_id>:<case_id>             rectification reply of a work order
  appeal:<appeal_id>:<case_id>           decision on an appeal
  order:<order_id>                       a 差评 work order forwarded to 12345
A batch session (批量业务) has several cases: its one rating is one record per
case. A rating waits (blocked) until its service record is confirmed (or,
when the business system sends service records, is left to it); a 追评,
reply or appeal waits for its rating.

`local_case` = 1 marks a record whose projectNo hostd made itself (the
session came without a case id; hostd/rules/sessions.py project_no): in
upstream.service_records = "business-system" mode nothing upstream knows
that number, so the sender keeps such a record home as not reportable.
"""

import json

from hostd.base import clock
from hostd.upstream import records


def encode(body):
    """A record's body as it is stored: compact JSON, Chinese as is."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def identity(kind, body):
    """The platform's identity of a record, as text: what a repeat is judged by."""
    if kind == "order":
        return "order|%s" % body.get("externalId", "")
    head = "%s|%s" % (body.get("projectNo", ""), body.get("serviceNumber", ""))
    if kind == "service":
        return "service|" + head
    if kind in ("rating", "default", "comment"):
        return "assess|%s|%s" % (head, body.get("assessNumber", 1))
    if kind == "appeal":
        return "appeal|%s|%s" % (head, body.get("appealTime", ""))
    return "%s|%s" % (kind, head)


def fetch_row(db, sql, args):
    """The first row of a query as a dict, or None."""
    cursor = db.conn.execute(sql, args)
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip([c[0] for c in cursor.description], row))


def _status(db, key):
    return db.conn.execute("SELECT status, last_error FROM upstream_outbox WHERE key = ?", (key,)).fetchone()


# A prerequisite in one of these lets its dependants go: the platform holds
# the record (confirmed), or the business system sends it (external). A
# service record the platform holds in another version (dead, MISMATCH: see
# hostd/sync/sender.py) lets them go too.
RELEASED = ("confirmed", "external")


def put(db, target, kind, key, ref, body, depends_on=None, local_case=0):
    """Insert one outbox row unless its key is queued already; True if new."""
    blocked, status, error = 0, "pending", None
    if depends_on is not None:
        dep = _status(db, depends_on)
        if dep is None or dep[0] not in RELEASED:
            blocked = 1
        if dep is not None and dep[0] == "held":
            blocked, status, error = 0, "held", "its prerequisite %s: %s" % (depends_on, dep[1])
        elif dep is not None and dep[0] == "dead":
            if depends_on.startswith("svc:") and (dep[1] or "").startswith("MISMATCH"):
                blocked = 0  # the platform holds another version of the service record
            else:
                blocked, status, error = 0, "dead", "its prerequisite %s: %s" % (depends_on, dep[1])
    return (
        db.conn.execute(
            "INSERT OR IGNORE INTO upstream_outbox (target, kind, key, ref, depends_on, blocked,"
            " body, status, last_error, created_at, identity, local_case)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                target,
                kind,
                key,
                str(ref),
                depends_on,
                blocked,
                encode(body),
                status,
                error,
                int(clock.now()),
                identity(kind, body),
                local_case,
            ),
        ).rowcount
        == 1
    )


def session_parts(db, session_id):
    """(session row, its [(case_id, visit, generated)], its unit's codes) for the records."""
    session = fetch_row(db, "SELECT * FROM sessions WHERE session_id = ?", (session_id,))
    if session is None:
        return None, [], None
    cases = db.conn.execute(
        "SELECT case_id, visit, generated FROM session_cases WHERE session_id = ? ORDER BY case_id, visit",
        (session_id,),
    ).fetchall()
    if session.get("theme_items"):  # 一件事: each case goes up under its own item
        session["case_items"] = {
            case_id: (code, name)
            for case_id, code, name in db.conn.execute(
                "SELECT case_id, item_code, item_name FROM session_cases WHERE session_id = ?"
                " AND item_code IS NOT NULL",
                (session_id,),
            )
        }
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
    for case_id, visit, generated in cases:
        body = records.service_record(session, case_id, visit, unit)
        count += put(
            db, "province", "service", service_key(case_id, visit), session_id, body, local_case=generated
        )
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
    for case_id, visit, generated in cases:
        service = service_key(case_id, visit)
        if _status(db, service) is None:  # a session from before the outbox
            body = records.service_record(session, case_id, visit, unit)
            put(db, "province", "service", service, session["session_id"], body, local_case=generated)
        body = records.rating_record(rating, session, case_id, visit, unit)
        count += put(
            db,
            "province",
            kind,
            rating_key(rating, case_id),
            rating_id,
            body,
            depends_on=service,
            local_case=generated,
        )
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
        reasons = records.reason_names(rating["reasons"], rating.get("details")) if rating else []
        body = {
            "externalId": str(order_id),
            "hall": order["hall"],
            "window": order["window"] or "",
            "staff": session["staff_name"] if session else (order["staff_id"] or ""),
            "item": session["item_name"] if session else "",
            "cases": [c[0] for c in cases],
            "satisfaction": rating["level"] if rating else 0,
            "reasons": "、".join(records.REASONS[name] for name in reasons),
            "writingEvaluation": (rating or {}).get("comment") or "",
            "openedAt": records.format_time(order["opened_at"]),
            "contactDue": records.format_time(order["contact_due"]) if order["contact_due"] else "",
            "doneDue": records.format_time(order["done_due"]) if order["done_due"] else "",
        }
        return int(put(db, "12345", "order", "order:%d" % order_id, order_id, body))
    if to_state not in ("closed", "explained") or rating is None:
        return 0
    count = 0
    for case_id, visit, generated in cases:
        body = records.reply_record(order, case_id, visit, clock.now())
        count += put(
            db,
            "province",
            "reply",
            "reply:%d:%s" % (order_id, case_id),
            order_id,
            body,
            depends_on=rating_key(rating, case_id),
            local_case=generated,
        )
    return count
