"""The hostd database schema, as sqlite-utils `Migrations` (applied in order, once).

Tables:
  devices        the device registry: keys, rotation overlap, revocation
  ratings        one row per signed rating; UNIQUE(device_id, seq)
  device_status  the last heartbeat of each device; view `fleet` joins it to devices
  rejections     refused messages counted by (device_id, reason)
  registry_version  one row whose `generation` changes with every devices change,
                 so a key cache can tell a device change from any other commit
  units, staff, windows, duty_log   who serves where (windows.staff_id NULL = 暂停服务)
  sessions, session_cases   a finished service and its case ids (several = a batch)
  work_orders, work_order_events   差评 rectification and its audit trail

ratings after m007: one row per rating from any channel. `channel` is device
(signed, with device_id/seq/wire), qr (rate-later page), default (系统默认评价)
or paper (书面). `binding` says how it counts: session (bound to session_id,
the one rating of that session), window (an unsessioned device rating kept as
a window-level rating), refused (the session was already rated by another
channel: kept for the record, not counted). `excluded` is set when an appeal
is upheld (误评 / 恶意差评): kept, not counted.

Feature areas add tables in their own Migrations sets (hostd/db/schema/*.py),
applied after these, in the order of AREAS below: sessions.py (offline_reviews
and offline_candidates: 待确认的离线评价), upstream.py (upstream_outbox,
upstream_state, twelve345_tickets, upstream_actions: who retried or edited
a dead letter), web.py, workorders.py, devices.py (device_boards: the
boards the flashing station met, by MAC, and the id each was given),
alerts.py (the alerts ledger: raised once, cleared once, sent once),
rollups.py (monthly and work-order rollups the statistics read), channels.py
(uploads, paper forms, contacts, SMS, window codes), supervision.py (会商,
fraud review, 办不成事, third-party evaluations).

Times are integer Unix seconds. A new schema change is a new function at the
end of this file; never edit one that has shipped.
"""

from sqlite_utils import Database, Migrations

from hostd.db.schema import alerts as schema_alerts
from hostd.db.schema import channels as schema_channels
from hostd.db.schema import devices as schema_devices
from hostd.db.schema import rollups as schema_rollups
from hostd.db.schema import sessions as schema_sessions
from hostd.db.schema import supervision as schema_supervision
from hostd.db.schema import upstream as schema_upstream
from hostd.db.schema import web as schema_web
from hostd.db.schema import workorders as schema_workorders

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


@MIGRATIONS()
def m005_people_and_windows(db):
    db.execute("""
        CREATE TABLE units (
            unit_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            dept_code TEXT NOT NULL DEFAULT '',   -- 18-char 统一社会信用代码 (upstream deptCode)
            area_code TEXT NOT NULL DEFAULT ''    -- 12-digit 区划 (upstream areaCode)
        )""")
    db.execute("""
        CREATE TABLE staff (
            staff_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            staff_no TEXT NOT NULL,               -- 工号, shown on the device
            unit_id TEXT REFERENCES units (unit_id),
            created_at INTEGER NOT NULL,
            left_at INTEGER
        )""")
    db.execute("""
        CREATE TABLE windows (
            hall TEXT NOT NULL,
            window TEXT NOT NULL,
            name TEXT NOT NULL DEFAULT '',
            unit_id TEXT REFERENCES units (unit_id),
            staff_id TEXT REFERENCES staff (staff_id),  -- on duty now; NULL = 暂停服务
            duty_since INTEGER,
            PRIMARY KEY (hall, window)
        )""")
    db.execute("INSERT OR IGNORE INTO windows (hall, window) SELECT DISTINCT hall, window FROM devices")
    db.execute("""
        CREATE TABLE duty_log (
            id INTEGER PRIMARY KEY,
            hall TEXT NOT NULL,
            window TEXT NOT NULL,
            staff_id TEXT,
            action TEXT NOT NULL CHECK (action IN ('on', 'off')),
            at INTEGER NOT NULL,
            actor TEXT NOT NULL DEFAULT ''
        )""")
    db.execute("CREATE INDEX duty_log_window ON duty_log (hall, window, at)")


