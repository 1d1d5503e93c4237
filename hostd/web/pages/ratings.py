"""/ratings: the rating list. Staff see only ratings attributed to them
(ratings.staff_id: their sessions, or window-level ratings while on duty);
supervisors may add the evaluator's name and phone (?evaluator=1), and every
rating whose evaluator data is shown is logged in evaluator_access.
"""

from fastapi import APIRouter, Depends, Request

from hostd.web import auth
from hostd.web.pages.common import (
    ALL,
    DAY,
    PAGE_SIZE,
    Days,
    Flag,
    Level,
    PageNo,
    day_start,
    now,
    own_staff_only,
    pager,
    render,
)

router = APIRouter()
COLUMNS = (
    "id",
    "channel",
    "hall",
    "window",
    "session_id",
    "binding",
    "level",
    "reasons",
    "received_at",
    "comment",
    "excluded",
    "staff_name",
)


def staff_filter(staff_id):
    """SQL (and args) limiting ratings r to those of one staff member's services."""
    return ("r.staff_id = ?", [staff_id])  # 谁办理谁负责, filled by hostd/rules/attribution.py


@router.get("/ratings")
def ratings(
    request: Request,
    days: Days = 7,
    level: Level = 0,
    evaluator: Flag = 0,
    page: PageNo = 1,
    user=Depends(auth.require_role(*ALL)),
):
    days = min(max(days, 1), 366)
    where, args = ["r.received_at >= ?"], [day_start() - (days - 1) * DAY]
    staff_id = own_staff_only(user)
    if staff_id:
        clause, extra = staff_filter(staff_id)
        where.append(clause)
        args += extra
    if level:
        where.append("r.level = ?")
        args.append(level)
    show_evaluator = bool(evaluator) and auth.may_see_evaluator(user)
    select = ", ".join("r.%s" % c for c in COLUMNS[:-1]) + ", s.staff_name"
    if show_evaluator:
        select += ", r.evaluator_name, r.evaluator_mobile"
    sql = (
        "SELECT %s FROM ratings r LEFT JOIN sessions s ON s.session_id = r.session_id WHERE %s"
        " ORDER BY r.received_at DESC, r.id DESC LIMIT %d OFFSET %d"
        % (select, " AND ".join(where), PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
    )

    def query(db):
        rows = [dict(r) for r in db.query(sql, args)]  # one more than shown: is there a next page?
        if show_evaluator:
            seen = [r["id"] for r in rows[:PAGE_SIZE] if r["evaluator_name"] or r["evaluator_mobile"]]
            if seen:
                auth.log_evaluator_access(
                    db, user, seen, ("evaluator_name", "evaluator_mobile"), "ratings list", now=now()
                )
        return rows

    if show_evaluator:  # the log is a write: one transaction with the read
        rows = request.app.state.ctx.store.run(query)
    else:
        with request.app.state.ctx.store.read() as db:
            rows = query(db)
    rows, paging = pager(page, rows)
    return render(
        request,
        "pages/ratings.html",
        user,
        "评价明细",
        "/ratings",
        rows=rows,
        paging=paging,
        days=days,
        level=level,
        show_evaluator=show_evaluator,
        may_evaluator=auth.may_see_evaluator(user),
    )
