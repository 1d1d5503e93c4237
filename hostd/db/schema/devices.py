"""Tables of the device bench, added after hostd/db/schema/__init__.py's core ones.

  device_boards   one row per physical board the flashing station has met, by MAC:
                  the device id it was given (kept when it fails, so the board
                  never gets a second id), and how its last attempt ended

A new change is a new function at the end; never edit one that has shipped.
"""

from sqlite_utils import Migrations

MIGRATIONS = Migrations("hostd.devices")  # its name is stored in hostd.db: never change it


@MIGRATIONS()
def m001_device_boards(db):
    db.execute("""
        CREATE TABLE device_boards (
            mac TEXT PRIMARY KEY,
            device_id TEXT NOT NULL UNIQUE REFERENCES devices (device_id),
            chip TEXT NOT NULL,
            first_at INTEGER NOT NULL,
            last_at INTEGER NOT NULL,
            result TEXT NOT NULL
        )""")
