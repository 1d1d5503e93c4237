"""Staff (工作人员), windows (窗口) and who is on duty where.

A window is known when it has a row in `windows` or a device registered at
it (the row is then made on first use). `windows.staff_id` is who serves
there now; NULL means 暂停服务 (paused). Every on/off change is kept in
`duty_log`. One staff member serves at one window at a time: going on duty
at a window takes them off any other.

Errors are SessionRequestError subclasses: each carries the HTTP status the
API answers with and a one-line reason in Chinese and English.
"""

from hostd.base import text
from hostd.base.errors import UserError


class SessionRequestError(UserError):
    """A bad request from a window business system or an operator."""

    status = 400
    code = "bad_request"


class UnknownWindow(SessionRequestError):
    status = 404
    code = "unknown_window"


class UnknownStaff(SessionRequestError):
    status = 404
    code = "unknown_staff"


class EmptyItemName(SessionRequestError):
    status = 422
    code = "empty_item_name"


class BadField(SessionRequestError):
    status = 422
    code = "bad_field"


class CaseTaken(SessionRequestError):
    status = 409
    code = "case_already_rated_or_open"


class StaffExists(SessionRequestError):
    status = 409
    code = "staff_exists"


class UnknownUnit(SessionRequestError):
    status = 404
    code = "unknown_unit"


class UnknownSession(SessionRequestError):
    status = 404
    code = "unknown_session"


class SessionClosed(SessionRequestError):
    status = 409
    code = "session_not_open"


def _text(value, what, limit=64):
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise BadField("%s 无效 / bad %s %r: give 1-%d characters" % (what, what, value, limit))
    try:
        return text.name(value, what, limit)  # NFC; no control, bidi or zero-width characters
    except ValueError as exc:
        raise BadField(str(exc))


# -- units and staff ----------------------------------------------------------


def add_unit(db, unit_id, name, dept_code="", area_code=""):
    db.conn.execute(
        "INSERT OR REPLACE INTO units (unit_id, name, dept_code, area_code) VALUES (?, ?, ?, ?)",
        (_text(unit_id, "unit id"), _text(name, "unit name"), dept_code, area_code),
    )


def get_unit(db, unit_id):
    """The unit (单位) as a dict; UnknownUnit, with the command to add it, if there is none."""
    row = db.conn.execute(
        "SELECT unit_id, name, dept_code, area_code FROM units WHERE unit_id = ?", (unit_id,)
    ).fetchone()
    if row is None:
        raise UnknownUnit(
            "未知单位 %s / unknown unit %s: add it first with `hostd unit add %s --name 单位名称`"
            % (unit_id, unit_id, unit_id)
        )
    return dict(zip(("unit_id", "name", "dept_code", "area_code"), row))


def rename_unit(db, unit_id, name):
    get_unit(db, unit_id)
    db.conn.execute("UPDATE units SET name = ? WHERE unit_id = ?", (_text(name, "unit name"), unit_id))
    return get_unit(db, unit_id)


def list_units(db):
    """Units with how many staff (not left) and windows each has."""
    rows = db.conn.execute(
        "SELECT u.unit_id, u.name, u.dept_code, u.area_code,"
        " (SELECT COUNT(*) FROM staff s WHERE s.unit_id = u.unit_id AND s.left_at IS NULL),"
        " (SELECT COUNT(*) FROM windows w WHERE w.unit_id = u.unit_id)"
        " FROM units u ORDER BY u.unit_id"
    ).fetchall()
    return [dict(zip(("unit_id", "name", "dept_code", "area_code", "staff", "windows"), r)) for r in rows]


def add_staff(db, staff_id, name, staff_no, now, unit_id=None):
    """Register a staff member; staff_no (工号) is what the device shows."""
    staff_id = _text(staff_id, "staff id", 32)
    name = _text(name, "staff name", 32)
    staff_no = _text(staff_no, "staff number", 16)
    if not all(c.isascii() and (c.isalnum() or c == "-") for c in staff_no):
        raise BadField(
            "工号只能是字母、数字或 - / staff number %r: use ASCII letters, digits and -" % staff_no
        )
    if find_staff(db, staff_id) is not None:
        raise StaffExists(
            "工作人员 %s 已存在 / staff %s already exists: use `hostd staff list`" % (staff_id, staff_id)
        )
    db.conn.execute(
        "INSERT INTO staff (staff_id, name, staff_no, unit_id, created_at) VALUES (?, ?, ?, ?, ?)",
        (staff_id, name, staff_no, unit_id, int(now)),
    )
    return get_staff(db, staff_id)


def leave(db, hall, staff_id, now, actor=""):
    """A staff member has left (离职): kept for the record, off duty at once,
    never on duty again; returns the windows whose idle screen changed."""
    person = get_staff(db, staff_id)
    if person["left_at"] is not None:
        raise BadField("工作人员 %s 已离职 / staff %s has already left" % (staff_id, staff_id))
    changed = []
    for (window,) in db.conn.execute(
        "SELECT window FROM windows WHERE hall = ? AND staff_id = ?", (hall, staff_id)
    ).fetchall():
        changed += off_duty(db, hall, window, now, actor)
    db.conn.execute("UPDATE staff SET left_at = ? WHERE staff_id = ?", (int(now), staff_id))
    return changed


