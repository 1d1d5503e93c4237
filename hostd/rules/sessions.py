"""Service sessions (服务会话): a finished service to be rated, once.

A window business system (or an operator) reports a finished service:
window, item (事项 code and name), staff, and its case ids (办件编号). Several
case ids make a batch (批量业务): the one rating applies to every case.

    create(db, config, hall, request, now) -> session dict   (in a write op)
    get(db, session_id) -> session dict with its cases and rating
    screen_session(db, device_id, now) -> the session the device should show
    cancel(db, session_id, reason, by, now) -> the session, cancelled (in a write op)

State: open -> rated | defaulted | cancelled (hostd/db/schema/__init__.py m006). A case
(case id + visit) belongs to one session only: a case already rated, or in
an open session, is refused (CaseTaken).
"""

import json
import secrets

from hostd.base import text
from hostd.rules import session_kinds, staff, workdays
from hostd.rules.staff import BadField, CaseTaken, EmptyItemName, SessionClosed, UnknownSession
from hostd.upstream import outbox, records

MAX_CASES = 200
MAX_ITEM_NAME = 200
MAX_CASE_ID = 50  # upstream projectNo

COLUMNS = (
    "session_id",
    "hall",
    "window",
    "device_id",
    "item_code",
    "item_name",
    "staff_id",
    "staff_name",
    "staff_no",
    "unit_id",
    "cases",
    "created_at",
    "screen_until",
    "rate_until",
    "state",
    "rating_id",
    "closed_at",
    "promise_at",
    "task_type",
    "theme_items",
    "agent_id",
    "purpose",
)


def new_session_id():
    return "s" + secrets.token_hex(6)  # short: it travels in every session and rating message


def _name(value, field, max_len):
    """hostd/base/text.py name(), its refusal as BadField."""
    try:
        return text.name(value, field, max_len)
    except ValueError as exc:
        raise BadField(str(exc))


def normalise_cases(cases):
    """[(case_id, visit), ...] from strings or (id, visit) pairs or dicts
    ([] when none: create() then makes one, see project_no)."""
    out = []
    seen = set()
    for case in cases or ():
        if isinstance(case, dict):
            case_id, visit = case.get("case_id"), case.get("visit", 1)
        elif isinstance(case, (tuple, list)):
            case_id, visit = case[0], case[1]
        else:
            case_id, visit = case, 1
        if not isinstance(case_id, str) or not case_id.strip() or len(case_id) > MAX_CASE_ID:
            raise BadField("办件编号无效 / bad case id %r: 1-%d characters" % (case_id, MAX_CASE_ID))
        case_id = _name(case_id, "办件编号 case_id", MAX_CASE_ID)
        if not isinstance(visit, int) or isinstance(visit, bool) or visit < 1:
            raise BadField("服务次数无效 / bad visit %r for case %s: a whole number >= 1" % (visit, case_id))
        key = (case_id.strip(), visit)
        if key in seen:
            raise BadField("办件重复 / case %s visit %d is listed twice" % key)
        seen.add(key)
        out.append(key)
    if len(out) > MAX_CASES:
        raise BadField("一次最多 %d 件 / at most %d cases in one batch" % (MAX_CASES, MAX_CASES))
    return out


def project_no(db, config, hall, now):
    """The projectNo of a session that came without a case id, by the rule
    upstream.project_no_prefix (default: the hall id) + yyyyMMdd (Beijing
    date) + a 6-digit sequence of that day, e.g. hall-0120261121000001.
    Never the session id: upstream, a projectNo is a case number."""
    return project_nos(db, config, hall, now, 1)[0]


def project_nos(db, config, hall, now, count):
    """`count` projectNos in a row (project_no), for a theme's items without case ids."""
    prefix = config.get("upstream", {}).get("project_no_prefix") or hall
    head = prefix + records.format_time(now)[:10].replace("-", "")
    row = db.conn.execute(
        "SELECT MAX(case_id) FROM session_cases WHERE case_id BETWEEN ? AND ? AND generated = 1",
        (head + "000000", head + "999999"),
    ).fetchone()
    last = int(row[0][-6:]) if row[0] and row[0][-6:].isdigit() else 0
    return ["%s%06d" % (head, last + n) for n in range(1, count + 1)]


def check_cases_free(db, cases):
    for case_id, visit in cases:
        row = db.conn.execute(
            "SELECT s.session_id, s.state FROM session_cases c JOIN sessions s"
            " ON s.session_id = c.session_id WHERE c.case_id = ? AND c.visit = ?",
            (case_id, visit),
        ).fetchone()
        if row is not None and row[1] != "cancelled":
            what = "已在进行中的会话" if row[1] == "open" else "已评价"
            raise CaseTaken(
                "办件 %s 第%d次服务%s (%s) / case %s visit %d is already %s in session %s"
                % (
                    case_id,
                    visit,
                    what,
                    row[0],
                    case_id,
                    visit,
                    "open" if row[1] == "open" else "rated",
                    row[0],
                )
            )


