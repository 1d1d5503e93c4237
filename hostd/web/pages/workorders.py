"""/workorders: the 差评整改工单 queue (overdue first), an order's detail and its state moves.

Staff see and work only their own orders, and may move them up to 已答复;
closing (with the complainant's feedback) and 已说明 are a supervisor's.
Evaluator name / phone appear only for auth.EVALUATOR_ROLES, and each view is logged.
"""

from fastapi import APIRouter, Depends, HTTPException, Request

from hostd.base.errors import UserError
from hostd.casework import evidence, workorders
from hostd.rules import deadlines
from hostd.web import auth, verdict
from hostd.web.pages.common import (
    ALL,
    PAGE_SIZE,
    Flag,
    PageNo,
    RowId,
    now,
    own_staff_only,
    pager,
    redirect_back,
    render,
    user_error,
)

router = APIRouter()
STAFF_MOVES = ("contacted", "rectifying", "replied")
UNREACHABLE = "unreachable"  # the close form's "无法联系到群众": no feedback


def _order_for(db, user, order_id):
    try:
        order = workorders.get(db, order_id)
    except UserError as exc:
        raise user_error(exc)
    staff_id = own_staff_only(user)
    if staff_id and order["staff_id"] != staff_id:
        raise HTTPException(404, "没有这张工单，或它不属于您")
    return order


def evaluator_of(request, user, rating_id, purpose):
    """The evaluator's name and phone (实名), or the mobile number the business
    system gave with the citizen's consent (session_contacts), for roles that
    may see them; logs the read."""
    if not auth.may_see_evaluator(user) or rating_id is None:
        return None

    def op(db):
        row = db.execute(
            "SELECT r.evaluator_name, r.evaluator_mobile, c.mobile FROM ratings r"
            " LEFT JOIN session_contacts c ON c.session_id = r.session_id WHERE r.id = ?",
            [rating_id],
        ).fetchone()
        if row is None or (row[0] is None and row[1] is None and row[2] is None):
            return None
        fields = ("evaluator_name", "evaluator_mobile", "session_contacts.mobile")
        auth.log_evaluator_access(db, user, [rating_id], fields, purpose, now=now())
        return {"name": row[0], "mobile": row[1] or row[2]}

    return request.app.state.ctx.store.run(op)


@router.get("/workorders")
def queue(
    request: Request,
    state: str = "",
    overdue: Flag = 0,
    all: Flag = 0,
    page: PageNo = 1,
    user=Depends(auth.require_role(*ALL)),
):
    staff_id, open_only, overdue_only = own_staff_only(user), not (all or state), bool(overdue)
    at = now()  # one moment for the rows and their count
    with request.app.state.ctx.store.read() as db:
        orders = workorders.list_orders(
            db,
            state=state or None,
            staff_id=staff_id,
            open_only=open_only,
            overdue_only=overdue_only,
            now=at,
            limit=PAGE_SIZE + 1,
            offset=(page - 1) * PAGE_SIZE,
        )
        total = workorders.count_orders(
            db,
            state=state or None,
            staff_id=staff_id,
            open_only=open_only,
            overdue_only=overdue_only,
            now=at,
        )
    orders, paging = pager(page, orders, total)
    return render(
        request,
        "pages/workorders.html",
        user,
        "差评工单",
        "/workorders",
        orders=orders,
        paging=paging,
        states=workorders.STATE_LABELS,
        state=state,
        overdue=overdue,
        all=all,
    )


@router.get("/workorders/{order_id}")
def detail(request: Request, order_id: RowId, user=Depends(auth.require_role(*ALL))):
    with request.app.state.ctx.store.read() as db:
        order = _order_for(db, user, order_id)
        files = evidence.listed(db, order_id=order_id)
        ask = verdict.link(request.app.state.ctx, db, order) if user["role"] != "staff" else None
    moves = workorders.NEXT.get(order["state"], ())
    if user["role"] == "staff":
        moves = [m for m in moves if m in STAFF_MOVES]
    evaluator = evaluator_of(request, user, order.get("rating_id"), "workorder %d" % order_id)
    return render(
        request,
        "pages/workorder.html",
        user,
        "工单 #%d" % order_id,
        "/workorders",
        order=order,
        moves=moves,
        states=workorders.STATE_LABELS,
        feedback_options=workorders.FEEDBACK,
        unreachable=UNREACHABLE,
        evaluator=evaluator,
        files=files,
        verdict_link=ask,
        verdict_days=request.app.state.ctx.config["workorder"]["verdict_days"],
        may_add_files=evidence.may_add(user, order["staff_id"]) and order["state"] in evidence.OPEN_ORDER,
        upload_max_kb=request.app.state.ctx.config["web"]["upload_max_kb"],
        class_lines=deadlines.class_lines(request.app.state.ctx.config),
        class_label=_class_label(request.app.state.ctx.config, order["complexity"]),
        needs_consult=any(
            k == order["complexity"] and c for k, _t, c in deadlines.class_lines(request.app.state.ctx.config)
        ),
    )


def _class_label(config, complexity):
    """The order's class as the policy names it (an order classed under an
    earlier policy keeps its key: shown as such)."""
    one = deadlines.classes(config).get(complexity)
    return one["label"] if one else complexity


@router.post("/workorders/{order_id}/move")
def move(
    request: Request, order_id: RowId, form=Depends(auth.require_csrf), user=Depends(auth.require_role(*ALL))
):
    to_state = str(form.get("to_state", ""))
    with request.app.state.ctx.store.read() as db:
        _order_for(db, user, order_id)
    if user["role"] == "staff" and to_state not in STAFF_MOVES:
        raise HTTPException(403, "办结或说明须由监督考核人员操作")

    def text(name):
        value = str(form.get(name, "")).strip()
        return value or None

    # Closing asks for the complainant's verdict, or says they could not be
    # reached: the form chooses neither for the supervisor.
    feedback = text("feedback") if to_state == "closed" else None
    if to_state == "closed" and feedback is None:
        return redirect_back(
            request, "/workorders/%d" % order_id, err="办结须选择群众对整改的评价，或“无法联系到群众”"
        )
    if feedback == UNREACHABLE:
        feedback = None

    def op(db):
        return workorders.move(
            db,
            order_id,
            to_state,
            actor=user["username"],
            note=text("note"),
            feedback=feedback,
            explanation=text("explanation"),
            reply=text("reply"),
            now=now(),
        )

    try:
        request.app.state.ctx.store.run(op)
    except UserError as exc:
        return redirect_back(request, "/workorders/%d" % order_id, err=str(exc))
    return redirect_back(
        request,
        "/workorders/%d" % order_id,
        ok="工单已改为「%s」" % workorders.STATE_LABELS.get(to_state, to_state),
    )
