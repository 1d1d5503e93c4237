"""The hostd database schema, as sqlite-utils `Migrations` (applied in order, once).

Tables:
  devices        the device registry: keys, rotation overlap, revocation
  ratings        one row per signed rating; UNIQUE(device_id, seq)
  device_status  the last heartbeat of each device; view `fleet` joins it to devices
  rejections     refused messages counted by (device_id, reason)
  registry_version  one row whose `generation` changes with every devices change,
                 so a key cache can tell a device change from any other commit

Times are integer Unix seconds. A new schema change is a new function at the
end of this file; never edit one that has shipped.
"""
from sqlite_utils import Migrations

MIGRATIONS = Migrations("hostd")


@MIGRATIONS()
def m001_devices(db):
    db.execute("""
        CREATE TABLE devices (
            device_id TEXT PRIMARY KEY,
            hall TEXT NOT NULL,
            window TEXT NOT NULL,
            key_hex TEXT NOT NULL,
            previous_key_hex TEXT,
            previous_valid_until INTEGER,
            created_at INTEGER NOT NULL,
            rotated_at INTEGER,
            revoked_at INTEGER
        )""")
    db.execute("CREATE INDEX devices_window ON devices (hall, window)")
    db.execute("""
        CREATE TABLE registry_version (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            generation INTEGER NOT NULL
        )""")
    db.execute("INSERT INTO registry_version (id, generation) VALUES (1, 0)")
    for event in ("INSERT", "UPDATE", "DELETE"):
        db.execute(f"""
            CREATE TRIGGER devices_{event.lower()}_bumps_version AFTER {event} ON devices
            BEGIN
                UPDATE registry_version SET generation = generation + 1 WHERE id = 1;
            END""")


@MIGRATIONS()
def m002_ratings(db):
    # level follows upstream `satisfaction`: 5 = 非常满意 ... 1 = 非常不满意.
    # wire keeps the exact signed bytes: a resend is byte-identical (duplicate),
    # anything else under a used seq is a replay.
    db.execute("""
        CREATE TABLE ratings (
            id INTEGER PRIMARY KEY,
            device_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            hall TEXT NOT NULL,
            session_id TEXT,
            level INTEGER NOT NULL CHECK (level BETWEEN 1 AND 5),
            reasons TEXT NOT NULL DEFAULT '[]',
            cases INTEGER NOT NULL DEFAULT 1,
            staff TEXT,
            device_time INTEGER NOT NULL,
            clock_synced INTEGER NOT NULL,
            received_at INTEGER NOT NULL,
            wire BLOB NOT NULL,
            synced INTEGER NOT NULL DEFAULT 0,
            UNIQUE (device_id, seq)
        )""")
    db.execute("CREATE INDEX ratings_received ON ratings (received_at)")
    db.execute("CREATE INDEX ratings_session ON ratings (session_id)")
    db.execute("CREATE INDEX ratings_unsynced ON ratings (synced) WHERE synced = 0")


@MIGRATIONS()
def m003_device_status(db):
    db.execute("""
        CREATE TABLE device_status (
            device_id TEXT PRIMARY KEY,
            hall TEXT NOT NULL,
            state TEXT NOT NULL,
            last_seen INTEGER NOT NULL,
            firmware TEXT,
            outbox_depth INTEGER,
            free_heap INTEGER,
            clock_synced INTEGER,
            uptime INTEGER,
            next_seq INTEGER,
            offline_at INTEGER
        )""")
    db.execute("""
        CREATE VIEW fleet AS
        SELECT d.device_id, d.hall, d.window, d.created_at, d.revoked_at,
               COALESCE(s.state, 'never_seen') AS state,
               CASE WHEN d.revoked_at IS NULL AND s.state = 'online' THEN 1 ELSE 0 END AS online,
               s.last_seen, s.firmware, s.outbox_depth, s.free_heap,
               s.clock_synced, s.uptime, s.next_seq, s.offline_at,
               (SELECT MAX(r.seq) FROM ratings r WHERE r.device_id = d.device_id) AS last_rating_seq
        FROM devices d LEFT JOIN device_status s ON s.device_id = d.device_id""")


@MIGRATIONS()
def m004_rejections(db):
    db.execute("""
        CREATE TABLE rejections (
            device_id TEXT NOT NULL,
            reason TEXT NOT NULL,
            count INTEGER NOT NULL,
            first_at INTEGER NOT NULL,
            last_at INTEGER NOT NULL,
            last_detail TEXT,
            PRIMARY KEY (device_id, reason)
        )""")


def migrate(db):
    """Apply pending migrations to a sqlite_utils.Database; safe to call again."""
    MIGRATIONS.apply(db)
