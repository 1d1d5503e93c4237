"""书面评价: a paper rating form, entered by a staff member.

A hall hands out paper forms where there is no device, or to a citizen who
prefers one. A staff member types the form in (the /paper page, `hostd rating
paper`, POST /api/v1/paper) with its serial number and, optionally, a scan:

  - the form names the session, or a case (办件编号) whose latest visit's
    session it rates;
  - one service, one rating: a session already rated, by any channel, refuses
    it, naming the channel; a serial number already entered refuses it too;
  - the rating goes upstream with the 书面 channel code
    (hostd/upstream/records.py), like any other;
  - paper_forms records who entered it and when (the audit), and the scan
    (hostd/files/uploads.py: checked by content, stored by SHA-256).

enter() checks the scan first, then stores the rating, the scan and the
form's row in one transaction: a refused form leaves nothing behind.
"""

from hostd.base import text
from hostd.files import uploads
from hostd.recording import channels
from hostd.recording import evaluator as evaluators

MAX_SERIAL = 40


class PaperError(channels.ChannelError):
    """A paper form that cannot be entered as it is: str() says why."""


class SerialTaken(PaperError):
    """This form's serial number was entered before."""


def clean_serial(serial):
    try:
        serial = text.name(str(serial or "").strip(), "表单编号 serial", max_len=MAX_SERIAL)
    except ValueError as exc:
        raise PaperError(str(exc))
    if not serial:
        raise PaperError("请填写书面评价表的编号 / the form's serial number is missing")
    return serial


def session_of(db, hall, session_id=None, case_id=None):
    """The session a form rates: given, or the one serving the case's latest visit."""
    if bool(session_id) == bool(case_id):
        raise PaperError("请填写会话编号或办件编号（二选一） / give a session id or a case id, not both")
    if case_id:
        row = db.conn.execute(
            "SELECT c.session_id FROM session_cases c JOIN sessions s ON s.session_id = c.session_id"
            " WHERE c.case_id = ? AND s.hall = ? ORDER BY c.visit DESC LIMIT 1",
            (case_id, hall),
        ).fetchone()
        if row is None:
            raise channels.SessionNotFound(
                "没有办件 %s 的服务记录 / no session serves case %s" % (case_id, case_id)
            )
        return row[0]
    row = db.conn.execute("SELECT hall FROM sessions WHERE session_id = ?", (session_id,)).fetchone()
    if row is None or row[0] != hall:
        raise channels.SessionNotFound("没有会话 %s / no session %s" % (session_id, session_id))
    return session_id


def record(db, hall, form, entered_by, now, scan=None):
    """Record one paper form inside the caller's transaction; {rating_id, session_id, serial}.

    `form`: {session_id | case_id, level, reasons, comment, serial, evaluator}
    with the evaluator already checked (hostd.recording.evaluator.clean)."""
    serial = clean_serial(form.get("serial"))
    taken = db.conn.execute(
        "SELECT rating_id FROM paper_forms WHERE hall = ? AND serial = ?", (hall, serial)
    ).fetchone()
    if taken is not None:
        raise SerialTaken(
            "书面评价表 %s 已录入过（评价 #%d），同一张表不能录入两次"
            " / form %s was already entered (rating %d)" % (serial, taken[0], serial, taken[0])
        )
    session_id = session_of(db, hall, form.get("session_id"), form.get("case_id"))
    own = form.get("entered_by_staff")  # a staff member entering it: never for their own service
    if (
        own
        and db.conn.execute("SELECT staff_id FROM sessions WHERE session_id = ?", (session_id,)).fetchone()[0]
        == own
    ):
        raise PaperError(
            "不能录入对本人服务的书面评价，请交其他工作人员或监督考核人员录入"
            " / a staff member may not enter a paper rating of their own service"
        )
    rating_id = channels.record_rating(
        db,
        session_id,
        "paper",
        form.get("level"),
        form.get("reasons") or (),
        form.get("comment"),
        now=now,
        evaluator=form.get("evaluator") or evaluators.NONE,
    )
    if scan is not None:
        uploads.record(db, scan, entered_by, now)
    db.conn.execute(
        "INSERT INTO paper_forms (rating_id, hall, serial, scan, entered_by, entered_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (rating_id, hall, serial, scan.sha256 if scan else None, entered_by, int(now)),
    )
    return {"rating_id": rating_id, "session_id": session_id, "serial": serial}


def enter(ctx, form, entered_by, scan_bytes=None):
    """Check the scan (if any), then record the form on the daemon's Store;
    the record() dict. Raises UploadError or a ChannelError, storing nothing."""
    now = int(ctx.clock.now())
    return enter_with(
        ctx.config, ctx.hall, lambda op: ctx.store.run(op, timeout=30), form, entered_by, scan_bytes, now
    )


def enter_with(config, hall, run, form, entered_by, scan_bytes, now):
    """enter() on any writer: run(op) runs op(db) in one transaction (the CLI
    passes its own connection's)."""
    scan = uploads.prepare(scan_bytes, config["web"]["upload_max_kb"]) if scan_bytes else None
    return run(lambda db: record(db, hall, form, entered_by, now, scan))


def recent(db, hall, limit=50):
    """The latest paper forms entered, newest first."""
    rows = db.conn.execute(
        "SELECT p.rating_id, p.serial, p.scan, p.entered_by, p.entered_at, r.session_id, r.level,"
        " r.window, r.staff, u.kind FROM paper_forms p JOIN ratings r ON r.id = p.rating_id"
        " LEFT JOIN uploads u ON u.sha256 = p.scan WHERE p.hall = ?"
        " ORDER BY p.entered_at DESC, p.rating_id DESC LIMIT ?",
        (hall, limit),
    ).fetchall()
    keys = (
        "rating_id",
        "serial",
        "scan",
        "entered_by",
        "entered_at",
        "session_id",
        "level",
        "window",
        "staff",
        "scan_kind",
    )
    return [dict(zip(keys, row)) for row in rows]
