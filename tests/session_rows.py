"""Test helper: service sessions as plain rows (the sessions API is another module's).

add_session() inserts a session and its cases the way hostd/rules/sessions.py does,
so the rate-later page and the default-rating scheduler can be tested alone.
"""

import datetime
from zoneinfo import ZoneInfo

CST = ZoneInfo("Asia/Shanghai")


def cst(*parts):
    """Unix time of a China wall-clock time: cst(2026, 9, 30, 10, 0)."""
    return int(datetime.datetime(*parts, tzinfo=CST).timestamp())


def add_session(
    db,
    session_id,
    created_at,
    rate_until,
    hall="h1",
    window="w1",
    cases=1,
    item_name="户口迁移",
    staff_id="s1",
    staff_name="张三",
    staff_no="0042",
):
    conn = db.conn
    conn.execute(
        "INSERT INTO sessions (session_id, hall, window, device_id, item_code, item_name,"
        " staff_id, staff_name, staff_no, cases, created_at, screen_until, rate_until)"
        " VALUES (?, ?, ?, 'dev1', 'A001', ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            session_id,
            hall,
            window,
            item_name,
            staff_id,
            staff_name,
            staff_no,
            cases,
            created_at,
            created_at + 120,
            rate_until,
        ),
    )
    for n in range(cases):
        conn.execute(
            "INSERT INTO session_cases (session_id, case_id) VALUES (?, ?)",
            (session_id, "%s-case-%d" % (session_id, n + 1)),
        )
    return session_id


def add_device_rating(db, session_id, level, seq=1, device_id="dev1", hall="h1", at=None):
    """A device rating bound to its session (as the collector stores it)."""
    import time

    at = int(at or time.time())
    rating_id = db.conn.execute(
        "INSERT INTO ratings (channel, device_id, seq, hall, window, session_id, binding, level,"
        " reasons, cases, staff, device_time, clock_synced, received_at, wire)"
        " VALUES ('device', ?, ?, ?, 'w1', ?, 'session', ?, '[]', 1, 's1', ?, 1, ?, x'00')",
        (device_id, seq, hall, session_id, level, at, at),
    ).lastrowid
    db.conn.execute(
        "UPDATE sessions SET state = 'rated', rating_id = ?, closed_at = ? WHERE session_id = ?",
        (rating_id, at, session_id),
    )
    return rating_id


def counted(db, session_id):
    """[(channel, level)] of the ratings that count for the session."""
    return db.conn.execute(
        "SELECT channel, level FROM ratings WHERE session_id = ? AND binding = 'session'", (session_id,)
    ).fetchall()
