"""办不成事 (000 二(六)): a problem a citizen or business could not get solved,
followed like a work order until the unit responsible solves it or explains
why it cannot be solved (兜底说明).

A report (the problem, the unit, perhaps the matter, a contact given with
consent) is registered at the 办不成事 window (the /unresolved page), by the
business system (POST /api/v1/unresolved) or on the CLI. States:

  new (待受理) -> accepted (办理中) -> resolved (已解决)
                                   -> explained (已兜底说明: cannot be solved)

Its deadlines are its own (hostd.toml [unresolved]): the unit takes it up
within accept_within and finishes it within resolve_within. The alerts
(hostd/alerts/conditions.py) carry 实时通知 (a new report), 督促整改 (a
deadline within remind_hours) and 超期预警 (a deadline missed) to the hall's
webhook; the display publishes the quarter's counts (晾晒). Every change is
an unresolved_events row.
"""

from hostd.base import clock, steps, text
from hostd.base.errors import UserError
from hostd.rules import deadlines

STATES = ("new", "accepted", "resolved", "explained")
STATE_LABELS = {"new": "待受理", "accepted": "办理中", "resolved": "已解决", "explained": "已兜底说明"}
OPEN_STATES = ("new", "accepted")
NEXT = {"new": ("accepted", "explained"), "accepted": ("resolved", "explained")}
SOURCES = {"window": "办不成事窗口", "api": "业务系统", "cli": "命令行"}
MAX_PROBLEM = 1000
MAX_OUTCOME = 1000
DAY = 86400


class UnresolvedError(UserError):
    exit_code = 2


class NotFound(UserError):
    pass


def _now(now):
    return int(clock.now()) if now is None else int(now)


def _clean(value, field, max_len, free=False):
    try:
        value = (text.free if free else text.name)(value or "", field, max_len)
    except ValueError as exc:
        raise UnresolvedError(str(exc)) from None
    if not value:
        raise UnresolvedError("%s 不能为空 / %s is empty" % (field, field))
    return value


def due_dates(config, reported_at):
    section = (config or {}).get("unresolved") or {}
    accept = steps.parse(section.get("accept_within", "1 working_days"))
    resolve = steps.parse(section.get("resolve_within", "10 working_days"))
    return deadlines.add(reported_at, accept, config), deadlines.add(reported_at, resolve, config)


def register(db, config, report, actor, source, now=None):
    """Register a report {"hall", "unit_id", "problem", "item_name"?,
    "contact_name"?, "contact_mobile"?, "consent"?}; return it as get() does."""
    now = _now(now)
    if source not in SOURCES:
        raise UnresolvedError("unknown source %r" % source)
    if not actor:
        raise UnresolvedError("登记须注明登记人 / a report needs who registered it")
    problem = _clean(report.get("problem"), "反映问题 / problem", MAX_PROBLEM, free=True)
    unit_id = str(report.get("unit_id") or "").strip()
    if not db.conn.execute("SELECT 1 FROM units WHERE unit_id = ?", (unit_id,)).fetchone():
        raise UnresolvedError(
            "没有单位 %r，请选择责任单位 / no unit %r: see `hostd unit list`" % (unit_id, unit_id)
        )
    item = report.get("item_name")
    item = _clean(item, "事项 / item", 100) if item and str(item).strip() else None
    name, mobile = report.get("contact_name"), report.get("contact_mobile")
    name = _clean(name, "联系人 / contact name", 32) if name and str(name).strip() else None
    if mobile and str(mobile).strip():
        try:
            mobile = text.mobile(mobile)
        except ValueError as exc:
            raise UnresolvedError(str(exc)) from None
    else:
        mobile = None
    if (name or mobile) and not report.get("consent"):
        raise UnresolvedError(
            "联系方式须经本人同意才能留存 / a contact is kept only with the citizen's consent"
        )
    accept_due, resolve_due = due_dates(config, now)
    report_id = db.conn.execute(
        "INSERT INTO unresolved_reports (hall, unit_id, item_name, problem, contact_name,"
        " contact_mobile, source, reported_by, reported_at, accept_due, resolve_due)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (report["hall"], unit_id, item, problem, name, mobile, source, actor, now, accept_due, resolve_due),
    ).lastrowid
    _event(db, report_id, now, actor, None, "new", "登记（%s）" % SOURCES[source])
    return get(db, report_id, now=now)


def _event(db, report_id, at, actor, from_state, to_state, note):
    db.conn.execute(
        "INSERT INTO unresolved_events (report_id, at, actor, from_state, to_state, note)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (report_id, at, actor, from_state, to_state, note),
    )


