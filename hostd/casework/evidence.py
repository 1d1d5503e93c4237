"""佐证材料 and 举证: files attached to a work order's steps or to an appeal.

003 第十五条 asks that rectification proof be uploaded and archived; an
appeal brings its evidence. A file is checked and stored by the one upload
module (hostd/files/uploads.py: JPEG, PNG or PDF by content, at most
web.upload_max_kb, once by SHA-256); here it is tied to its order or appeal,
with who added it and when, as a work_order_events row for an order.

Who may add one: the order's or appeal's staff member, and supervisors;
to an order still open, to an appeal still pending. Who may open one:
supervisors (the role that sees evaluator data) and the staff member whose
order or appeal it is;
every opening is logged in evaluator_access (a proof may show the citizen),
so `hostd privacy report` lists it. The quarterly report lists them all.
"""

from hostd.base.errors import UserError
from hostd.files import uploads

MAX_NAME = 120
MAX_NOTE = 200
OPEN_ORDER = ("new", "contacted", "rectifying", "replied")


class EvidenceError(UserError):
    """str(): why, in Chinese and English."""


def _owner(db, order_id=None, appeal_id=None):
    """(staff_id, rating_id, open) of the order or appeal; EvidenceError if none."""
    if order_id is not None:
        row = db.conn.execute(
            "SELECT staff_id, rating_id, state FROM work_orders WHERE order_id = ?", (order_id,)
        ).fetchone()
        if row is None:
            raise EvidenceError("没有工单 %s / no work order %s" % (order_id, order_id))
        return row[0], row[1], row[2] in OPEN_ORDER
    row = db.conn.execute(
        "SELECT staff_id, rating_id, state FROM appeals WHERE appeal_id = ?", (appeal_id,)
    ).fetchone()
    if row is None:
        raise EvidenceError("没有申诉 %s / no appeal %s" % (appeal_id, appeal_id))
    return row[0], row[1], row[2] == "pending"


def clean_name(name):
    """A file's name as shown (never used as a path): no slashes, at most MAX_NAME characters."""
    return (str(name or "").replace("/", "_").replace("\\", "_").strip() or "file")[:MAX_NAME]


def may_add(user, staff_id):
    return user["role"] in ("admin", "supervisor") or (
        user["role"] == "staff" and user["staff_id"] == staff_id
    )


def attach(db, upload, user, name, note=None, order_id=None, appeal_id=None, now=0):
    """Tie a checked upload (uploads.prepare) to an order or an appeal, inside
    the caller's transaction; the attachment id."""
    if (order_id is None) == (appeal_id is None):
        raise EvidenceError("佐证材料须属于一张工单或一次申诉 / give an order or an appeal")
    staff_id, _rating_id, still_open = _owner(db, order_id, appeal_id)
    if not may_add(user, staff_id):
        raise EvidenceError(
            "只有承办人或监督考核人员可以上传 / only its staff member or a supervisor may add evidence"
        )
    if not still_open:
        raise EvidenceError("已办结或已复核，不能再上传 / it is finished: no more evidence")
    name = clean_name(name)
    note = (str(note or "").strip()[:MAX_NOTE]) or None
    uploads.record(db, upload, user["username"], now)
    attachment_id = db.conn.execute(
        "INSERT INTO attachments (sha256, order_id, appeal_id, name, note, added_by, added_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (upload.sha256, order_id, appeal_id, name, note, user["username"], int(now)),
    ).lastrowid
    if order_id is not None:
        state = db.conn.execute("SELECT state FROM work_orders WHERE order_id = ?", (order_id,)).fetchone()[0]
        db.conn.execute(
            "INSERT INTO work_order_events (order_id, at, actor, from_state, to_state, note)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (order_id, int(now), user["username"], state, state, "上传佐证材料：%s" % name),
        )
    return attachment_id


def listed(db, order_id=None, appeal_id=None):
    """The attachments of an order or an appeal, oldest first."""
    column, value = ("order_id", order_id) if order_id is not None else ("appeal_id", appeal_id)
    rows = db.conn.execute(
        "SELECT a.id, a.name, a.note, a.added_by, a.added_at, u.kind, u.bytes, a.sha256"
        " FROM attachments a JOIN uploads u ON u.sha256 = a.sha256 WHERE a.%s = ? ORDER BY a.id" % column,
        (value,),
    ).fetchall()
    keys = ("id", "name", "note", "added_by", "added_at", "kind", "bytes", "sha256")
    return [dict(zip(keys, row)) for row in rows]


def opened(db, user, attachment_id):
    """(bytes, media type, name, rating id) of an attachment `user` may open; EvidenceError
    (not found, or not theirs: the same answer) otherwise. The caller logs the read."""
    row = db.conn.execute(
        "SELECT sha256, order_id, appeal_id, name FROM attachments WHERE id = ?", (attachment_id,)
    ).fetchone()
    if row is None:
        raise EvidenceError("没有这份材料 / no attachment %s" % attachment_id)
    sha256, order_id, appeal_id, name = row
    staff_id, rating_id, _ = _owner(db, order_id, appeal_id)
    if not (user["role"] == "supervisor" or (user["role"] == "staff" and user["staff_id"] == staff_id)):
        raise EvidenceError("没有这份材料 / no attachment %s" % attachment_id)
    found = uploads.read(db, sha256)
    if found is None:
        raise EvidenceError("没有这份材料 / no attachment %s" % attachment_id)
    return found[0], found[1], name, rating_id


def in_period(db, start, end):
    """Attachments added in [start, end), for the quarterly report."""
    rows = db.conn.execute(
        "SELECT a.id, a.order_id, a.appeal_id, a.name, u.kind, u.bytes, a.sha256, a.added_by, a.added_at"
        " FROM attachments a JOIN uploads u ON u.sha256 = a.sha256"
        " WHERE a.added_at >= ? AND a.added_at < ? ORDER BY a.added_at, a.id",
        (int(start), int(end)),
    ).fetchall()
    keys = ("id", "order_id", "appeal_id", "name", "kind", "bytes", "sha256", "added_by", "added_at")
    return [dict(zip(keys, row)) for row in rows]
