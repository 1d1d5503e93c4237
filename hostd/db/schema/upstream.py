"""Tables of the upstream outbox, 12345 forwarding, added after hostd/db/schema/__init__.py's core ones.

A new change is a new function at the end; never edit one that has shipped.
"""

import json

from sqlite_utils import Migrations

MIGRATIONS = Migrations("hostd.upstream")


@MIGRATIONS()
def u001_outbox(db):
    # upstream_outbox: one row per record to send (hostd/upstream/outbox.py).
    #   kind    service (办件服务数据) | rating | default (系统默认评价) | reply
    #           (rectification reply, 整改回复) go to the provincial platform;
    #           order (a 差评 work order) goes to the 12345 hotline platform.
    #   key     the idempotency key, sent with the record (see outbox.py).
    #   depends_on  the key of the service record that must be confirmed first;
    #           blocked = 1 until it is.
    #   status  pending -> sent -> confirmed; rejected (refused for a reason
    #           that may change, retried with backoff); dead (refused for good,
    #           last_error says why; never retried, never blocks others).
    #   body    the record as JSON, built when enqueued.
    db.execute("""
        CREATE TABLE upstream_outbox (
            id INTEGER PRIMARY KEY,
            target TEXT NOT NULL CHECK (target IN ('province', '12345')),
            kind TEXT NOT NULL CHECK (kind IN ('service', 'rating', 'default', 'reply', 'order')),
            key TEXT NOT NULL UNIQUE,
            ref TEXT NOT NULL,
            depends_on TEXT,
            blocked INTEGER NOT NULL DEFAULT 0,
            body TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sent', 'confirmed', 'rejected', 'dead')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt REAL NOT NULL DEFAULT 0,
            last_error TEXT,
            created_at INTEGER NOT NULL,
            confirmed_at INTEGER
        )""")
    db.execute(
        "CREATE INDEX upstream_outbox_due ON upstream_outbox (target, next_attempt, id)"
        " WHERE status IN ('pending', 'sent', 'rejected') AND blocked = 0"
    )
    db.execute(
        "CREATE INDEX upstream_outbox_depends ON upstream_outbox (depends_on) WHERE depends_on IS NOT NULL"
    )
    db.execute("CREATE INDEX upstream_outbox_status ON upstream_outbox (status, created_at)")
    # upstream_state: last success, last error, the 12345 reply cursor.
    db.execute("""
        CREATE TABLE upstream_state (
            name TEXT PRIMARY KEY,
            value TEXT
        )""")
    # twelve345_tickets: the 12345 ticket of each forwarded work order.
    db.execute("""
        CREATE TABLE twelve345_tickets (
            order_id INTEGER PRIMARY KEY REFERENCES work_orders (order_id),
            ticket TEXT NOT NULL UNIQUE,
            forwarded_at INTEGER NOT NULL
        )""")


@MIGRATIONS()
def u002_followup_kinds(db):
    # Two more kinds go to the provincial platform after their rating
    # (hostd/upstream/followups.py): appeal (the decision on an appeal,
    # 申诉复核) and comment (what a citizen added on the rate-later page).
    # SQLite cannot widen a CHECK in place: the table is rebuilt as it was,
    # rows and indexes included, with the wider CHECK.
    old = "CHECK (kind IN ('service', 'rating', 'default', 'reply', 'order'))"
    new = "CHECK (kind IN ('service', 'rating', 'default', 'reply', 'order', 'appeal', 'comment'))"
    sql = db.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'upstream_outbox'"
    ).fetchone()[0]
    indexes = [
        row[0]
        for row in db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'upstream_outbox'"
            " AND sql IS NOT NULL"
        )
    ]
    assert old in sql, "upstream_outbox is not as u001 made it"
    db.execute(
        sql.replace(old, new).replace("CREATE TABLE upstream_outbox", "CREATE TABLE upstream_outbox_new", 1)
    )
    db.execute("INSERT INTO upstream_outbox_new SELECT * FROM upstream_outbox")
    db.execute("DROP TABLE upstream_outbox")
    db.execute("ALTER TABLE upstream_outbox_new RENAME TO upstream_outbox")
    for index in indexes:
        db.execute(index)


# u003's reading of the records u001/u002 stored: the codes they carried.
_OLD_PF = {4: "device", 3: "qr", 7: "default", 5: "paper"}
_OLD_DETAIL = {
    "1001": "attitude",
    "1002": "efficiency",
    "1003": "quality",
    "1004": "environment",
    "1005": "convenience",
    "1099": "other",
}


