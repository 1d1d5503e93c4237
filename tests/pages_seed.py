"""A small hall for the page tests: units, staff, windows, sessions, ratings and users.

Ratings are inserted as channel 'paper' (no device needed) and run through
pipeline.rating_recorded in their transaction, as every channel must, so
差评 open their work orders through hostd/casework/workorders.py.
"""

import os
import tempfile
import time
from pathlib import Path

from hostd.base.context import Context
from hostd.db.store import Store
from hostd.recording import pipeline
from hostd.web import auth

# Screenshots are taken on every run; UPDATE_SCREENS=1 writes them over docs/screens.
SCREENS = (
    Path(__file__).resolve().parent.parent / "docs" / "screens"
    if os.environ.get("UPDATE_SCREENS")
    else Path(tempfile.gettempdir()) / "hcp-screens"
)
PASSWORD = "correct-horse-42"
STAFF = (("s1", "张伟", "0011", "W01"), ("s2", "李娜", "0012", "W02"))


def seed(db, now=None, levels=None):
    """Fill db (inside the caller's transaction); return {staff_id: [rating ids]}."""
    now = int(now or time.time())
    db.execute("INSERT INTO units (unit_id, name) VALUES ('u1', '市场监管局')")
    for staff_id, name, number, window in STAFF:
        db.execute(
            "INSERT INTO staff (staff_id, name, staff_no, unit_id, created_at) VALUES (?, ?, ?, 'u1', ?)",
            [staff_id, name, number, now - 86400],
        )
        db.execute(
            "INSERT INTO windows (hall, window, name, unit_id, staff_id, duty_since)"
            " VALUES ('h1', ?, ?, 'u1', ?, ?)",
            [window, "%s号窗口" % window[-1], staff_id, now],
        )
    levels = levels or {"s1": (5, 5, 4, 1), "s2": (5, 3, 2)}
    made = {}
    n = 0
    for staff_id, name, number, window in STAFF:
        for level in levels.get(staff_id, ()):
            n += 1
            session_id = "sess-%d" % n
            at = now - 60 * n
            db.execute(
                "INSERT INTO sessions (session_id, hall, window, item_code, item_name,"
                " staff_id, staff_name, staff_no, unit_id, cases, created_at, screen_until,"
                " rate_until, state) VALUES (?, 'h1', ?, 'A001', '营业执照办理', ?, ?, ?, 'u1',"
                " 1, ?, ?, ?, 'rated')",
                [session_id, window, staff_id, name, number, at - 30, at + 90, at + 86400 * 7],
            )
            db.execute(
                "INSERT INTO session_cases (session_id, case_id) VALUES (?, ?)", [session_id, "CASE-%d" % n]
            )
            rating_id = db.execute(
                "INSERT INTO ratings (channel, hall, window, session_id, binding, level, reasons,"
                " staff, device_time, clock_synced, received_at, comment, evaluator_name,"
                " evaluator_mobile, named)"
                " VALUES ('paper', 'h1', ?, ?, 'session', ?, ?, ?, ?, 1, ?, ?, ?, ?, 1)",
                [
                    window,
                    session_id,
                    level,
                    "[1]" if level <= 2 else "[]",
                    number,
                    at,
                    at,
                    "等候时间太长" if level <= 2 else None,
                    "王秘密",
                    "13800138000",
                ],
            ).lastrowid
            db.execute(
                "UPDATE sessions SET rating_id = ?, closed_at = ? WHERE session_id = ?",
                [rating_id, at, session_id],
            )
            pipeline.rating_recorded(db, rating_id)
            made.setdefault(staff_id, []).append(rating_id)
    for device_id, window, state, heap in (
        ("w01-a", "W01", "online", 61440),
        ("w02-a", "W02", "offline", 58000),
    ):
        db.execute(
            "INSERT INTO devices (device_id, hall, window, key_hex, created_at) VALUES (?, 'h1', ?, ?, ?)",
            [device_id, window, "ab" * 32, now - 86400],
        )
        db.execute(
            "INSERT INTO device_status (device_id, hall, state, last_seen, firmware,"
            " outbox_depth, free_heap, clock_synced, uptime, next_seq)"
            " VALUES (?, 'h1', ?, ?, '1.2.0', ?, ?, 1, 7200, 12)",
            [
                device_id,
                state,
                now - (30 if state == "online" else 1800),
                0 if state == "online" else 3,
                heap,
            ],
        )
    for username, role, staff_id in (
        ("admin", "admin", None),
        ("zhao", "supervisor", None),
        ("zhang", "staff", "s1"),
        ("li", "staff", "s2"),
    ):
        auth.add_user(db, username, PASSWORD, role, staff_id, now=now)
    return made


def open_context(home):
    store = Store(home.db_path)
    return Context(home, home.config(), store)
