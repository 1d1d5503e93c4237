"""Tables of sessions, staff, rendering, rate-later and default ratings,
added after hostd/db/schema/__init__.py's core ones.

A new change is a new function at the end; never edit one that has shipped.
"""

from sqlite_utils import Migrations

MIGRATIONS = Migrations("hostd.sessions")  # its name is stored in hostd.db: never change it


@MIGRATIONS()
def m001_matched_offline(db):
    # 1: an unsessioned device rating (taken while the device could not reach
    # the host) that hostd/rules/binding.py matched to the one session its window
    # opened meanwhile. Window-level ratings keep binding = 'window'.
    db.execute("ALTER TABLE ratings ADD COLUMN matched_offline INTEGER NOT NULL DEFAULT 0")
    db.execute("CREATE INDEX sessions_device ON sessions (device_id, created_at)")
