"""/unresolved: 办不成事, the window where a problem nobody could solve is registered and followed.

Anyone logged in registers a report at the window (the citizen's problem,
the unit responsible, a contact given with consent). Supervisors and admins
see every report; a staff member sees their own unit's, and may take it up
and finish it, as a supervisor may. The contact shows to supervisors and the
unit's staff (who call the citizen back), and every view of it is logged
(evaluator_access, rating_id 0, fields "unresolved:<id>").
"""

from fastapi import APIRouter, Depends, HTTPException, Request

from hostd.base import steps
from hostd.base.errors import UserError
from hostd.casework import unresolved
from hostd.web import auth
from hostd.web.pages.common import ALL, Flag, RowId, now, redirect_back, render

router = APIRouter()
MOVES = {"accepted": "受理", "resolved": "已解决", "explained": "确实无法解决，兜底说明"}


def _unit_of(db, user):
    """The unit a staff user is limited to; None for managers. A staff member
    with no unit follows no unit's reports (403): they may still register one."""
    if user["role"] != "staff":
        return None
    row = db.execute("SELECT unit_id FROM staff WHERE staff_id = ?", [user["staff_id"]]).fetchone()
    if row is None or not row[0]:
        raise HTTPException(403, "您的账号没有所属单位，只能登记办不成事；请管理员为您设置单位")
    return row[0]


@router.get("/unresolved")
def page(request: Request, all: Flag = 0, user=Depends(auth.require_role(*ALL))):
    section = request.app.state.ctx.config["unresolved"]
    with request.app.state.ctx.store.read() as db:
        try:
            unit_id = _unit_of(db, user)
        except HTTPException:
            unit_id = ""  # no unit: the form, and no one's reports
        reports = (
            []
            if unit_id == ""
            else unresolved.list_reports(db, open_only=not all, unit_id=unit_id, now=now(), limit=500)
        )
        units = db.execute("SELECT unit_id, name FROM units ORDER BY name").fetchall()
    return render(
        request,
        "pages/unresolved.html",
        user,
        "办不成事",
        "/unresolved",
        reports=reports,
        units=units,
        all=all,
        accept_label=steps.label(steps.parse(section["accept_within"])),
        resolve_label=steps.label(steps.parse(section["resolve_within"])),
    )


@router.post("/unresolved")
def register(request: Request, form=Depends(auth.require_csrf), user=Depends(auth.require_role(*ALL))):
    ctx = request.app.state.ctx
    report = {
        name: str(form.get(name, "")).strip()
        for name in ("unit_id", "problem", "item_name", "contact_name", "contact_mobile")
    }
    report.update(hall=ctx.hall, consent=form.get("consent") == "1")
    try:
        done = ctx.store.run(
            lambda db: unresolved.register(db, ctx.config, report, user["username"], "window", now=now())
        )
    except UserError as exc:
        return redirect_back(request, "/unresolved", err=str(exc).split(" / ")[0])
    return redirect_back(
        request,
        "/unresolved/%d" % done["report_id"],
        ok="已登记办不成事 #%d，已通知责任单位" % done["report_id"],
    )


def _report_for(db, user, report_id):
    try:
        report = unresolved.get(db, report_id, now=now())
    except UserError:
        raise HTTPException(404, "没有这条办不成事反映")
    unit_id = _unit_of(db, user)
    if unit_id is not None and report["unit_id"] != unit_id:
        raise HTTPException(404, "没有这条办不成事反映，或它不属于您的单位")
    return report


@router.get("/unresolved/{report_id}")
def detail(request: Request, report_id: RowId, user=Depends(auth.require_role(*ALL))):
    ctx = request.app.state.ctx
    with ctx.store.read() as db:
        report = _report_for(db, user, report_id)
    sees_contact = user["role"] in ("supervisor", "staff") and (
        report["contact_name"] or report["contact_mobile"]
    )
    if sees_contact:
        ctx.store.run(
            lambda db: auth.log_evaluator_access(
                db, user, [0], ("unresolved:%d" % report_id,), "unresolved", now=now()
            )
        )
    moves = unresolved.NEXT.get(report["state"], ()) if user["role"] != "admin" else ()
    return render(
        request,
        "pages/unresolved_report.html",
        user,
        "办不成事 #%d" % report_id,
        "/unresolved",
        report=report,
        sees_contact=sees_contact,
        moves=[(m, MOVES[m]) for m in moves],
        states=unresolved.STATE_LABELS,
    )


@router.post("/unresolved/{report_id}/move")
def move(
    request: Request,
    report_id: RowId,
    form=Depends(auth.require_csrf),
    user=Depends(auth.require_role("supervisor", "staff")),
):
    back = "/unresolved/%d" % report_id
    to_state, note = str(form.get("to_state", "")), str(form.get("note", ""))
    ctx = request.app.state.ctx
    with ctx.store.read() as db:
        _report_for(db, user, report_id)
    try:
        done = ctx.store.run(
            lambda db: unresolved.move(db, report_id, to_state, user["username"], note=note, now=now())
        )
    except UserError as exc:
        return redirect_back(request, back, err=str(exc).split(" / ")[0])
    return redirect_back(request, back, ok="已改为「%s」" % done["state_label"])
