"""Tables of work orders, appeals, fraud signals and statistics, added after
the core ones (hostd/db/schema/__init__.py).

A new change is a new function at the end; never edit one that has shipped.
"""

from sqlite_utils import Migrations

MIGRATIONS = Migrations("hostd.workorders")  # its name is stored in hostd.db: never change it


@MIGRATIONS()
def w001_work_orders_appeals_fraud(db):
    # Who a rating counts for (谁办理谁负责), filled in its insert transaction
    # by hostd/rules/attribution.py, so statistics need no join over 2M rows.
    for column in ("staff_id", "unit_id", "item_code"):
        db.execute("ALTER TABLE ratings ADD COLUMN %s TEXT" % column)
    # One covering index answers every period query of hostd/reporting/stats.py.
    db.execute("""CREATE INDEX ratings_stats ON ratings (received_at, binding, excluded, level,
                  channel, hall, window, staff_id, unit_id, item_code)""")
    db.execute(
        "CREATE INDEX ratings_staff_stats ON ratings (staff_id, received_at, binding, excluded, level)"
    )
    db.execute("CREATE INDEX ratings_device_time ON ratings (device_id, received_at)")
    db.execute(
        "CREATE INDEX ratings_client_addr ON ratings (client_addr, received_at) WHERE client_addr IS NOT NULL"
    )
    db.execute("""CREATE INDEX sessions_stats ON sessions (created_at, state, hall, window,
                  staff_id, unit_id, item_code)""")
    db.execute("CREATE INDEX sessions_item ON sessions (item_code)")
    # Work orders: complexity picks the deadline; contacted_at / done_at
    # (first replied or explained) measure the deadlines that were met.
    db.execute(
        "ALTER TABLE work_orders ADD COLUMN complexity TEXT NOT NULL DEFAULT 'simple'"
        " CHECK (complexity IN ('simple', 'complex'))"
    )
    db.execute("ALTER TABLE work_orders ADD COLUMN contacted_at INTEGER")
    db.execute("ALTER TABLE work_orders ADD COLUMN done_at INTEGER")
    db.execute("CREATE INDEX work_orders_opened ON work_orders (opened_at)")
    # appeal  # 申诉复核: the rated staff member appeals; a supervisor decides.
    db.execute("""
        CREATE TABLE appeals (
            appeal_id INTEGER PRIMARY KEY,
            rating_id INTEGER NOT NULL REFERENCES ratings (id),
            staff_id TEXT NOT NULL,
            reason TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'upheld', 'rejected')),
            filed_at INTEGER NOT NULL,
            filed_by TEXT NOT NULL,
            decided_at INTEGER,
            decided_by TEXT,
            verdict TEXT CHECK (verdict IS NULL OR verdict IN ('误评', '恶意差评')),
            decision_note TEXT
        )""")
    db.execute("CREATE INDEX appeals_state ON appeals (state, filed_at)")
    db.execute("CREATE INDEX appeals_staff ON appeals (staff_id, filed_at)")
    db.execute("CREATE UNIQUE INDEX appeals_one_pending ON appeals (rating_id) WHERE state = 'pending'")
    # fraud flags: for review, never acted on automatically.
    db.execute("""
        CREATE TABLE fraud_flags (
            flag_id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            subject TEXT NOT NULL,
            period_start INTEGER NOT NULL,
            period_end INTEGER NOT NULL,
            statistic TEXT NOT NULL,
            evidence TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'open'
                CHECK (state IN ('open', 'confirmed', 'dismissed')),
            found_at INTEGER NOT NULL,
            reviewed_at INTEGER,
            reviewed_by TEXT,
            review_note TEXT,
            UNIQUE (kind, subject, period_start)
        )""")
    db.execute("CREATE INDEX fraud_flags_state ON fraud_flags (state, found_at)")


_RATING_KEY = (
    "(R.received_at + 28800) / 86400, R.hall, COALESCE(R.window, ''),"
    " COALESCE(R.staff_id, ''), COALESCE(R.unit_id, ''), R.channel"
)
_RATING_COUNTS = (
    "S * (R.excluded IS NULL), S * (R.excluded IS NULL AND R.level >= 4),"
    " S * (R.excluded IS NULL AND R.level = 3), S * (R.excluded IS NULL AND R.level <= 2),"
    " S * (R.excluded IS NOT NULL)"
)
_RATING_UPSERT = """
    INSERT INTO stats_daily (day, hall, window, staff_id, unit_id, channel,
                             total, good, middle, bad, not_counted)
    SELECT %s, %s WHERE R.binding IN ('session', 'window')
    ON CONFLICT (day, hall, window, staff_id, unit_id, channel) DO UPDATE SET
        total = total + excluded.total, good = good + excluded.good,
        middle = middle + excluded.middle, bad = bad + excluded.bad,
        not_counted = not_counted + excluded.not_counted;""" % (_RATING_KEY, _RATING_COUNTS)