def create(
    db,
    config,
    hall,
    window,
    item_code,
    item_name,
    staff_id=None,
    cases=(),
    now=0,
    session_id=None,
    promise_at=None,
    task_type=None,
    items=None,
    agent_id=None,
    purpose="service",
):
    """Validate and insert a session with its cases; return it as a dict.

    staff_id None: whoever is on duty at the window. promise_at (承诺时限,
    Unix seconds) and task_type (即办件 / 承诺件): only as the business system
    gives them; they go upstream only then. Queues its service records
    upstream (hostd/upstream/outbox.py). items (一件事: [{item_code,
    item_name, cases}], the session's own item being the theme), agent_id
    (帮办代办) and purpose ('finished': 办结): hostd/rules/session_kinds.py.
    """
    agent_id = session_kinds.agent(agent_id)
    if purpose not in session_kinds.PURPOSES:
        raise BadField("purpose %r: one of %s" % (purpose, ", ".join(session_kinds.PURPOSES)))
    if task_type is not None and task_type not in records.TASK_TYPES:
        raise BadField("办件类型无效 / task_type %r: 即办件 or 承诺件" % (task_type,))
    if promise_at is not None and (
        not isinstance(promise_at, int) or isinstance(promise_at, bool) or promise_at < 0
    ):
        raise BadField("承诺时限无效 / promise_at %r: Unix seconds" % (promise_at,))
    if not isinstance(item_name, str) or not item_name.split():
        raise EmptyItemName("事项名称不能为空 / item name is empty: give the service item's name")
    item_name = _name(item_name, "事项名称 item_name", MAX_ITEM_NAME)
    if not isinstance(item_code, str) or not item_code.strip() or len(item_code) > 64:
        raise BadField("事项编码无效 / bad item code %r: 1-64 characters" % (item_code,))
    item_code = _name(item_code, "事项编码 item_code", 64)
    place = staff.get_window(db, hall, window, create=True)
    # A window without a device (a QR-only window, a village service point):
    # the session is rated through its link (rate_url: the receipt, a phone).
    if staff_id is None:
        staff_id = place["staff_id"]
        if staff_id is None:
            raise BadField(
                "窗口 %s 暂停服务 / nobody is on duty at window %s: give staff_id" % (window, window)
            )
    person = staff.get_staff(db, staff_id)
    session_id = session_id or new_session_id()
    now = int(now)
    themed = None
    if items:
        if cases:
            raise BadField(
                "一件事的办件请写在各事项下 / give a theme's cases under its items, not beside them"
            )
        themed = session_kinds.theme_items(items, _name, normalise_cases)
    rows = _case_rows(db, config, hall, now, themed, normalise_cases(cases))
    if len(rows) > MAX_CASES:
        raise BadField("一次最多 %d 件 / at most %d cases in one session" % (MAX_CASES, MAX_CASES))
    check_cases_free(db, [(c, v) for c, v, _, _, _ in rows])
    row = {
        "session_id": session_id,
        "hall": hall,
        "window": window,
        "device_id": place["devices"][0] if place["devices"] else None,
        "item_code": item_code.strip(),
        "item_name": item_name,
        "staff_id": person["staff_id"],
        "staff_name": person["name"],
        "staff_no": person["staff_no"],
        "unit_id": person["unit_id"] or place["unit_id"],
        "cases": len(rows),
        "created_at": now,
        "screen_until": now + config["rating"]["screen_seconds"],
        "rate_until": int(workdays.rating_deadline(config, now)),
        "state": "open",
        "rating_id": None,
        "closed_at": None,
        "promise_at": promise_at,
        "task_type": task_type,
        "theme_items": len(themed) if themed else None,
        "agent_id": agent_id,
        "purpose": purpose,
    }
    db.conn.execute(
        "INSERT INTO sessions (%s) VALUES (%s)" % (", ".join(COLUMNS), ", ".join("?" * len(COLUMNS))),
        [row[c] for c in COLUMNS],
    )
    db.conn.executemany(
        "INSERT INTO session_cases (session_id, case_id, visit, generated, item_code, item_name)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(session_id,) + r for r in rows],
    )
    outbox.enqueue_session(db, session_id)
    row["case_list"] = [_case_out(r) for r in rows]
    return row


def _case_rows(db, config, hall, now, themed, case_list):
    """[(case_id, visit, generated, item_code, item_name)]: the cases given, or
    one numbered by project_no (per item of a theme without case ids)."""
    if not themed:
        if case_list:
            return [(c, v, 0, None, None) for c, v in case_list]
        return [(project_no(db, config, hall, now), 1, 1, None, None)]
    numbers = iter(project_nos(db, config, hall, now, sum(1 for _, _, cases in themed if not cases)))
    rows = []
    for code, name, cases in themed:
        rows += [(c, v, 0, code, name) for c, v in cases] or [(next(numbers), 1, 1, code, name)]
    return rows


def _case_out(row):
    case_id, visit, generated, item_code, item_name = row
    out = {"case_id": case_id, "visit": visit, "generated": bool(generated)}
    if item_code:
        out.update(item_code=item_code, item_name=item_name)
    return out