def find_staff(db, staff_id) -> dict | None:
    """The staff member's row as a dict, or None."""
    row = db.conn.execute(
        "SELECT staff_id, name, staff_no, unit_id, left_at FROM staff WHERE staff_id = ?", (staff_id,)
    ).fetchone()
    if row is None:
        return None
    return dict(zip(("staff_id", "name", "staff_no", "unit_id", "left_at"), row))


def get_staff(db, staff_id) -> dict:
    """The staff member's row as a dict; UnknownStaff if there is none."""
    person = find_staff(db, staff_id)
    if person is None:
        raise UnknownStaff(
            "未知工作人员 %s / unknown staff %s: add with `hostd staff add`" % (staff_id, staff_id)
        )
    return person


def list_staff(db):
    rows = db.conn.execute(
        "SELECT s.staff_id, s.name, s.staff_no, s.unit_id, w.window FROM staff s"
        " LEFT JOIN windows w ON w.staff_id = s.staff_id ORDER BY s.staff_id"
    ).fetchall()
    return [dict(zip(("staff_id", "name", "staff_no", "unit_id", "on_duty_at"), r)) for r in rows]


# -- windows ------------------------------------------------------------------


def add_window(db, hall, window, name="", unit_id=None):
    window = _text(window, "window")
    db.conn.execute(
        "INSERT INTO windows (hall, window, name, unit_id) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (hall, window) DO UPDATE SET name = excluded.name,"
        " unit_id = COALESCE(excluded.unit_id, windows.unit_id)",
        (hall, window, name or "", unit_id),
    )
    return get_window(db, hall, window)


def window_devices(db, hall, window):
    """Ids of the devices (not revoked) at a window, oldest first."""
    return [
        r[0]
        for r in db.conn.execute(
            "SELECT device_id FROM devices WHERE hall = ? AND window = ? AND revoked_at IS NULL"
            " ORDER BY created_at, device_id",
            (hall, window),
        )
    ]


def get_window(db, hall, window, create=False):
    """The window with its staff on duty and devices; UnknownWindow if none.

    create: make the windows row of a window that so far only has a device
    (inside a write transaction)."""
    row = db.conn.execute(
        "SELECT name, unit_id, staff_id, duty_since, qr_generation FROM windows"
        " WHERE hall = ? AND window = ?",
        (hall, window),
    ).fetchone()
    devices = window_devices(db, hall, window)
    if row is None:
        if not devices:
            raise UnknownWindow(
                "未知窗口 %s / unknown window %s: add it with"
                " `hostd window add %s` and register its device" % (window, window, window)
            )
        if create:
            db.conn.execute("INSERT OR IGNORE INTO windows (hall, window) VALUES (?, ?)", (hall, window))
        row = ("", None, None, None, 1)
    name, unit_id, staff_id, since, qr_generation = row
    out = {
        "hall": hall,
        "window": window,
        "name": name,
        "unit_id": unit_id,
        "staff_id": staff_id,
        "duty_since": since,
        "devices": devices,
        "staff_name": None,
        "staff_no": None,
        "serving": staff_id is not None,
        "qr_generation": qr_generation,
    }
    if staff_id is not None:
        person = find_staff(db, staff_id)
        if person is not None:
            out["staff_name"], out["staff_no"] = person["name"], person["staff_no"]
    return out


def list_windows(db, hall):
    names = [
        r[0]
        for r in db.conn.execute(
            "SELECT window FROM windows WHERE hall = ? UNION"
            " SELECT window FROM devices WHERE hall = ? AND revoked_at IS NULL ORDER BY 1",
            (hall, hall),
        )
    ]
    return [get_window(db, hall, w) for w in names]


# -- duty ---------------------------------------------------------------------


def on_duty(db, hall, window, staff_id, now, actor=""):
    """Put a staff member on duty at a window (off any other); return the
    windows whose idle screen changed, as a list of window names."""
    get_window(db, hall, window, create=True)
    person = get_staff(db, staff_id)
    if person["left_at"] is not None:
        raise UnknownStaff("工作人员 %s 已离职 / staff %s has left" % (staff_id, staff_id))
    changed = []
    for (other,) in db.conn.execute(
        "SELECT window FROM windows WHERE hall = ? AND staff_id = ? AND window != ?", (hall, staff_id, window)
    ).fetchall():
        changed += off_duty(db, hall, other, now, actor)
    current = db.conn.execute(
        "SELECT staff_id FROM windows WHERE hall = ? AND window = ?", (hall, window)
    ).fetchone()[0]
    if current == staff_id:
        return changed
    if current is not None:
        _log(db, hall, window, current, "off", now, actor)
    db.conn.execute(
        "UPDATE windows SET staff_id = ?, duty_since = ? WHERE hall = ? AND window = ?",
        (staff_id, int(now), hall, window),
    )
    _log(db, hall, window, staff_id, "on", now, actor)
    return changed + [window]


def off_duty(db, hall, window, now, actor=""):
    """Nobody serves at the window: its devices show 暂停服务."""
    state = get_window(db, hall, window, create=True)
    if state["staff_id"] is None:
        return []
    db.conn.execute(
        "UPDATE windows SET staff_id = NULL, duty_since = ? WHERE hall = ? AND window = ?",
        (int(now), hall, window),
    )
    _log(db, hall, window, state["staff_id"], "off", now, actor)
    return [window]


def _log(db, hall, window, staff_id, action, now, actor):
    db.conn.execute(
        "INSERT INTO duty_log (hall, window, staff_id, action, at, actor) VALUES (?, ?, ?, ?, ?, ?)",
        (hall, window, staff_id, action, int(now), actor),
    )
