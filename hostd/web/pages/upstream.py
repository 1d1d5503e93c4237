"""/upstream: 上报失败. The dead letters of the upstream sync (records the
provincial platform refused for good), each with its reason, what was sent,
and what the platform holds when it holds another version. A supervisor
sends one again as it is, or edits it and sends it (hostd/upstream/letters.py
logs both, with who and when).
"""

import json

from fastapi import APIRouter, Depends, Request

from hostd.base.errors import UserError
from hostd.sync import service as upstream_service
from hostd.upstream import letters
from hostd.web import auth
from hostd.web.pages.common import MANAGERS, RowId, now, redirect_back, render

router = APIRouter()

KIND_NAMES = {
    "service": "办件服务数据",
    "rating": "评价",
    "default": "系统默认评价",
    "comment": "追评",
    "reply": "整改反馈",
    "appeal": "申诉复核结果",
    "order": "12345 工单",
}


def pretty(obj):
    return json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=True) if obj is not None else ""


@router.get("/upstream")
def upstream_page(request: Request, user=Depends(auth.require_role(*MANAGERS))):
    with request.app.state.ctx.store.read() as db:
        dead = letters.dead_letters(db)
        status = upstream_service.status(db, now())
    for letter in dead:
        body, remote = letter["body_obj"], letter["remote_obj"]
        letter["pretty"] = pretty(body)
        letter["remote_pretty"] = pretty(remote)
        letter["differs"] = sorted(k for k in body if remote is not None and remote.get(k) != body[k])
    return render(
        request,
        "pages/upstream.html",
        user,
        "上报失败",
        "/upstream",
        letters=dead,
        status=status,
        kind_names=KIND_NAMES,
    )


def _act(request, user, op, done):
    try:
        revived = request.app.state.ctx.store.run(op)
    except UserError as exc:
        return redirect_back(request, "/upstream", err=str(exc))
    extra = "，另有 %d 条等待它的记录一并恢复" % revived if revived else ""
    return redirect_back(request, "/upstream", ok=done + extra)


@router.post("/upstream/{row_id}/retry")
def retry(
    request: Request,
    row_id: RowId,
    form=Depends(auth.require_csrf),
    user=Depends(auth.require_role(*MANAGERS)),
):
    return _act(
        request,
        user,
        lambda db: letters.retry(db, row_id, user["username"], now()),
        "记录 #%d 已重新排队上报" % row_id,
    )


@router.post("/upstream/{row_id}/edit")
def edit(
    request: Request,
    row_id: RowId,
    form=Depends(auth.require_csrf),
    user=Depends(auth.require_role(*MANAGERS)),
):
    text = str(form.get("body", ""))
    return _act(
        request,
        user,
        lambda db: letters.edit(db, row_id, text, user["username"], now()),
        "记录 #%d 已修改并重新排队上报" % row_id,
    )
