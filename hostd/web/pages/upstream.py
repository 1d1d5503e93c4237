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


MASK = "（评价人信息已隐去）"
EVALUATOR_KEYS = ("userName", "mobile")  # a 实名 evaluator's, sent with consent (records.rating_record)


def shown(body, user):
    """`body` as `user` may see it: the evaluator's name and phone only for
    auth.EVALUATOR_ROLES (the page logs that read), masked for the others."""
    if not body or auth.may_see_evaluator(user) or not any(k in body for k in EVALUATOR_KEYS):
        return body
    return dict(body, **{k: MASK for k in EVALUATOR_KEYS if k in body})


def unmasked(text, stored):
    """An edited body as its editor saw it, the masked values put back."""
    try:
        body = json.loads(text)
    except ValueError:
        return text  # letters.edit says what is wrong with it
    if isinstance(body, dict) and any(body.get(k) == MASK for k in EVALUATOR_KEYS):
        for key in EVALUATOR_KEYS:
            if body.get(key) == MASK and key in stored:
                body[key] = stored[key]
        return json.dumps(body, ensure_ascii=False)
    return text


def pretty(obj):
    return json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=True) if obj is not None else ""


@router.get("/upstream")
def upstream_page(request: Request, user=Depends(auth.require_role(*MANAGERS))):
    with request.app.state.ctx.store.read() as db:
        dead = letters.dead_letters(db)
        status = upstream_service.status(db, now())
    seen = []  # ratings whose evaluator data this page shows (a supervisor's view)
    for letter in dead:
        body, remote = letter["body_obj"], letter["remote_obj"]
        letter["pretty"] = pretty(shown(body, user))
        letter["remote_pretty"] = pretty(shown(remote, user))
        letter["differs"] = sorted(k for k in body if remote is not None and remote.get(k) != body[k])
        if (
            auth.may_see_evaluator(user)
            and any(k in body for k in EVALUATOR_KEYS)
            and str(letter["ref"]).isdigit()
        ):
            seen.append(int(letter["ref"]))
    if seen:
        request.app.state.ctx.store.run(
            lambda db: auth.log_evaluator_access(
                db, user, seen, EVALUATOR_KEYS, "upstream dead letters", now=now()
            )
        )
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

    def op(db):
        stored = db.conn.execute("SELECT body FROM upstream_outbox WHERE id = ?", (row_id,)).fetchone()
        edited = unmasked(text, json.loads(stored[0])) if stored else text
        return letters.edit(db, row_id, edited, user["username"], now())

    return _act(
        request,
        user,
        op,
        "记录 #%d 已修改并重新排队上报" % row_id,
    )