_SESSION_UPSERT = """
    INSERT INTO sessions_daily (day, hall, window, staff_id, unit_id, sessions, rated)
    SELECT (R.created_at + 28800) / 86400, R.hall, R.window, R.staff_id, COALESCE(R.unit_id, ''),
           S * (R.state != 'cancelled'), S * (R.state = 'rated') WHERE true
    ON CONFLICT (day, hall, window, staff_id, unit_id) DO UPDATE SET
        sessions = sessions + excluded.sessions, rated = rated + excluded.rated;"""


def _rows(sql, row, sign):
    return sql.replace("R.", row + ".").replace("S *", sign + " *")


@MIGRATIONS()
def w002_daily_rollups(db):
    # Counted ratings and sessions per local day (UTC+8) and who/where, kept
    # by triggers whoever writes, so a quarter's statistics read ~100x fewer
    # rows than the ratings themselves (hostd/reporting/stats.py uses them for whole-day
    # periods without an item filter). Keys use '' for "none".
    db.execute("""
        CREATE TABLE stats_daily (
            day INTEGER NOT NULL, hall TEXT NOT NULL, window TEXT NOT NULL,
            staff_id TEXT NOT NULL, unit_id TEXT NOT NULL, channel TEXT NOT NULL,
            total INTEGER NOT NULL, good INTEGER NOT NULL, middle INTEGER NOT NULL,
            bad INTEGER NOT NULL, not_counted INTEGER NOT NULL,
            PRIMARY KEY (day, hall, window, staff_id, unit_id, channel)
        ) WITHOUT ROWID""")
    db.execute("""
        CREATE TABLE sessions_daily (
            day INTEGER NOT NULL, hall TEXT NOT NULL, window TEXT NOT NULL,
            staff_id TEXT NOT NULL, unit_id TEXT NOT NULL,
            sessions INTEGER NOT NULL, rated INTEGER NOT NULL,
            PRIMARY KEY (day, hall, window, staff_id, unit_id)
        ) WITHOUT ROWID""")
    db.execute(
        "CREATE TRIGGER ratings_daily_insert AFTER INSERT ON ratings BEGIN %s END"
        % _rows(_RATING_UPSERT, "NEW", "1")
    )
    db.execute(
        "CREATE TRIGGER ratings_daily_update AFTER UPDATE OF binding, excluded, level,"
        " staff_id, unit_id, window, channel, received_at, hall ON ratings BEGIN %s %s END"
        % (_rows(_RATING_UPSERT, "OLD", "-1"), _rows(_RATING_UPSERT, "NEW", "1"))
    )
    db.execute(
        "CREATE TRIGGER ratings_daily_delete AFTER DELETE ON ratings BEGIN %s END"
        % _rows(_RATING_UPSERT, "OLD", "-1")
    )
    db.execute(
        "CREATE TRIGGER sessions_daily_insert AFTER INSERT ON sessions BEGIN %s END"
        % _rows(_SESSION_UPSERT, "NEW", "1")
    )
    db.execute(
        "CREATE TRIGGER sessions_daily_update AFTER UPDATE OF state, staff_id, unit_id,"
        " window, created_at, hall ON sessions BEGIN %s %s END"
        % (_rows(_SESSION_UPSERT, "OLD", "-1"), _rows(_SESSION_UPSERT, "NEW", "1"))
    )
    db.execute(
        "CREATE TRIGGER sessions_daily_delete AFTER DELETE ON sessions BEGIN %s END"
        % _rows(_SESSION_UPSERT, "OLD", "-1")
    )
    # rows written before this migration
    db.execute(_rows(_RATING_UPSERT, "r", "1").replace("WHERE r.binding", "FROM ratings r WHERE r.binding"))
    db.execute(_rows(_SESSION_UPSERT, "r", "1").replace("WHERE true", "FROM sessions r WHERE true"))
