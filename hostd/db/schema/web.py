"""Tables of web users, login sessions and the evaluator-data access log,
added after hostd/db/schema/__init__.py's core ones.

  users               who may log in to the hall pages: role admin / supervisor / staff
                      (staff users are linked to staff.staff_id); password_hash is argon2
  evaluator_access    one row per read of ratings.evaluator_name / evaluator_mobile
                      (001 §四(三): access to evaluator data is restricted and logged)

A new change is a new function at the end; never edit one that has shipped.
"""

from sqlite_utils import Migrations

MIGRATIONS = Migrations("hostd.web")


@MIGRATIONS()
def m001_users(db):
    db.execute("""
        CREATE TABLE users (
            username TEXT PRIMARY KEY,
            role TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'staff')),
            staff_id TEXT,
            password_hash TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            disabled_at INTEGER,
            session_generation INTEGER NOT NULL DEFAULT 0,
            CHECK (role != 'staff' OR staff_id IS NOT NULL)
        )""")
    db.execute("""
        CREATE TABLE evaluator_access (
            id INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            username TEXT NOT NULL,
            role TEXT NOT NULL,
            rating_id INTEGER NOT NULL,
            fields TEXT NOT NULL,
            purpose TEXT NOT NULL
        )""")
    db.execute("CREATE INDEX evaluator_access_at ON evaluator_access (at)")


@MIGRATIONS()
def m002_login_events(db):
    # login_events: every login attempt to the hall pages and every unlock
    # (hostd/web/logins.py): the audit log, and what the throttle counts.
    #   result  ok | bad_password | unknown_user | disabled | throttled | unlock
    #   address the client's address as the web server saw it
    db.execute("""
        CREATE TABLE login_events (
            id INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            username TEXT NOT NULL,
            address TEXT NOT NULL,
            result TEXT NOT NULL
                CHECK (result IN ('ok', 'bad_password', 'unknown_user', 'disabled', 'throttled', 'unlock'))
        )""")
    db.execute("CREATE INDEX login_events_user ON login_events (username, at)")
    db.execute("CREATE INDEX login_events_address ON login_events (address, at)")