@MIGRATIONS()
def m006_sessions(db):
    # state: open -> rated (a rating from any channel closed it) or defaulted
    # (the period ended unrated) or cancelled. rate_until ends the period.
    db.execute("""
        CREATE TABLE sessions (
            session_id TEXT PRIMARY KEY,
            hall TEXT NOT NULL,
            window TEXT NOT NULL,
            device_id TEXT,
            item_code TEXT NOT NULL,
            item_name TEXT NOT NULL,
            staff_id TEXT NOT NULL,
            staff_name TEXT NOT NULL,
            staff_no TEXT NOT NULL,
            unit_id TEXT,
            cases INTEGER NOT NULL CHECK (cases >= 1),
            created_at INTEGER NOT NULL,
            screen_until INTEGER NOT NULL,
            rate_until INTEGER NOT NULL,
            state TEXT NOT NULL DEFAULT 'open'
                CHECK (state IN ('open', 'rated', 'defaulted', 'cancelled')),
            rating_id INTEGER,
            closed_at INTEGER
        )""")
    db.execute("CREATE INDEX sessions_window ON sessions (hall, window, created_at)")
    db.execute("CREATE INDEX sessions_staff ON sessions (staff_id, created_at)")
    db.execute("CREATE INDEX sessions_created ON sessions (created_at)")
    db.execute("CREATE INDEX sessions_open_due ON sessions (rate_until) WHERE state = 'open'")
    # visit: the upstream serviceNumber (a matter served over several visits
    # is rated at each); case_id is the upstream projectNo.
    db.execute("""
        CREATE TABLE session_cases (
            session_id TEXT NOT NULL REFERENCES sessions (session_id),
            case_id TEXT NOT NULL,
            visit INTEGER NOT NULL DEFAULT 1 CHECK (visit >= 1),
            PRIMARY KEY (case_id, visit)
        )""")
    db.execute("CREATE INDEX session_cases_session ON session_cases (session_id)")