def get(db, session_id) -> dict:
    """A session with its cases and rating; UnknownSession if there is none."""
    found = find(db, session_id)
    if found is None:
        raise UnknownSession("未知会话 %s / unknown session %s" % (session_id, session_id))
    return found


def find(db, session_id) -> dict | None:
    """A session with its cases and rating, or None."""
    row = db.conn.execute(
        "SELECT %s FROM sessions WHERE session_id = ?" % ", ".join(COLUMNS), (session_id,)
    ).fetchone()
    if row is None:
        return None
    out: dict = dict(zip(COLUMNS, row))
    out["cancel_reason"], out["cancelled_by"], cancelled = db.conn.execute(
        "SELECT cancel_reason, cancelled_by, cancelled_cases FROM sessions WHERE session_id = ?",
        (session_id,),
    ).fetchone()
    out["case_list"] = [
        _case_out(r)
        for r in db.conn.execute(
            "SELECT case_id, visit, generated, item_code, item_name FROM session_cases"
            " WHERE session_id = ? ORDER BY rowid",
            (session_id,),
        )
    ]
    if cancelled:  # its cases, freed when it was cancelled
        out["case_list"] = [{"case_id": c, "visit": v, "generated": g} for c, v, g in json.loads(cancelled)]
    out["rating"] = None
    if out["rating_id"] is not None:
        r = db.conn.execute(
            "SELECT id, channel, level, reasons, received_at FROM ratings WHERE id = ?", (out["rating_id"],)
        ).fetchone()
        if r is not None:
            out["rating"] = dict(zip(("rating_id", "channel", "level", "reasons", "received_at"), r))
    return out


def finished(db, config, hall, case_id, now, window=None, staff_id=None):
    """办结: a session of its own for `case_id` at its next visit number, for the
    final rating of a matter served over several visits; by default at the
    window and under the item of the case's latest visit, served by who is on
    duty there, else by who served that visit. UnknownCase, or CaseTaken
    while that visit's session is still open."""
    latest, visit = session_kinds.finished_case(db, hall, case_id)
    window = window or latest["window"]
    if staff_id is None:
        staff_id = staff.get_window(db, hall, window)["staff_id"] or latest["staff_id"]
    return create(
        db,
        config,
        hall,
        window,
        latest["item_code"],
        latest["item_name"],
        staff_id,
        [(case_id, visit)],
        now,
        purpose="finished",
    )


MAX_CANCEL_REASON = 200
STATE_NAMES = {"open": "待评价", "rated": "已评价", "defaulted": "已默认评价", "cancelled": "已取消"}


def cancel(db, session_id, reason, by, now):
    """Cancel an open session (reported in error, the service not given after
    all): it takes no rating and no default rating, its cases are free for a
    new session, and the device's screen goes back to idle (the push keeper
    sees the state). Its service records not yet tried upstream are withdrawn;
    one already sent stays with the platform (the count is returned as
    "kept_upstream"). Raises UnknownSession, SessionClosed or BadField."""
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_CANCEL_REASON:
        raise BadField("取消原因无效 / give a reason of 1-%d characters" % MAX_CANCEL_REASON)
    reason = _name(reason, "reason", MAX_CANCEL_REASON)
    found = get(db, session_id)
    if found["state"] != "open":
        raise SessionClosed(
            "会话 %s %s，不能取消 / session %s is %s: only an open session can be cancelled"
            % (session_id, STATE_NAMES.get(found["state"], found["state"]), session_id, found["state"])
        )
    cases = [[c["case_id"], c["visit"], c["generated"]] for c in found["case_list"]]
    db.conn.execute(
        "UPDATE sessions SET state = 'cancelled', closed_at = ?, cancel_reason = ?, cancelled_by = ?,"
        " cancelled_cases = ? WHERE session_id = ? AND state = 'open'",
        (int(now), reason, by, json.dumps(cases, ensure_ascii=False), session_id),
    )
    db.conn.execute("DELETE FROM session_cases WHERE session_id = ?", (session_id,))  # free for a new one
    withdrawn = db.conn.execute(
        "DELETE FROM upstream_outbox WHERE kind = 'service' AND ref = ?"
        " AND status = 'pending' AND attempts = 0",
        (session_id,),
    ).rowcount
    out = get(db, session_id)
    out["kept_upstream"] = len(cases) - withdrawn
    return out


def screen_session(db, device_id, now):
    """The open session whose screen time is running on `device_id`, or None."""
    row = db.conn.execute(
        "SELECT session_id FROM sessions WHERE device_id = ? AND state = 'open'"
        " AND screen_until > ? ORDER BY created_at DESC, rowid DESC LIMIT 1",
        (device_id, int(now)),
    ).fetchone()
    return get(db, row[0]) if row else None


def latest_on_device(db, device_id):
    """The newest session pushed to `device_id` (any state), or None."""
    row = db.conn.execute(
        "SELECT session_id FROM sessions WHERE device_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1",
        (device_id,),
    ).fetchone()
    return get(db, row[0]) if row else None
