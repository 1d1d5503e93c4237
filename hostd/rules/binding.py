"""Which session a rating counts for: one service, one rating (一次一评).

Runs inside the rating's transaction (hostd/recording/device_ratings.py insert_rating).
  - A rating naming a session is bound to it, unless that session already
    has its one rating (from any channel), is closed, or was pushed to
    another device: then it is kept for the record, marked refused.
  - An unsessioned rating (the device could not reach the host, so it rated
    against the last staff it knew) is bound to the session its window was
    showing when the citizen pressed, where that can be told; otherwise it
    is kept as a window-level rating (binding 'window').

Which session, from what the rating carries:
  - clock synced: the device time says when the citizen pressed. The window
    was showing the newest session created at most `screen_seconds` before
    that moment (and not after it, give or take CLOCK_SLACK_S): that one.
  - clock not synced: the device time means nothing. The candidates are the
    sessions created after the device's previous rating reached the host
    (at most a day back) and before this one did. One candidate: that one.
    Several: the rating waits as window-level on the 待确认的离线评价 page
    (hostd/rules/offline.py), and none of the candidates becomes a default
    rating until a supervisor binds it or dismisses it.
  - staff: when the rating names one (the staff id the device last showed),
    the session must be theirs.
Only open, unrated sessions are candidates. A matched rating is marked
`matched_offline = 1` (hostd/db/schema/sessions.py).

Other channels (rate-later page, paper) call bind_channel().
"""

import json

CLOCK_SLACK_S = 5
UNSYNCED_LOOKBACK_S = 86400
DEFAULT_SCREEN_S = 120


def device_window(db, device_id, lookups=None):
    """The window a device is registered at; `lookups` (hostd.reporting.stats.Lookups)
    caches it within one write transaction."""
    cache = lookups.device_window if lookups is not None else None
    if cache is not None and device_id in cache:
        return cache[device_id]
    row = db.conn.execute("SELECT window FROM devices WHERE device_id = ?", (device_id,)).fetchone()
    window = row[0] if row else None
    if cache is not None:
        cache[device_id] = window
    return window


def _taken(db, session_id):
    return (
        db.conn.execute(
            "SELECT 1 FROM ratings WHERE session_id = ? AND binding = 'session'", (session_id,)
        ).fetchone()
        is not None
    )


def bind(db, rating, hall, received_at, screen_seconds=None):
    """Return (session_id, binding, window) for a new device rating."""
    return bind_device(db, rating, hall, received_at, screen_seconds)[:3]


NO_CANDIDATES = ()


# The named session's row (NULLs when this host has none) and whether a
# rating already closed it, in one statement.
_SESSION_SQL = (
    "SELECT s.state, s.device_id, s.staff_id, s.unit_id, s.item_code, s.window,"
    " EXISTS (SELECT 1 FROM ratings WHERE session_id = q.id AND binding = 'session')"
    " FROM (SELECT ? AS id) q LEFT JOIN sessions s ON s.session_id = q.id"
)


def bind_device(db, rating, hall, received_at, screen_seconds=None, lookups=None):
    """(session_id, binding, window, session, candidates) for a new device
    rating, where `session` is the (staff_id, unit_id, item_code, window) of
    the session it names or was matched to (refused or not), or None (no
    session, or one this host has no row of), and `candidates` the sessions
    an offline rating could not choose between (hostd/rules/offline.py)."""
    device = rating["device"]
    window = device_window(db, device, lookups)
    session = rating["session"]
    if session is None:
        found = match_offline(db, rating, hall, window, received_at, screen_seconds)
        if len(found) != 1:
            return None, "window", window, None, tuple(found) if len(found) > 1 else NO_CANDIDATES
        session = found[0]
    state, owner, staff_id, unit_id, item_code, session_window, taken = db.conn.execute(
        _SESSION_SQL, (session,)
    ).fetchone()
    parts = (staff_id, unit_id, item_code, session_window) if state is not None else None
    if taken or (state is not None and (state != "open" or (owner is not None and owner != device))):
        return session, "refused", window, parts, NO_CANDIDATES
    return session, "session", window, parts, NO_CANDIDATES


