"""A small hall in a real SQLite file, for the work-order, appeal, fraud,
stats and report tests: units, staff, windows, sessions and ratings of every
channel, inserted the way hostd does (pipeline.rating_recorded in the same
transaction)."""

import itertools
import json

from hostd.db.store import open_database
from hostd.recording import pipeline

HALL = "h1"
T0 = 1793548800  # 2026-11-02 00:00 +08:00, a Monday
_seq = itertools.count(1)


def hall_db(path):
    db = open_database(str(path / "hostd.db"))
    with db.conn:
        db.execute("INSERT INTO units VALUES ('u-tax', '税务局', '', ''), ('u-soc', '人社局', '', '')")
        for sid, name, no, unit in (
            ("s1", "张三", "0001", "u-tax"),
            ("s2", "李四", "0002", "u-tax"),
            ("s3", "王五", "0003", "u-soc"),
        ):
            db.execute(
                "INSERT INTO staff (staff_id, name, staff_no, unit_id, created_at) VALUES (?, ?, ?, ?, ?)",
                (sid, name, no, unit, T0 - 86400),
            )
        for window, unit, staff in (("1", "u-tax", "s1"), ("2", "u-tax", "s2"), ("3", "u-soc", "s3")):
            db.execute(
                "INSERT INTO windows (hall, window, name, unit_id, staff_id, duty_since)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (HALL, window, "%s号窗口" % window, unit, staff, T0 - 86400),
            )
            db.execute(
                "INSERT INTO duty_log (hall, window, staff_id, action, at) VALUES (?, ?, ?, 'on', ?)",
                (HALL, window, staff, T0 - 86400),
            )
    return db


def add_session(db, session_id, window, staff_id, at, item=("I01", "个人所得税申报"), state="open"):
    unit = db.execute("SELECT unit_id, name, staff_no FROM staff WHERE staff_id = ?", (staff_id,)).fetchone()
    db.execute(
        "INSERT INTO sessions (session_id, hall, window, device_id, item_code, item_name,"
        " staff_id, staff_name, staff_no, unit_id, cases, created_at, screen_until, rate_until,"
        " state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",
        (
            session_id,
            HALL,
            window,
            "dev-%s" % window,
            item[0],
            item[1],
            staff_id,
            unit[1],
            unit[2],
            unit[0],
            at,
            at + 120,
            at + 5 * 86400,
            state,
        ),
    )
    db.execute(
        "INSERT INTO session_cases (session_id, case_id) VALUES (?, ?)", (session_id, "case-" + session_id)
    )


def add_rating(
    db,
    level,
    at,
    session_id=None,
    window=None,
    channel="device",
    binding=None,
    staff=None,
    client_addr=None,
    device_id=None,
):
    """Insert one rating as hostd does; closes its session; returns the rating id."""
    if binding is None:
        binding = "session" if session_id else "window"
    if window is None and session_id:
        window = db.execute("SELECT window FROM sessions WHERE session_id = ?", (session_id,)).fetchone()[0]
    seq = next(_seq)
    device = device_id or ("dev-%s" % window if channel == "device" else None)
    rating_id = db.execute(
        "INSERT INTO ratings (channel, device_id, seq, hall, window, session_id, binding, level,"
        " reasons, staff, device_time, clock_synced, received_at, wire, client_addr)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
        (
            channel,
            device,
            seq if channel == "device" else None,
            HALL,
            window,
            session_id,
            binding,
            level,
            json.dumps([1] if level <= 2 else []),
            staff,
            at,
            at,
            b"wire-%d" % seq if channel == "device" else None,
            client_addr,
        ),
    ).lastrowid
    if binding == "session":
        state = "defaulted" if channel == "default" else "rated"
        db.execute(
            "UPDATE sessions SET state = ?, rating_id = ?, closed_at = ? WHERE session_id = ?",
            (state, rating_id, at, session_id),
        )
    pipeline.rating_recorded(db, rating_id)
    return rating_id


def served_and_rated(db, session_id, window, staff_id, level, at, channel="device", **kw):
    add_session(db, session_id, window, staff_id, at - 60, **kw)
    return add_rating(db, level, at, session_id=session_id, channel=channel)
