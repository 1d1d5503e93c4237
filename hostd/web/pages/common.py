"""What every hall page shares: templates, the menu, time and period helpers.

Local time is China Standard Time (UTC+8), as in hostd/reporting/stats.py.
"""

import calendar
import json
import time
from pathlib import Path
from typing import Annotated

from fastapi import HTTPException, Query
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates

from hostd.base import clock, hall_time
from hostd.reporting import analysis
from hostd.web import auth

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parents[2] / "templates"))
TZ = hall_time.OFFSET  # the hall's time (hostd/base/hall_time.py)
DAY = 86400
LEVEL_NAMES = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
REASON_NAMES = {code: name for code, name in analysis.REASONS.items() if code}  # protocol.messages REASON_*
CHANNEL_NAMES = {"device": "评价器", "qr": "扫码评价", "default": "系统默认", "paper": "书面"}
MAX_ID = 2**63 - 1  # SQLite's integers
# Numbers in page paths and queries, with their ranges: outside them, a 422.
RowId = Annotated[int, PathParam(ge=1, le=MAX_ID)]
QueryId = Annotated[int, Query(ge=0, le=MAX_ID)]
Flag = Annotated[int, Query(ge=0, le=1)]
Level = Annotated[int, Query(ge=0, le=5)]
Days = Annotated[int, Query(ge=1, le=366)]
PageNo = Annotated[int, Query(ge=1, le=100000)]
PAGE_SIZE = 100  # rows of a list page (评价明细, 差评工单)
ALL = ("admin", "supervisor", "staff")
MANAGERS = ("admin", "supervisor")
NAV = (  # (href, label, roles allowed)
    ("/dashboard", "总览", ALL),
    ("/workorders", "差评工单", ALL),
    ("/appeals", "申诉复核", ALL),
    ("/ratings", "评价明细", ALL),
    ("/paper", "书面评价", ALL),
    ("/unresolved", "办不成事", ALL),
    ("/ranking", "季度排名", MANAGERS),
    ("/analysis", "差评分析", MANAGERS),
    ("/spotchecks", "回访抽查", MANAGERS),
    ("/thirdparty", "第三方评价", MANAGERS),
    ("/fraud", "异常线索", ("supervisor",)),
    ("/fleet", "设备", MANAGERS),
    ("/offline", "离线评价", MANAGERS),
    ("/upstream", "上报失败", MANAGERS),
    ("/export", "导出", MANAGERS),
    ("/admin", "管理", ("admin",)),
    ("/display", "大厅公示屏", ALL),
)


def when(ts, fmt="%Y-%m-%d %H:%M"):
    """A Unix time as local (UTC+8) text; '-' for none."""
    if not ts:
        return "-"
    return time.strftime(fmt, time.gmtime(int(ts) + TZ))


NOT_GIVEN = "未选择原因（上报时由系统补充“未选择原因”）"


def reasons(text, level=None, comment=None):
    """ratings.reasons ('[1,3]') as Chinese names; '' for none. A 差评 with
    neither reason nor words shows the mark the system adds upstream
    (hostd/upstream/records.py reasonNotGiven)."""

    try:
        codes = text if isinstance(text, (list, tuple)) else json.loads(text or "[]")
    except (TypeError, ValueError):
        return str(text)
    if not codes and level is not None and level <= 2 and not comment:
        return NOT_GIVEN
    return "、".join(REASON_NAMES.get(c, str(c)) for c in codes)


def pager(page, rows, total=None):
    """A list page's rows (fetched PAGE_SIZE + 1: one more says a next page
    exists) and what the pager shows: {page, more, total}."""
    return rows[:PAGE_SIZE], {"page": page, "more": len(rows) > PAGE_SIZE, "total": total}


def pct(value):
    return "-" if value is None else "%.1f%%" % (value * 100)


def day_start(now=None):
    now = int(clock.now() if now is None else now)
    return (now + TZ) // DAY * DAY - TZ


def quarter_spec(now=None):
    t = time.gmtime(int(clock.now() if now is None else now) + TZ)
    return "%dQ%d" % (t.tm_year, (t.tm_mon - 1) // 3 + 1)


def quarter_range(now=None):
    t = time.gmtime(int(clock.now() if now is None else now) + TZ)
    first = (t.tm_mon - 1) // 3 * 3 + 1

    start = calendar.timegm((t.tm_year, first, 1, 0, 0, 0)) - TZ
    year, month = (t.tm_year + 1, 1) if first == 10 else (t.tm_year, first + 3)
    return start, calendar.timegm((year, month, 1, 0, 0, 0)) - TZ


def now():
    return int(clock.now())


def render(request, name, user, title, active=None, status_code=200, **values):
    ctx = request.app.state.ctx
    values.update(
        request=request,
        user=user,
        title=title,
        active=active,
        nav=NAV,
        hall=ctx.hall,
        csrf=auth.csrf_of(request),
        role_names=auth.ROLE_NAMES,
        when=when,
        pct=pct,
        reasons=reasons,
        level_names=LEVEL_NAMES,
        channel_names=CHANNEL_NAMES,
    )
    kind, message = auth.take_flash(request)
    values.update(flash=message, flash_kind=kind or "ok")
    response = TEMPLATES.TemplateResponse(request, name, values, status_code=status_code)
    if kind:
        response.delete_cookie(auth.FLASH_COOKIE, path="/")
    return response


def user_error(exc):
    """A W-side UserError as an HTTP error with its one line (404 for NotFound)."""
    status = 404 if type(exc).__name__ == "NotFound" else 400
    return HTTPException(status, str(exc))


def own_staff_only(user):
    """The staff_id a user is limited to (staff), or None (sees all)."""
    return user["staff_id"] if user["role"] == "staff" else None


def redirect_back(request, path, ok=None, err=None):
    """A 303 after a form post; its one-line message rides in a signed flash
    cookie (auth.set_flash), never in the URL, so no link can put words in
    a hall page's banner."""
    response = RedirectResponse(path, status_code=303)
    if err or ok:
        auth.set_flash(request, response, "err" if err else "ok", err or ok)
    return response
