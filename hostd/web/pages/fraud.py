"""/fraud: 异常评价线索, the fraud flags the daily scan keeps, for supervisors.

The list shows open flags first; a flag's page shows its statistic, its
ratings and the review form: confirm as 刷好评 / 恶意差评 (the ticked
ratings are excluded from counting) or dismiss, always with a reason
(hostd/casework/fraud_review.py). Supervisors only: the evidence may hold a
citizen's client address.
"""

from fastapi import APIRouter, Depends, HTTPException, Request

from hostd.base.errors import UserError
from hostd.casework import fraud, fraud_review
from hostd.web import auth
from hostd.web.pages.common import RowId, now, redirect_back, render

router = APIRouter()
SUPERVISOR = auth.require_role("supervisor")
STATES = ("open", "confirmed", "dismissed")


@router.get("/fraud")
def flags(request: Request, state: str = "open", user=Depends(SUPERVISOR)):
    if state not in STATES + ("all",):
        raise HTTPException(400, "state 须为 open、confirmed、dismissed 或 all")
    with request.app.state.ctx.store.read() as db:
        rows = fraud.list_flags(db, state=None if state == "all" else state, limit=500)
        counts = dict(db.execute("SELECT state, COUNT(*) FROM fraud_flags GROUP BY state").fetchall())
    for row in rows:
        row["state_label"] = fraud_review.STATE_LABELS[row["state"]]
    return render(
        request,
        "pages/fraud.html",
        user,
        "异常评价线索",
        "/fraud",
        flags=rows,
        state=state,
        counts=counts,
        state_labels=fraud_review.STATE_LABELS,
    )


@router.get("/fraud/{flag_id}")
def flag_page(request: Request, flag_id: RowId, user=Depends(SUPERVISOR)):
    with request.app.state.ctx.store.read() as db:
        try:
            flag = fraud_review.get(db, flag_id)
        except UserError:
            raise HTTPException(404, "没有这条线索")
        ratings = fraud_review.candidates(db, flag)
        named = len(fraud_review.candidate_ids(db, flag))
    return render(
        request,
        "pages/fraud_flag.html",
        user,
        "线索 #%d" % flag_id,
        "/fraud",
        flag=flag,
        ratings=ratings,
        verdicts=fraud_review.VERDICTS,
        named=named,
        # ticked at first: the ratings the flag's own evidence names; a
        # statistical flag (top_share) names none, so the supervisor ticks
        preticked=flag["evidence"].get("rating_ids") is not None,
    )


@router.post("/fraud/{flag_id}/review")
def review(request: Request, flag_id: RowId, form=Depends(auth.require_csrf), user=Depends(SUPERVISOR)):
    back = "/fraud/%d" % flag_id
    action, note = str(form.get("action", "")), str(form.get("note", ""))
    try:
        ids = [int(v) for v in form.getlist("rating")]
    except ValueError:
        return redirect_back(request, back, err="评价编号有误")
    if action == "dismiss":
        op = lambda db: fraud_review.dismiss(db, flag_id, user["username"], note, now=now())  # noqa: E731
    elif action == "confirm":
        verdict = str(form.get("verdict", ""))
        op = lambda db: fraud_review.confirm(  # noqa: E731
            db, flag_id, user["username"], verdict, note, ids, now=now()
        )
    else:
        return redirect_back(request, back, err="请选择“属实”或“排除”")
    try:
        done = request.app.state.ctx.store.run(op)
    except UserError as exc:
        return redirect_back(request, back, err=str(exc).split(" / ")[0])
    if done["state"] == "dismissed":
        return redirect_back(request, back, ok="线索已排除，评价不变")
    return redirect_back(
        request,
        back,
        ok="线索属实（%s）：%d 条评价不再计入统计" % (done["verdict"], len(done["excluded_ids"])),
    )