@MIGRATIONS()
def m007_ratings_all_channels(db):
    # Rebuild ratings so non-device channels fit: device_id, seq and wire may
    # be NULL when channel != 'device'. The fleet view names ratings, so it
    # is dropped and made again around the rebuild.
    db.execute("DROP VIEW fleet")
    db.execute("""
        CREATE TABLE ratings_new (
            id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL DEFAULT 'device'
                CHECK (channel IN ('device', 'qr', 'default', 'paper')),
            device_id TEXT,
            seq INTEGER,
            hall TEXT NOT NULL,
            window TEXT,
            session_id TEXT,
            binding TEXT NOT NULL DEFAULT 'session'
                CHECK (binding IN ('session', 'window', 'refused')),
            level INTEGER NOT NULL CHECK (level BETWEEN 1 AND 5),
            reasons TEXT NOT NULL DEFAULT '[]',
            cases INTEGER NOT NULL DEFAULT 1,
            staff TEXT,
            device_time INTEGER NOT NULL,
            clock_synced INTEGER NOT NULL,
            received_at INTEGER NOT NULL,
            wire BLOB,
            synced INTEGER NOT NULL DEFAULT 0,
            comment TEXT,
            details TEXT,
            client_addr TEXT,
            evaluator_name TEXT,
            evaluator_mobile TEXT,
            evaluator_consent INTEGER NOT NULL DEFAULT 0,
            excluded TEXT CHECK (excluded IS NULL OR excluded IN ('误评', '恶意差评')),
            excluded_at INTEGER,
            UNIQUE (device_id, seq),
            CHECK (channel != 'device'
                   OR (device_id IS NOT NULL AND seq IS NOT NULL AND wire IS NOT NULL))
        )""")
    db.execute("""
        INSERT INTO ratings_new (id, channel, device_id, seq, hall, window, session_id,
            binding, level, reasons, cases, staff, device_time, clock_synced, received_at,
            wire, synced)
        SELECT r.id, 'device', r.device_id, r.seq, r.hall,
            (SELECT d.window FROM devices d WHERE d.device_id = r.device_id),
            r.session_id, CASE WHEN r.session_id IS NULL THEN 'window' ELSE 'session' END,
            r.level, r.reasons, r.cases, r.staff, r.device_time, r.clock_synced,
            r.received_at, r.wire, r.synced
        FROM ratings r""")
    db.execute("DROP TABLE ratings")
    db.execute("ALTER TABLE ratings_new RENAME TO ratings")
    db.execute("CREATE INDEX ratings_received ON ratings (received_at)")
    db.execute("CREATE INDEX ratings_session ON ratings (session_id)")
    db.execute("CREATE INDEX ratings_unsynced ON ratings (synced) WHERE synced = 0")
    db.execute("CREATE INDEX ratings_window ON ratings (hall, window, received_at)")
    # One service, one rating: at most one counted rating per session.
    db.execute(
        "CREATE UNIQUE INDEX ratings_one_per_session ON ratings (session_id)"
        " WHERE binding = 'session' AND session_id IS NOT NULL"
    )
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
def m008_work_orders(db):
    # Every counted 差评 (level <= 2) opens one, assigned to who handled it.
    db.execute("""
        CREATE TABLE work_orders (
            order_id INTEGER PRIMARY KEY,
            rating_id INTEGER NOT NULL UNIQUE REFERENCES ratings (id),
            session_id TEXT,
            hall TEXT NOT NULL,
            window TEXT,
            staff_id TEXT,
            unit_id TEXT,
            state TEXT NOT NULL DEFAULT 'new' CHECK (state IN
                ('new', 'contacted', 'rectifying', 'replied', 'closed', 'explained')),
            opened_at INTEGER NOT NULL,
            contact_due INTEGER,
            done_due INTEGER,
            closed_at INTEGER,
            feedback TEXT CHECK (feedback IS NULL OR feedback IN ('满意', '基本满意', '不满意')),
            explanation TEXT,
            reply TEXT
        )""")
    db.execute("CREATE INDEX work_orders_state ON work_orders (state, done_due)")
    db.execute("CREATE INDEX work_orders_staff ON work_orders (staff_id, state)")
    db.execute("""
        CREATE TABLE work_order_events (
            id INTEGER PRIMARY KEY,
            order_id INTEGER NOT NULL REFERENCES work_orders (order_id),
            at INTEGER NOT NULL,
            actor TEXT NOT NULL,
            from_state TEXT,
            to_state TEXT NOT NULL,
            note TEXT
        )""")
    db.execute("CREATE INDEX work_order_events_order ON work_order_events (order_id, at)")


def migrate(db):
    """Apply pending migrations to a sqlite_utils.Database; safe to call again."""
    for migrations in sets():
        migrations.apply(db)


def sets():
    """Every migration set, in the order they apply."""
    return (MIGRATIONS,) + tuple(area.MIGRATIONS for area in AREAS)


def pending(db):
    """[(set, migration name)] this hostd would apply to `db`."""
    return [(s.name, m.name) for s in sets() for m in s.pending(db)]


def unknown(db):
    """[(set, migration name)] recorded in `db` that this hostd does not know:
    a newer hostd migrated it."""
    if Migrations.migrations_table not in db.table_names():
        return []
    known = {(s.name, m.name) for s in sets() for m in s.pending(Database(memory=True))}
    return [
        (row[0], row[1])
        for row in db.execute("SELECT migration_set, name FROM [%s]" % Migrations.migrations_table)
        if (row[0], row[1]) not in known
    ]


def has_data(db):
    """Whether `db` holds any table of ours (not a new, empty file)."""
    return any(not name.startswith("_") for name in db.table_names())


AREAS = (
    schema_sessions,
    schema_workorders,
    schema_upstream,
    schema_web,
    schema_devices,
    schema_alerts,
    schema_rollups,
    schema_channels,
    schema_supervision,
)
