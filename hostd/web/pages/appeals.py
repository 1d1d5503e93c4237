"""/appeals: 申诉复核. The rated staff member files an appeal on one of their
ratings with a reason; a supervisor upholds it (误评 / 恶意差评: the rating is
kept but no longer counted) or rejects it. hostd/casework/appeals.py records every step.
"""

from fastapi import APIRouter, Depends, HTTPException, Request

from hostd.base.errors import UserError
from hostd.casework import appeals, evidence
from hostd.files import uploads
from hostd.web import auth
from hostd.web.pages import evidence as pages_evidence
from hostd.web.pages.common import ALL, QueryId, RowId, now, own_staff_only, redirect_back, render

router = APIRouter()


def _appeals():
    return appeals


@router.get("/appeals")
def appeals_page(request: Request, rating_id: QueryId = 0, user=Depends(auth.require_role(*ALL))):
    appeals = _appeals()
    staff_id = own_staff_only(user)
    rating = None
    with request.app.state.ctx.store.read() as db:
        listed = appeals.list_appeals(db, staff_id=staff_id, limit=500)
        files = {a["appeal_id"]: evidence.listed(db, appeal_id=a["appeal_id"]) for a in listed}
        if rating_id and user["role"] == "staff":
            rating = _own_rating(db, rating_id, staff_id)
    return render(
        request,
        "pages/appeals.html",
        user,
        "申诉复核",
        "/appeals",
        appeals=listed,
        evidence={k: v for k, v in files.items() if v},
        rating=rating,
        verdicts=appeals.VERDICTS,
    )


def _own_rating(db, rating_id, staff_id):
    row = db.execute(
        "SELECT r.id, r.level, r.channel, r.window, r.received_at, r.excluded FROM ratings r"
        " WHERE r.id = ? AND r.staff_id = ?",
        [rating_id, staff_id],
    ).fetchone()
    if row is None:
        raise HTTPException(404, "没有这条评价，或它不是对您的评价")
    return dict(zip(("id", "level", "channel", "window", "received_at", "excluded"), row))


@router.post("/appeals")
def file_appeal(request: Request, form=Depends(auth.require_csrf), user=Depends(auth.require_role("staff"))):
    appeals = _appeals()
    try:
        rating_id = int(form.get("rating_id", ""))
    except (TypeError, ValueError):
        raise HTTPException(400, "请选择要申诉的评价")
    reason = str(form.get("reason", "")).strip()
    if not reason:
        return redirect_back(request, "/appeals?rating_id=%d" % rating_id, err="请填写申诉理由")
    data, name = pages_evidence.file_of(form)
    ctx = request.app.state.ctx

    def op(db):  # the appeal and its evidence, together or not at all
        filed = appeals.file(db, rating_id, user["staff_id"], reason, actor=user["username"], now=now())
        if data is not None:
            evidence.attach(db, upload, user, name, appeal_id=filed["appeal_id"], now=now())
        return filed

    try:
        upload = uploads.prepare(data, ctx.config["web"]["upload_max_kb"]) if data is not None else None
        ctx.store.run(op)
    except UserError as exc:
        return redirect_back(request, "/appeals", err=str(exc))
    return redirect_back(request, "/appeals", ok="申诉已提交，等待监督考核人员复核")


@router.post("/appeals/{appeal_id}/decide")
def decide(
    request: Request,
    appeal_id: RowId,
    form=Depends(auth.require_csrf),
    user=Depends(auth.require_role("supervisor")),
):
    appeals = _appeals()
    uphold = form.get("decision") == "uphold"
    verdict = str(form.get("verdict", "")) or None
    note = str(form.get("note", "")).strip()
    try:
        request.app.state.ctx.store.run(
            lambda db: appeals.decide(
                db,
                appeal_id,
                uphold,
                actor=user["username"],
                verdict=verdict if uphold else None,
                note=note,
                now=now(),
            )
        )
    except UserError as exc:
        return redirect_back(request, "/appeals", err=str(exc))
    return redirect_back(request, "/appeals", ok="申诉 #%d 已%s" % (appeal_id, "支持" if uphold else "驳回"))
