"""/paper: 书面评价录入. A staff member types in a paper rating form, with its
serial number and, optionally, a scan (hostd/recording/paper.py).

  GET  /paper                    the form, and the forms entered lately
                                 (a staff member sees the ones they entered)
  POST /paper                    enter one (multipart: the scan rides along)
  GET  /paper/{rating_id}/scan   the scan, for supervisors only: a form may
                                 carry the citizen's name and phone, so every
                                 read is logged in evaluator_access

A refused form comes back filled in, with the reason on top; nothing of it
is stored.
"""

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from hostd.files import uploads
from hostd.recording import channels, paper
from hostd.recording import evaluator as evaluators
from hostd.web import auth
from hostd.web.pages.common import ALL, REASON_NAMES, RowId, now, redirect_back, render

router = APIRouter()
BLANK = {
    "target": "session",
    "session_id": "",
    "case_id": "",
    "level": None,
    "reasons": [],
    "comment": "",
    "serial": "",
    "name": "",
    "mobile": "",
    "consent_callback": False,
    "consent_upstream": False,
}


def _page(request, user, form=None, error=None, status_code=200):
    ctx = request.app.state.ctx
    with ctx.store.read() as db:
        rows = paper.recent(db, ctx.hall)
    if user["role"] == "staff":
        rows = [r for r in rows if r["entered_by"] == user["username"]]
    return render(
        request,
        "pages/paper.html",
        user,
        "书面评价录入",
        "/paper",
        status_code=status_code,
        form=form or BLANK,
        error=error,
        recent=rows,
        reason_names=REASON_NAMES,
        may_see_scans=auth.may_see_evaluator(user),
        upload_max_kb=ctx.config["web"]["upload_max_kb"],
    )


@router.get("/paper")
def paper_page(request: Request, user=Depends(auth.require_role(*ALL))):
    return _page(request, user)


def _fields(form):
    level = str(form.get("level") or "")
    target = "case" if form.get("target") == "case" else "session"
    return {
        "target": target,
        "session_id": str(form.get("session_id") or "").strip(),
        "case_id": str(form.get("case_id") or "").strip(),
        "level": int(level) if level.isdigit() else None,
        "reasons": [int(r) for r in form.getlist("reasons") if str(r).isdigit()],
        "comment": str(form.get("comment") or "").strip(),
        "serial": str(form.get("serial") or "").strip(),
        "name": str(form.get("name") or "").strip(),
        "mobile": str(form.get("mobile") or "").strip(),
        "consent_callback": form.get("consent_callback") == "1",
        "consent_upstream": form.get("consent_upstream") == "1",
    }


def _scan(form):
    scan = form.get("scan")
    if scan is None or isinstance(scan, str):
        return None
    data = scan.file.read()
    return data or None


@router.post("/paper")
def enter(request: Request, form=Depends(auth.require_csrf), user=Depends(auth.require_role(*ALL))):
    fields = _fields(form)
    if fields["level"] not in (1, 2, 3, 4, 5):
        return _page(request, user, fields, "请选择表上勾选的评价等级", 422)
    try:
        evaluator = evaluators.clean(
            fields["name"], fields["mobile"], fields["consent_callback"], fields["consent_upstream"]
        )
        entry: dict = dict(fields, evaluator=evaluator, entered_by_staff=user["staff_id"])
        if fields["target"] == "case":
            entry["session_id"] = None
        else:
            entry["case_id"] = None
        done = paper.enter(request.app.state.ctx, entry, user["username"], _scan(form))
    except (channels.AlreadyRated, paper.SerialTaken) as exc:
        return _page(request, user, fields, str(exc), 409)
    except channels.SessionNotFound as exc:
        return _page(request, user, fields, str(exc), 404)
    except (channels.ChannelError, evaluators.EvaluatorError, uploads.UploadError) as exc:
        return _page(request, user, fields, str(exc), 422)
    return redirect_back(
        request,
        "/paper",
        ok="书面评价已录入：表 %s → 会话 %s（评价 #%d）"
        % (done["serial"], done["session_id"], done["rating_id"]),
    )


@router.get("/paper/{rating_id}/scan")
def scan(request: Request, rating_id: RowId, user=Depends(auth.require_role(*ALL))):
    if not auth.may_see_evaluator(user):
        raise HTTPException(403, "书面评价表的扫描件可能含评价人信息，仅监督考核人员可查看")
    ctx = request.app.state.ctx
    with ctx.store.read() as db:
        row = db.conn.execute("SELECT scan FROM paper_forms WHERE rating_id = ?", (rating_id,)).fetchone()
        found = uploads.read(db, row[0]) if row and row[0] else None
    if found is None:
        raise HTTPException(404, "这条书面评价没有扫描件")
    ctx.store.run(
        lambda db: auth.log_evaluator_access(
            db, user, [rating_id], ("paper_scan",), "paper form scan", now=now()
        )
    )
    data, media_type = found
    return Response(data, media_type=media_type, headers={"Cache-Control": "no-store"})
