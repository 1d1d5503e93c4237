"""Tables of the upstream outbox, 12345 forwarding, added after hostd/db/schema/__init__.py's core ones.

A new change is a new function at the end; never edit one that has shipped.
"""

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
