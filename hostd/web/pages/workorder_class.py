"""A work order's class and its 会商, set by a supervisor on the order's page.

POST /workorders/{id}/class            the class (简单 / 一般 / 复杂 by the hall's policy)
POST /workorders/{id}/consults         put the order to one more department
POST /workorders/{id}/consults/reply   a department's 会商 reply
(hostd/casework/classes.py does the work and keeps the events.)
"""

from fastapi import APIRouter, Depends, Request

from hostd.base.errors import UserError
from hostd.casework import classes
from hostd.web import auth
from hostd.web.pages.common import RowId, now, redirect_back

router = APIRouter()
SUPERVISOR = auth.require_role("supervisor")


def _run(request, order_id, op, ok):
    back = "/workorders/%d" % order_id
    try:
        request.app.state.ctx.store.run(op)
    except UserError as exc:
        return redirect_back(request, back, err=str(exc).split(" / ")[0])
    return redirect_back(request, back, ok=ok)


def _field(form, name):
    return str(form.get(name, "")).strip()


@router.post("/workorders/{order_id}/class")
def set_class(request: Request, order_id: RowId, form=Depends(auth.require_csrf), user=Depends(SUPERVISOR)):
    complexity, config = _field(form, "complexity"), request.app.state.ctx.config
    return _run(
        request,
        order_id,
        lambda db: classes.set_class(db, order_id, complexity, user["username"], config=config, now=now()),
        "问题分类已改，时限已按政策重算",
    )


@router.post("/workorders/{order_id}/consults")
def add_consult(request: Request, order_id: RowId, form=Depends(auth.require_csrf), user=Depends(SUPERVISOR)):
    department = _field(form, "department")
    return _run(
        request,
        order_id,
        lambda db: classes.add_consult(db, order_id, department, user["username"], now=now()),
        "已提请 %s 会商" % department,
    )


@router.post("/workorders/{order_id}/consults/reply")
def consult_reply(
    request: Request, order_id: RowId, form=Depends(auth.require_csrf), user=Depends(SUPERVISOR)
):
    department, reply = _field(form, "department"), _field(form, "reply")
    return _run(
        request,
        order_id,
        lambda db: classes.consult_reply(db, order_id, department, reply, user["username"], now=now()),
        "已记录 %s 的会商意见" % department,
    )
