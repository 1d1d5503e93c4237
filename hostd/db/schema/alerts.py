"""The alerts ledger (hostd/alerts/), added after hostd/db/schema/__init__.py's core ones.

  alerts   one row per alert: raised when its condition starts (a device
           silent in opening hours, an upstream backlog, low disk, a
           certificate expiring, the calendar lacking a year, a work order
           overdue, the backup stopped), cleared when it ends; at most one
           open row per key (kind:subject). raise_sent_at / clear_sent_at say
           when the webhook took the news (0: no webhook was set), so each is
           sent once, and sent late rather than lost when the webhook fails.

A new change is a new function at the end; never edit one that has shipped.
"""

from sqlite_utils import Migrations

MIGRATIONS = Migrations("hostd.alerts")  # its name is stored in hostd.db: never change it


@MIGRATIONS()
def m001_alerts(db):
    db.execute("""
        CREATE TABLE alerts (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL,
            kind TEXT NOT NULL,
            subject TEXT NOT NULL,
            message TEXT NOT NULL,
            raised_at INTEGER NOT NULL,
            cleared_at INTEGER,
            raise_sent_at INTEGER,
            clear_sent_at INTEGER
        )""")
    db.execute("CREATE UNIQUE INDEX alerts_open ON alerts (key) WHERE cleared_at IS NULL")
    db.execute("CREATE INDEX alerts_raised ON alerts (raised_at)")
