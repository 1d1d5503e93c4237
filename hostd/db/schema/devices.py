"""Tables of the device bench, added after hostd/db/schema/__init__.py's core ones.

  device_boards   one row per physical board the flashing station has met, by MAC:
                  the device id it was given (kept when it fails, so the board
                  never gets a second id), and how its last attempt ended
  device_reboots  one row per reboot a heartbeat revealed (its boot count changed):
                  when, and the reset cause (power, watchdog, crash ...); a week kept
  device_status   gains reset_cause and boots; the view `fleet` gains them and
                  reboots_hour
  windows         gains voice_volume: the window's own loudness of the device's
                  voice, 0 (off) to 5; NULL: the hall's device.voice_volume

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


@MIGRATIONS()
def m002_reset_causes(db):
    # Each heartbeat says why the device last reset and how many times it has
    # booted; a boot count that changed is a reboot, kept in device_reboots
    # (a week of them) so that a device rebooting again and again raises an
    # alert (alerts.reboots_per_hour) on the fleet page.
    db.execute("ALTER TABLE device_status ADD COLUMN reset_cause TEXT")
    db.execute("ALTER TABLE device_status ADD COLUMN boots INTEGER")
    db.execute("""
        CREATE TABLE device_reboots (
            id INTEGER PRIMARY KEY,
            device_id TEXT NOT NULL,
            at INTEGER NOT NULL,
            cause TEXT NOT NULL,
            boots INTEGER NOT NULL
        )""")
    db.execute("CREATE INDEX device_reboots_device ON device_reboots (device_id, at)")
    db.execute("DROP VIEW fleet")
    db.execute("""
        CREATE VIEW fleet AS
        SELECT d.device_id, d.hall, d.window, d.created_at, d.revoked_at,
               COALESCE(s.state, 'never_seen') AS state,
               CASE WHEN d.revoked_at IS NULL AND s.state = 'online' THEN 1 ELSE 0 END AS online,
               s.last_seen, s.firmware, s.outbox_depth, s.free_heap,
               s.clock_synced, s.uptime, s.next_seq, s.offline_at,
               (SELECT MAX(r.seq) FROM ratings r WHERE r.device_id = d.device_id) AS last_rating_seq,
               s.reset_cause, s.boots,
               (SELECT COUNT(*) FROM device_reboots b WHERE b.device_id = d.device_id
                  AND b.at > CAST(strftime('%s', 'now') AS INTEGER) - 3600) AS reboots_hour
        FROM devices d LEFT JOIN device_status s ON s.device_id = d.device_id""")


@MIGRATIONS()
def m003_window_voice(db):
    db.execute("ALTER TABLE windows ADD COLUMN voice_volume INTEGER CHECK (voice_volume BETWEEN 0 AND 5)")
