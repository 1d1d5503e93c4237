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


@MIGRATIONS()
def m002_promise_and_offline_review(db):
    # What the business system may give with a session, sent upstream only
    # when given (hostd/upstream/records.py service_record):
    #   promise_at  承诺时限 (Unix seconds)
    #   task_type   '即办件' or '承诺件'
    db.execute("ALTER TABLE sessions ADD COLUMN promise_at INTEGER")
    db.execute("ALTER TABLE sessions ADD COLUMN task_type TEXT")
    # generated = 1: a case id (upstream projectNo) hostd made itself, the
    # session having come without one (hostd/rules/sessions.py project_no).
    # Before this, such a session's one case was the session id itself.
    db.execute("ALTER TABLE session_cases ADD COLUMN generated INTEGER NOT NULL DEFAULT 0")
    db.execute("UPDATE session_cases SET generated = 1 WHERE case_id = session_id")
    # offline_reviews: a device rating taken offline that could not be bound
    # to one session (hostd/rules/binding.py), waiting for a supervisor on the
    # 待确认的离线评价 page. Its candidate sessions are held from default ratings
    # until it is decided.
    #   state  pending -> bound (to session_id) | dismissed (window-level)
    db.execute("""
        CREATE TABLE offline_reviews (
            rating_id INTEGER PRIMARY KEY REFERENCES ratings (id),
            hall TEXT NOT NULL,
            window TEXT,
            state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'bound', 'dismissed')),
            session_id TEXT,
            created_at INTEGER NOT NULL,
            decided_by TEXT,
            decided_at INTEGER,
            note TEXT
        )""")
    db.execute("CREATE INDEX offline_reviews_pending ON offline_reviews (created_at) WHERE state = 'pending'")
    db.execute("""
        CREATE TABLE offline_candidates (
            rating_id INTEGER NOT NULL REFERENCES offline_reviews (rating_id),
            session_id TEXT NOT NULL REFERENCES sessions (session_id),
            PRIMARY KEY (rating_id, session_id)
        )""")
    db.execute("CREATE INDEX offline_candidates_session ON offline_candidates (session_id)")


@MIGRATIONS()
def m003_session_cancel(db):
    # A session cancelled before it was rated (`hostd session cancel`, the
    # API): why, and who did it; state 'cancelled' and closed_at say when.
    # Its cases leave session_cases (a case belongs to one session: a new one
    # may take them) and are kept here, as JSON [[case_id, visit, generated], ...].
    db.execute("ALTER TABLE sessions ADD COLUMN cancel_reason TEXT")
    db.execute("ALTER TABLE sessions ADD COLUMN cancelled_by TEXT")
    db.execute("ALTER TABLE sessions ADD COLUMN cancelled_cases TEXT")