def bind_channel(db, session_id):
    """'session' if a rating from another channel may close `session_id`, else 'refused'."""
    row = db.conn.execute("SELECT state FROM sessions WHERE session_id = ?", (session_id,)).fetchone()
    if row is None or row[0] != "open" or _taken(db, session_id):
        return "refused"
    return "session"


def match_offline(db, rating, hall, window, received_at, screen_seconds=None):
    """The open sessions `window` may have been showing when an offline
    rating was pressed: [the one] when it can be told, several candidates
    when it cannot (clock not synced), or []."""
    if window is None:
        return []
    screen = screen_seconds or _screen_seconds(db) or DEFAULT_SCREEN_S
    sql = (
        "SELECT session_id FROM sessions WHERE hall = ? AND window = ? AND state = 'open'"
        " AND created_at BETWEEN ? AND ?"
    )
    if rating["synced"]:
        low, high = rating["time"] - screen - CLOCK_SLACK_S, rating["time"] + CLOCK_SLACK_S
    else:
        prev = db.conn.execute(
            "SELECT MAX(received_at) FROM ratings WHERE device_id = ?", (rating["device"],)
        ).fetchone()[0]
        low = max(prev or 0, received_at - UNSYNCED_LOOKBACK_S)
        high = received_at
    args = [hall, window, int(low), int(min(high, received_at))]
    if rating["staff"] is not None:
        sql += " AND staff_id = ?"
        args.append(rating["staff"])
    sql += (
        " AND NOT EXISTS (SELECT 1 FROM ratings r WHERE r.session_id = sessions.session_id"
        " AND r.binding = 'session') ORDER BY created_at DESC, rowid DESC LIMIT 50"
    )
    found = [r[0] for r in db.conn.execute(sql, args)]
    if rating["synced"]:
        return found[:1]  # the newest: the one on the screen at that moment
    return found


def _screen_seconds(db):
    # The binding runs in the store's writer without the config at hand;
    # sessions record their own screen time, so use the newest one's.
    row = db.conn.execute(
        "SELECT screen_until - created_at FROM sessions ORDER BY created_at DESC LIMIT 1"
    ).fetchone()
    return row[0] if row else None


def close_session(db, session_id, rating_id, now, mark_matched=True):
    """Mark the session rated by `rating_id`; False if it was not open.
    `mark_matched`: also set ratings.matched_offline when the rating named
    no session (False: the caller inserted the rating with it set)."""
    closed = (
        db.conn.execute(
            "UPDATE sessions SET state = 'rated', rating_id = ?, closed_at = ?"
            " WHERE session_id = ? AND state = 'open'",
            (rating_id, now, session_id),
        ).rowcount
        == 1
    )
    if closed and mark_matched and _named_no_session(db, rating_id):
        db.conn.execute("UPDATE ratings SET matched_offline = 1 WHERE id = ?", (rating_id,))
    return closed


def _named_no_session(db, rating_id):
    row = db.conn.execute(
        "SELECT wire FROM ratings WHERE id = ? AND channel = 'device'", (rating_id,)
    ).fetchone()
    if row is None or row[0] is None:
        return False
    try:
        return json.loads(bytes(row[0]))[4] is None  # field 4 of R: the session id
    except (ValueError, IndexError):
        return False


def serving_session(db, hall, window, at, within_s):
    """The session a window was serving at `at`, for a rating through its
    standing QR code: the newest open, unrated session there created at most
    `within_s` before `at` (and not after it, give or take CLOCK_SLACK_S), or
    None: then the rating is window-level."""
    row = db.conn.execute(
        "SELECT session_id FROM sessions WHERE hall = ? AND window = ? AND state = 'open'"
        " AND rating_id IS NULL AND created_at BETWEEN ? AND ? ORDER BY created_at DESC LIMIT 1",
        (hall, window, int(at) - int(within_s), int(at) + CLOCK_SLACK_S),
    ).fetchone()
    return row[0] if row else None