def _neutral(kind, body, rating_body):
    """An old stored record as hostd's neutral record (hostd/upstream/records.py)."""
    body.pop("type", None)
    body.pop("key", None)
    if kind == "service":
        body.pop("promiseTime", None)  # it carried our rating deadline, never a promise
    if kind == "comment" and rating_body is not None:
        added: dict = dict(rating_body)
        added["assessNumber"] = 2
        added.pop("reasonNotGiven", None)
        added["reasons"] = [
            _OLD_DETAIL[c] for c in (body.get("evalDetail") or "").split(",") if c in _OLD_DETAIL
        ]
        added["writingEvaluation"] = body.get("writingEvaluation") or ""
        added["assessTime"] = body.get("commentTime") or added.get("assessTime", "")
        if body.get("questions"):
            added["questions"] = body["questions"]
        return added
    if "pf" in body:
        body["channel"] = _OLD_PF.get(body.pop("pf"), "device")
    if "evalDetail" in body:
        detail = body.pop("evalDetail") or ""
        body["reasons"] = [_OLD_DETAIL[c] for c in detail.split(",") if c in _OLD_DETAIL]
        if body.get("satisfaction", 5) <= 2 and not body["reasons"] and not body.get("writingEvaluation"):
            body["reasonNotGiven"] = True
    return body


def _identity(kind, body):
    # The same as hostd/upstream/outbox.py identity(), which this layer may not import.
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


@MIGRATIONS()
def u003_interface_identity(db):
    # Records carry the interface's fields only (issue 16): no idempotency key
    # travels; a record is known upstream by its identity (outbox.identity).
    # New columns:
    #   identity     the platform's identity of the record, as text
    #   local_case   1: its projectNo was made by hostd (no case id came)
    #   remote_body  what the platform holds under that identity, when it
    #                differs from ours (a dead letter shows both)
    #   note         what hostd added or decided (reason not given, edited ...)
    # New statuses:
    #   held      kept in the hall, not reportable (last_error says why)
    #   external  a service record the business system sends (service_records
    #             = "business-system"); its ratings go without waiting
    # Records not yet confirmed are rewritten to the neutral form; the 12345
    # orders lose their key field (the fake 12345 answers in order).
    sql = db.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'upstream_outbox'"
    ).fetchone()[0]
    old = "CHECK (status IN ('pending', 'sent', 'confirmed', 'rejected', 'dead'))"
    new = "CHECK (status IN ('pending', 'sent', 'confirmed', 'rejected', 'dead', 'held', 'external'))"
    assert old in " ".join(sql.split()), "upstream_outbox is not as u002 made it"
    sql = " ".join(sql.split()).replace(old, new)
    head = sql.index("(")  # after a RENAME, SQLite keeps the name quoted: CREATE TABLE "upstream_outbox"
    sql = "CREATE TABLE upstream_outbox_new " + sql[head:]
    sql = sql[: sql.rindex(")")] + (
        ", identity TEXT NOT NULL DEFAULT '', local_case INTEGER NOT NULL DEFAULT 0,"
        " remote_body TEXT, note TEXT)"
    )
    indexes = [
        row[0]
        for row in db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'upstream_outbox'"
            " AND sql IS NOT NULL"
        )
    ]
    db.execute(sql)
    columns = [row[1] for row in db.execute("PRAGMA table_info(upstream_outbox)")]
    db.execute(
        "INSERT INTO upstream_outbox_new (%s) SELECT %s FROM upstream_outbox"
        % (", ".join(columns), ", ".join(columns))
    )
    db.execute("DROP TABLE upstream_outbox")
    db.execute("ALTER TABLE upstream_outbox_new RENAME TO upstream_outbox")
    for index in indexes:
        db.execute(index)
    db.execute("CREATE INDEX upstream_outbox_identity ON upstream_outbox (identity)")
    rows = db.execute(
        "SELECT id, kind, key, body, status, depends_on FROM upstream_outbox ORDER BY id"
    ).fetchall()
    bodies = {}
    for row_id, kind, key, text, status, depends_on in rows:
        body = json.loads(text)
        if kind == "order":
            body.pop("key", None)
        else:
            body = _neutral(kind, body, bodies.get(depends_on))
        bodies[key] = body
        if status != "confirmed":  # a confirmed record keeps what was sent
            text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        generated = db.execute(
            "SELECT 1 FROM session_cases WHERE case_id = ? AND generated = 1", (body.get("projectNo"),)
        ).fetchone()
        local = 1 if kind != "order" and generated else 0
        db.execute(
            "UPDATE upstream_outbox SET body = ?, identity = ?, local_case = ? WHERE id = ?",
            (text, _identity(kind, body), local, row_id),
        )
    # upstream_actions: what people did to upstream records (retry, edit and
    # resend; hostd/sync/letters.py), for the record.
    db.execute("""
        CREATE TABLE upstream_actions (
            id INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            actor TEXT NOT NULL,
            outbox_id INTEGER NOT NULL,
            action TEXT NOT NULL CHECK (action IN ('retry', 'edit')),
            before TEXT,
            after TEXT
        )""")
    db.execute("CREATE INDEX upstream_actions_row ON upstream_actions (outbox_id)")