def move(db, report_id, to_state, actor, note=None, now=None):
    """accepted (受理, note optional), resolved or explained (the outcome as
    `note`, required); return the report."""
    now = _now(now)
    if not actor:
        raise UnresolvedError("每次变更须注明操作人 / every change needs an actor")
    current = get(db, report_id, now=now)["state"]
    if to_state not in NEXT.get(current, ()):
        raise UnresolvedError(
            "办不成事 #%s 当前为%s，不能改为%s / report %s is %s; next: %s"
            % (
                report_id,
                STATE_LABELS[current],
                STATE_LABELS.get(to_state, to_state),
                report_id,
                current,
                ", ".join(NEXT.get(current, ())) or "none (finished)",
            )
        )
    note = _clean(note, "办理情况 / outcome", MAX_OUTCOME, free=True) if note and str(note).strip() else None
    if to_state in ("resolved", "explained") and not note:
        raise UnresolvedError(
            "请填写%s / give the outcome"
            % ("解决情况" if to_state == "resolved" else "无法解决的原因和兜底说明")
        )
    if to_state == "accepted":
        db.conn.execute(
            "UPDATE unresolved_reports SET state = 'accepted', accepted_at = ? WHERE report_id = ?",
            (now, report_id),
        )
    else:
        db.conn.execute(
            "UPDATE unresolved_reports SET state = ?, finished_at = ?, outcome = ?,"
            " accepted_at = COALESCE(accepted_at, ?) WHERE report_id = ?",
            (to_state, now, note, now, report_id),
        )
    _event(db, report_id, now, actor, current, to_state, note)
    return get(db, report_id, now=now)


def overdue(report, now):
    """None, "accept" or "resolve": which deadline an open report has missed."""
    if report["state"] not in OPEN_STATES:
        return None
    if now > report["resolve_due"]:
        return "resolve"
    if report["accepted_at"] is None and now > report["accept_due"]:
        return "accept"
    return None


_SELECT = (
    "SELECT r.*, u.name AS unit_name FROM unresolved_reports r LEFT JOIN units u ON u.unit_id = r.unit_id"
)


def _dress(row, now):
    report = dict(row)
    report["state_label"] = STATE_LABELS[report["state"]]
    report["source_label"] = SOURCES[report["source"]]
    report["overdue"] = overdue(report, now)
    report["on_time"] = report["finished_at"] is not None and report["finished_at"] <= report["resolve_due"]
    return report


def get(db, report_id, now=None):
    now = _now(now)
    rows = list(db.query(_SELECT + " WHERE r.report_id = ?", [report_id]))
    if not rows:
        raise NotFound(
            "没有办不成事反映 #%s / no report %s: see `hostd unresolved list`" % (report_id, report_id)
        )
    report = _dress(rows[0], now)
    report["events"] = list(
        db.query("SELECT * FROM unresolved_events WHERE report_id = ? ORDER BY at, id", [report_id])
    )
    return report


def list_reports(db, open_only=False, overdue_only=False, unit_id=None, now=None, limit=200):
    """Reports, overdue and open first (earliest deadline first), then finished (newest first)."""
    now = _now(now)
    where, args = [], {"now": now, "unit_id": unit_id, "limit": int(limit)}
    if open_only or overdue_only:
        where.append("r.state IN ('new', 'accepted')")
    if overdue_only:
        where.append("(r.resolve_due < :now OR (r.accepted_at IS NULL AND r.accept_due < :now))")
    if unit_id is not None:
        where.append("r.unit_id = :unit_id")
    sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "")
    sql += (
        " ORDER BY r.state NOT IN ('new', 'accepted'),"
        " CASE WHEN r.state IN ('new', 'accepted') THEN"
        " MIN(r.resolve_due, CASE WHEN r.accepted_at IS NULL THEN r.accept_due ELSE r.resolve_due END)"
        " ELSE -r.finished_at END, r.report_id LIMIT :limit"
    )
    return [_dress(row, now) for row in db.query(sql, args)]


def counts(db, hall, start, end, now=None):
    """The period's reports for publication: reported, resolved, explained,
    open, overdue, finished on time."""
    now = _now(now)
    row = db.execute(
        "SELECT COUNT(*), SUM(state = 'resolved'), SUM(state = 'explained'),"
        " SUM(state IN ('new', 'accepted')), SUM(state IN ('new', 'accepted') AND"
        " (resolve_due < :now OR (accepted_at IS NULL AND accept_due < :now))),"
        " SUM(finished_at IS NOT NULL AND finished_at <= resolve_due)"
        " FROM unresolved_reports WHERE hall = :hall AND reported_at >= :start AND reported_at < :end",
        {"hall": hall, "start": start, "end": end, "now": now},
    ).fetchone()
    names = ("reported", "resolved", "explained", "open", "overdue", "on_time")
    return dict(zip(names, [int(x or 0) for x in row]))


def purge_contacts(db, days, now):
    """Clear the contact of reports finished more than `days` days before `now`; how many."""
    return db.conn.execute(
        "UPDATE unresolved_reports SET contact_name = NULL, contact_mobile = NULL, contact_purged_at = ?"
        " WHERE (contact_name IS NOT NULL OR contact_mobile IS NOT NULL) AND finished_at < ?",
        (int(now), int(now) - days * DAY),
    ).rowcount
