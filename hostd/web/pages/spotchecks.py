"""/spotchecks: 回访抽查. A supervisor draws a share of the quarter's finished
work orders at random, calls the complainants back and records what each
check found (hostd/casework/spot_checks.py); admins see it, staff do not.
"""

from fastapi import APIRouter, Depends, HTTPException, Request

from hostd.base.errors import UserError
from hostd.casework import spot_checks
from hostd.reporting import periods
from hostd.web import auth
from hostd.web.pages.common import MANAGERS, RowId, now, quarter_spec, redirect_back, render

router = APIRouter()


def _quarter(text):
    """(spec, span) of a quarter given as 2026Q4 (this quarter when empty); HTTPException 400 if bad."""
    spec = (text or "").strip().upper() or quarter_spec()
    try:
        return spec, periods.period(spec)
    except periods.BadPeriod:
        raise HTTPException(400, "季度格式应为 2026Q4 / the quarter must look like 2026Q4")


@router.get("/spotchecks")
def page(request: Request, quarter: str = "", user=Depends(auth.require_role(*MANAGERS))):
    spec, span = _quarter(quarter)
    with request.app.state.ctx.store.read() as db:
        rows = spot_checks.listed(db, spec)
        totals = spot_checks.summary(db, spec, span)
    return render(
        request,
        "pages/spotchecks.html",
        user,
        "回访抽查",
        "/spotchecks",
        quarter=spec,
        checks=rows,
        totals=totals,
        outcomes=spot_checks.OUTCOMES,
    )


@router.post("/spotchecks/draw")
def draw(request: Request, form=Depends(auth.require_csrf), user=Depends(auth.require_role("supervisor"))):
    spec, span = _quarter(str(form.get("quarter", "")))
    back = "/spotchecks?quarter=%s" % spec
    percent = str(form.get("percent", "")).strip()
    if not percent.isdecimal() or not percent.isascii():
        return redirect_back(request, back, err="请填写抽查比例（1-100 的整数）")
    try:
        drawn = request.app.state.ctx.store.run(
            lambda db: spot_checks.draw(db, int(percent), spec, span, user["username"], now())
        )
    except UserError as exc:
        return redirect_back(request, back, err=str(exc).split(" / ")[0])
    return redirect_back(request, back, ok="已随机抽取 %d 张工单待回访" % len(drawn))


@router.post("/spotchecks/{check_id}")
def record(
    request: Request,
    check_id: RowId,
    form=Depends(auth.require_csrf),
    user=Depends(auth.require_role("supervisor")),
):
    back = "/spotchecks?quarter=%s" % str(form.get("quarter", "")).strip().upper()
    outcome, note = str(form.get("outcome", "")), str(form.get("note", ""))
    try:
        request.app.state.ctx.store.run(
            lambda db: spot_checks.record(db, check_id, outcome, note, user["username"], now())
        )
    except UserError as exc:
        return redirect_back(request, back, err=str(exc).split(" / ")[0])
    return redirect_back(request, back, ok="抽查 #%d 已记录：%s" % (check_id, spot_checks.OUTCOMES[outcome]))
