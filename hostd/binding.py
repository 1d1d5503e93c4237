"""Which session a device rating counts for: one service, one rating.

Runs inside the rating's transaction (hostd/store.py insert_rating).
  - A rating naming a session is bound to it, unless that session already
    has its one rating (from any channel): then it is kept, marked refused.
  - An unsessioned rating (the device could not reach the host) is matched
    to the session its window opened meanwhile, where there is exactly one
    open unrated one; otherwise it is kept as a window-level rating.
"""


def device_window(db, device_id):
    row = db.conn.execute("SELECT window FROM devices WHERE device_id = ?", (device_id,)).fetchone()
    return row[0] if row else None


def bind(db, rating, hall, received_at):
    """Return (session_id, binding, window) for a new device rating."""
    window = device_window(db, rating["device"])
    session = rating["session"]
    if session is None:
        return None, "window", window
    taken = db.conn.execute(
        "SELECT 1 FROM ratings WHERE session_id = ? AND binding = 'session'", (session,)).fetchone()
    if taken:
        return session, "refused", window
    return session, "session", window


def close_session(db, session_id, rating_id, now):
    """Mark the session rated by `rating_id`; False if it was not open."""
    return db.conn.execute(
        "UPDATE sessions SET state = 'rated', rating_id = ?, closed_at = ?"
        " WHERE session_id = ? AND state = 'open'", (rating_id, now, session_id)).rowcount == 1
