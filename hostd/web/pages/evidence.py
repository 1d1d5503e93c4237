"""佐证材料 and 举证 on the hall pages (hostd/casework/evidence.py).

  POST /workorders/{order_id}/evidence   add a file to an open order (its staff
                                          member, supervisors)
  POST /appeals/{appeal_id}/evidence     add a file to a pending appeal
  GET  /attachments/{id}                 open one: supervisors, and the
                                          staff member whose order or appeal it is;
                                          every opening is logged (evaluator_access)

Forms are multipart (web.upload_max_kb for the file, hostd/web/limits.py).
A refused file comes back as the page's one-line error; nothing is stored.
"""

from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from hostd.casework import evidence
from hostd.files import uploads
from hostd.web import auth
from hostd.web.pages.common import ALL, RowId, now, redirect_back

router = APIRouter()


def file_of(form, field="file"):
    """(bytes, name) of a form's file field, or (None, None) when none was chosen."""
    given = form.get(field)
    if given is None or isinstance(given, str):
        return None, None
    data = given.file.read()
    return (data or None), (given.filename or "file")


def add(request, user, data, name, note, back, order_id=None, appeal_id=None):
    """Check and attach one file; the redirect back with its one line."""
    ctx = request.app.state.ctx
    try:
        upload = uploads.prepare(data, ctx.config["web"]["upload_max_kb"])
        ctx.store.run(
            lambda db: evidence.attach(
                db, upload, user, name, note, order_id=order_id, appeal_id=appeal_id, now=now()
            )
        )
    except (uploads.UploadError, evidence.EvidenceError) as exc:
        return redirect_back(request, back, err=str(exc).split(" / ")[0])
    return redirect_back(request, back, ok="已上传：%s" % evidence.clean_name(name))


@router.post("/workorders/{order_id}/evidence")
def order_evidence(
    request: Request, order_id: RowId, form=Depends(auth.require_csrf), user=Depends(auth.require_role(*ALL))
):
    back = "/workorders/%d" % order_id
    data, name = file_of(form)
    if data is None:
        return redirect_back(request, back, err="请选择要上传的文件（JPEG、PNG 或 PDF）")
    return add(request, user, data, name, form.get("note"), back, order_id=order_id)


@router.post("/appeals/{appeal_id}/evidence")
def appeal_evidence(
    request: Request, appeal_id: RowId, form=Depends(auth.require_csrf), user=Depends(auth.require_role(*ALL))
):
    data, name = file_of(form)
    if data is None:
        return redirect_back(request, "/appeals", err="请选择要上传的文件（JPEG、PNG 或 PDF）")
    return add(request, user, data, name, form.get("note"), "/appeals", appeal_id=appeal_id)


@router.get("/attachments/{attachment_id}")
def attachment(request: Request, attachment_id: RowId, user=Depends(auth.require_role(*ALL))):
    ctx = request.app.state.ctx
    try:
        with ctx.store.read() as db:
            data, media_type, name, rating_id = evidence.opened(db, user, attachment_id)
    except evidence.EvidenceError:
        raise HTTPException(404, "没有这份材料，或您无权查看")
    ctx.store.run(
        lambda db: auth.log_evaluator_access(
            db, user, [rating_id], ("attachment:%d" % attachment_id,), "evidence", now=now()
        )
    )
    headers = {
        "Cache-Control": "no-store",
        "Content-Disposition": "inline; filename*=UTF-8''%s" % _quoted(name),
    }
    return Response(data, media_type=media_type, headers=headers)


def _quoted(name):
    return quote(name, safe="")
