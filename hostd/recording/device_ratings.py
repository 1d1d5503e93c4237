"""A device's messages recorded: its ratings and its status (heartbeats).

The collector (hostd/ingest/collector.py) hands each verified message to
`store_rating` or `update_status`; each queues one write task on the store's
writer (hostd/db/store.py). A rating goes in complete, in one transaction:
bound to its session (hostd/rules/binding.py), attributed (hostd/rules/attribution.py),
and followed by what follows a rating (hostd/recording/pipeline.py).
"""

import sqlite3
import time

from hostd.recording import pipeline
from hostd.rules import binding, offline
from hostd.rules.attribution import Lookups, responsible_for
from protocol import messages

STORED = messages.STORED  # a new row
DUPLICATE = messages.DUPLICATE  # same device+seq, byte-identical wire: a resend
REPLAYED = "replayed"  # same device+seq, different content: refused


def store_rating(store, fields, wire, hall, callback=None, after_store=None):
    """Insert a verified rating, or tell a resend from a replay.

    `fields`: the decoded rating (list from messages.decode, or its dict).
    Result: STORED, DUPLICATE or REPLAYED. `after_store(db, rating, hall)`
    runs in the same transaction right after a new row is inserted.
    """
    wire = bytes(wire)

    def op(db):  # the dict is made here, on the writer: the caller's thread is busier
        rating = fields if isinstance(fields, dict) else dict(zip(_RATING_NAMES, fields))
        # received: when its batch began, a few ms at most after it arrived
        return insert_rating(
            db, rating, wire, hall, store.batch_time, after_store, Lookups.within(store.batch_cache)
        )

    # A rating insert changes no table that Lookups caches, and does
    # database work only, so a failed batch may run it again.
    op.keeps_cache = op.retryable = after_store is None
    store.submit(op, callback)


def update_status(store, fields, hall, callback=None):
    """Record a verified status (heartbeat, or the last-will offline)."""
    status = fields if isinstance(fields, dict) else messages.as_dict(fields)
    now = int(time.time())

    def op(db):
        return upsert_status(db, status, hall, now)

    op.keeps_cache = op.retryable = True  # device_status only
    op.soft = status["state"] != messages.OFFLINE  # the next heartbeat replaces it
    store.submit(op, callback)


def mark_offline(store, device_id, callback=None):
    now = int(time.time())

    def op(db):
        return set_offline(db, device_id, now)

    op.keeps_cache = op.retryable = True
    store.submit(op, callback)


_RATING_NAMES = messages.field_names(messages.RATING)
_SEEN_SQL = "SELECT wire FROM ratings WHERE device_id = ? AND seq = ?"
_INSERT_SQL = (
    "INSERT INTO ratings (channel, device_id, seq, hall, window, session_id, binding,"
    " level, reasons, cases, staff, device_time, clock_synced, received_at, wire,"
    " staff_id, unit_id, item_code, matched_offline)"
    " VALUES ('device', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def insert_rating(db, rating, wire, hall, received_at, after_store=None, lookups=None):
    """Insert a verified device rating; bind it to its session (hostd/rules/binding.py)
    and run what follows a rating (hostd/recording/pipeline.py), all in this transaction.

    The row goes in complete: bound, attributed (谁办理谁负责, hostd/rules/attribution.py
    responsible_for) and marked matched_offline, so the daily-totals triggers
    fire once. `lookups` (hostd/rules/attribution.py Lookups) caches the registry, staff and
    duty rows within the writer's transaction."""
    conn = db.conn
    session_id, bound, window, session, candidates = binding.bind_device(
        db, rating, hall, received_at, lookups=lookups
    )
    staff_id = unit_id = item_code = None
    if session is not None:
        staff_id, unit_id, item_code, session_window = session
        window = window or session_window
    staff_id, unit_id = responsible_for(
        db, hall, window, rating["staff"], received_at, staff_id, unit_id, lookups
    )
    level = rating["level"]
    try:
        rating_id = conn.execute(
            _INSERT_SQL,
            (
                rating["device"],
                rating["seq"],
                hall,
                window,
                session_id,
                bound,
                level,
                "[" + ",".join(str(code) for code in rating["reasons"]) + "]",
                rating["cases"],
                rating["staff"],
                rating["time"],
                int(rating["synced"]),
                received_at,
                wire,
                staff_id,
                unit_id,
                item_code,
                int(bound == "session" and rating["session"] is None),
            ),
        ).lastrowid
    except sqlite3.IntegrityError:
        # The failed statement undid itself. (device_id, seq) is taken: a
        # resend or a replay. (Checked after, not before: new rows are the
        # common case, and this saves them a statement.)
        row = conn.execute(_SEEN_SQL, (rating["device"], rating["seq"])).fetchone()
        if row is None:
            raise
        return DUPLICATE if bytes(row[0]) == wire else REPLAYED
    if bound == "session":
        binding.close_session(db, session_id, rating_id, received_at, mark_matched=False)
    elif candidates:
        offline.hold(db, rating_id, hall, window, candidates, received_at)  # 待确认的离线评价
    pipeline.rating_recorded(
        db,
        rating_id,
        pipeline.Recorded(
            level, bound, session_id, session is not None, hall, window, received_at, staff_id, unit_id
        ),
    )
    if after_store is not None:
        after_store(db, rating, hall)
    return STORED


def upsert_status(db, status, hall, now):
    if status["state"] == messages.OFFLINE:
        # The last will was built when the device connected: its numbers are
        # stale, so only the state changes.
        return set_offline(db, status["device"], now, hall)
    boots = status.get("boots")  # None from firmware before reset causes
    cause = None if boots is None else messages.RESET_CAUSES.get(status["reset"], "other")
    if boots is not None:
        before = db.conn.execute(
            "SELECT boots FROM device_status WHERE device_id = ?", (status["device"],)
        ).fetchone()
        if before is None or before[0] != boots:  # a new boot: a reboot to count
            db.conn.execute(
                "INSERT INTO device_reboots (device_id, at, cause, boots) VALUES (?, ?, ?, ?)",
                (status["device"], now, cause, boots),
            )
            db.conn.execute(
                "DELETE FROM device_reboots WHERE device_id = ? AND at < ?",
                (status["device"], now - 7 * 86400),
            )
    db.conn.execute(
        "INSERT INTO device_status (device_id, hall, state, last_seen, firmware,"
        " outbox_depth, free_heap, clock_synced, uptime, next_seq, reset_cause, boots)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (device_id) DO UPDATE SET hall = excluded.hall,"
        " state = excluded.state, last_seen = excluded.last_seen,"
        " firmware = excluded.firmware, outbox_depth = excluded.outbox_depth,"
        " free_heap = excluded.free_heap, clock_synced = excluded.clock_synced,"
        " uptime = excluded.uptime, next_seq = excluded.next_seq,"
        " reset_cause = excluded.reset_cause, boots = excluded.boots",
        (
            status["device"],
            hall,
            status["state"],
            now,
            status["fw"],
            status["outbox"],
            status["heap"],
            int(status["synced"]),
            status["uptime"],
            status["next_seq"],
            cause,
            boots,
        ),
    )
    return status["state"]


def set_offline(db, device_id, now, hall=""):
    db.conn.execute(
        "INSERT INTO device_status (device_id, hall, state, last_seen, offline_at)"
        " VALUES (?, ?, 'offline', ?, ?)"
        " ON CONFLICT (device_id) DO UPDATE SET state = 'offline', offline_at = excluded.offline_at",
        (device_id, hall, now, now),
    )
    return messages.OFFLINE
