"""谁办理谁负责: which staff member and unit a rating is attributed to.

A rating counts for the staff member who handled the service: its
session's staff when it has a session; for a window-level rating, the staff
it names, else the staff on duty at its window when it was given. The
write path attributes a device rating before its INSERT (hostd/db/store.py via
`responsible_for`, with a `Lookups` cache for the batch); other channels
attribute the inserted row (`attribute`).
"""


class Lookups:
    """Rows that attribution reads, cached for one write transaction.

    The store's writer holds the write lock (BEGIN IMMEDIATE) for a whole
    batch, so no other connection changes these tables meanwhile; the writer
    clears its batch cache at each batch and after any op not marked
    `keeps_cache` (hostd/db/store.py), since such an op may change devices,
    staff, windows or duty_log. A rating insert changes none of them."""

    def __init__(self):
        self.device_window = {}  # device_id -> window or None
        self.named = {}  # named staff (id or number) -> staff_id or None
        self.staff_unit = {}  # staff_id -> unit_id or None
        self.window_row = {}  # (hall, window) -> (staff_id, duty_since, unit_id) or None
        self.last_duty = {}  # (hall, window) -> (at, staff_id, action) or None

    @classmethod
    def within(cls, cache):
        """The Lookups of a store batch (Store.batch_cache), made on first use."""
        found = cache.get("attribution")
        if found is None:
            found = cache["attribution"] = cls()
        return found

    def clear(self):
        self.device_window.clear()
        self.named.clear()
        self.staff_unit.clear()
        self.window_row.clear()
        self.last_duty.clear()


def _cached(cache, key, load):
    if cache is None:
        return load()
    try:
        return cache[key]
    except KeyError:
        value = cache[key] = load()
        return value


def responsible_for(db, hall, window, named, at, staff_id=None, unit_id=None, lookups=None):
    """(staff_id, unit_id) of a rating: 谁办理谁负责 = the session's staff
    (`staff_id`, `unit_id` from its session, when it has one); for a
    window-level rating the staff it names, else the staff on duty at its
    window at `at`. `lookups`: a Lookups cache, or None to read every time."""
    conn = db.conn
    if staff_id is None and named:
        staff_id = _cached(
            lookups and lookups.named,
            named,
            lambda: _first(
                conn.execute(
                    "SELECT staff_id FROM staff WHERE staff_id = ? UNION ALL"
                    " SELECT staff_id FROM staff WHERE staff_no = ? AND staff_id != ? LIMIT 1",
                    (named, named, named),
                ).fetchone()
            ),
        )
    if staff_id is None and window is not None:
        duty = _duty_at(conn, hall, window, at, lookups)
        if duty is not None:
            staff_id = duty[0] if duty[1] == "on" else None
        else:
            now_on = _window_row(conn, hall, window, lookups)
            staff_id = now_on[0] if now_on and (now_on[1] is None or now_on[1] <= at) else None
    if unit_id is None and staff_id is not None:
        unit_id = _cached(
            lookups and lookups.staff_unit,
            staff_id,
            lambda: _first(
                conn.execute("SELECT unit_id FROM staff WHERE staff_id = ?", (staff_id,)).fetchone()
            ),
        )
    if unit_id is None and window is not None:
        row = _window_row(conn, hall, window, lookups)
        unit_id = row[2] if row else None
    return staff_id, unit_id


def _duty_at(conn, hall, window, at, lookups):
    """(staff_id, action) of the newest duty change at the window by `at`, or None."""
    if lookups is not None:
        last = _cached(
            lookups.last_duty,
            (hall, window),
            lambda: conn.execute(
                "SELECT at, staff_id, action FROM duty_log WHERE hall = ? AND window = ?"
                " ORDER BY at DESC, id DESC LIMIT 1",
                (hall, window),
            ).fetchone(),
        )
        if last is None or last[0] <= at:  # the newest change is the one in force at `at`
            return last[1:] if last is not None else None
    return conn.execute(
        "SELECT staff_id, action FROM duty_log WHERE hall = ? AND window = ? AND at <= ?"
        " ORDER BY at DESC, id DESC LIMIT 1",
        (hall, window, at),
    ).fetchone()


def _first(row):
    return row[0] if row else None


def _window_row(conn, hall, window, lookups):
    return _cached(
        lookups and lookups.window_row,
        (hall, window),
        lambda: conn.execute(
            "SELECT staff_id, duty_since, unit_id FROM windows WHERE hall = ? AND window = ?", (hall, window)
        ).fetchone(),
    )


def attribute(db, rating_id):
    """Fill ratings.staff_id, unit_id, item_code (and window) of one rating
    already inserted (see responsible_for). Returns {staff_id, unit_id}.
    hostd/db/store.py's device ratings are inserted attributed instead."""
    conn = db.conn
    row = conn.execute(
        "SELECT r.hall, r.window, r.staff, r.received_at, s.staff_id, s.unit_id, s.item_code,"
        " s.window FROM ratings r LEFT JOIN sessions s ON s.session_id = r.session_id"
        " WHERE r.id = ?",
        (rating_id,),
    ).fetchone()
    if row is None:
        return {"staff_id": None, "unit_id": None}
    hall, window, named, at, staff_id, unit_id, item_code, session_window = row
    window = window or session_window
    staff_id, unit_id = responsible_for(db, hall, window, named, at, staff_id, unit_id)
    conn.execute(
        "UPDATE ratings SET staff_id = ?, unit_id = ?, item_code = ?, window = ? WHERE id = ?",
        (staff_id, unit_id, item_code, window, rating_id),
    )
    return {"staff_id": staff_id, "unit_id": unit_id}
