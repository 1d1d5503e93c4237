"""Sessions beyond one item at one visit: 一件事 themes, 帮办代办 and 办结 (003 第十三条).

  一件事 / 主题式  several items, each with its code, name and cases, under a
                   theme (the session's own item code and name); one rating
                   applies to every case, and goes upstream once per case,
                   under the case's own item (hostd/upstream/records.py)
  帮办代办         a session marked with the agent's id: whoever rates first,
                   the agent at the device or the applicant through the link
                   or SMS, closes it (one service, one rating); the later
                   attempt is told who rated, on its own channel
  办结             the final rating of a matter served over several visits:
                   a session of its own for the case at its next visit
                   number (upstream serviceNumber), rated by any channel

theme_cases() checks the items of a themed session; finished() is 办结.
"""

from hostd.base import text
from hostd.rules import staff
from hostd.rules.staff import BadField, UnknownSession

MAX_ITEMS = 30
PURPOSES = ("service", "finished")
MAX_AGENT_ID = 64


class UnknownCase(UnknownSession):
    code = "unknown_case"


def display_name(session):
    """What the device and the pages call a session: its item, or its theme and item count."""
    count = session.get("theme_items")
    return "%s（一件事·%d项）" % (session["item_name"], count) if count else session["item_name"]


def agent(agent_id):
    """A 帮办代办 session's agent id checked, or None."""
    if agent_id is None:
        return None
    if not isinstance(agent_id, str) or not agent_id.strip() or len(agent_id) > MAX_AGENT_ID:
        raise BadField("代办人编号无效 / bad agent_id %r: 1-%d characters" % (agent_id, MAX_AGENT_ID))
    try:
        return text.name(agent_id.strip(), "代办人编号 agent_id", MAX_AGENT_ID)
    except ValueError as exc:
        raise BadField(str(exc))


def theme_items(items, name_of, cases_of):
    """The items of a themed session checked: [(item_code, item_name, [(case_id, visit)])].

    `name_of(value, field, max_len)` checks a name; `cases_of(cases)`
    normalises one item's cases (both from hostd/rules/sessions.py)."""
    if not isinstance(items, (list, tuple)) or not 2 <= len(items) <= MAX_ITEMS:
        raise BadField("一件事须包含 2-%d 个事项 / a theme links 2-%d items" % (MAX_ITEMS, MAX_ITEMS))
    out, codes, seen = [], set(), set()
    for item in items:
        code, name, cases = item.get("item_code"), item.get("item_name"), item.get("cases") or ()
        if not isinstance(code, str) or not code.strip() or len(code) > 64:
            raise BadField("事项编码无效 / bad item code %r: 1-64 characters" % (code,))
        if not isinstance(name, str) or not name.split():
            raise BadField("事项名称不能为空 / an item of the theme has no name")
        code = name_of(code.strip(), "事项编码 item_code", 64)
        if code in codes:
            raise BadField("一件事中事项 %s 重复 / item %s is listed twice" % (code, code))
        codes.add(code)
        case_list = cases_of(cases)
        for key in case_list:
            if key in seen:
                raise BadField("办件重复 / case %s visit %d is listed twice" % key)
            seen.add(key)
        out.append((code, name_of(name, "事项名称 item_name", 200), case_list))
    return out


def finished_case(db, hall, case_id):
    """(the case's latest session row, its next visit) for 办结; UnknownCase or BadField."""
    row = db.conn.execute(
        "SELECT c.session_id, c.visit, s.window, s.item_code, s.item_name, s.staff_id, s.state,"
        " COALESCE(c.item_code, s.item_code), COALESCE(c.item_name, s.item_name), s.purpose"
        " FROM session_cases c JOIN sessions s ON s.session_id = c.session_id"
        " WHERE c.case_id = ? AND s.hall = ? ORDER BY c.visit DESC LIMIT 1",
        (case_id, hall),
    ).fetchone()
    if row is None:
        raise UnknownCase("没有办件 %s 的服务记录 / no session has case %s" % (case_id, case_id))
    keys = ("session_id", "visit", "window", "theme_code", "theme_name", "staff_id", "state")
    keys += ("item_code", "item_name", "purpose")
    latest = dict(zip(keys, row))
    if latest["state"] == "open":
        raise staff.CaseTaken(
            "办件 %s 第%d次服务的会话 %s 尚未评价，办结评价请在其后发起"
            " / case %s visit %d is still open in %s"
            % (case_id, latest["visit"], latest["session_id"], case_id, latest["visit"], latest["session_id"])
        )
    if latest["purpose"] == "finished" and latest["state"] != "cancelled":
        raise staff.CaseTaken(
            "办件 %s 已有办结评价（会话 %s），每件事只办结一次 / case %s has its final rating in %s"
            % (case_id, latest["session_id"], case_id, latest["session_id"])
        )
    return latest, latest["visit"] + 1
