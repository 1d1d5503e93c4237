"""The complainant's verdict on a rectification (整改结果评价, 001 三(一)): /v/<token>.

  GET  /v/{token}   the order's reply and three choices: 满意 / 基本满意 / 不满意
  POST /v/{token}   满意 or 基本满意 closes the order with that feedback;
                    不满意 sends it back to rectifying (hostd/casework/citizen_verdict.py
                    citizen_verdict)

The link (hostd/rules/links.py verdict_url) is signed and expires
workorder.verdict_days after the reply; the work order's page shows it to
supervisors, to send to the complainant. Where no answer comes, the
supervisor records the callback's result on that page, as before. Posts are
CSRF-checked like the rate-later page's; every failure is a clear page.
"""

import datetime
import hmac
import logging

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from hostd.base.errors import UserError
from hostd.casework import citizen_verdict, workorders
from hostd.rules import links
from hostd.rules.workdays import ZONE
from hostd.web import auth, ratelater

log = logging.getLogger("hostd.web.verdict")
router = APIRouter(tags=["rate-later"], include_in_schema=False)
DAY = 86400


def replied_at(db, order_id):
    row = db.conn.execute(
        "SELECT MAX(at) FROM work_order_events WHERE order_id = ? AND to_state = 'replied'"
        " AND from_state IS NOT 'replied'",  # a reply, not a note or an upload on a replied order
        (order_id,),
    ).fetchone()
    return row[0] if row else None


def link(ctx, db, order):
    """The verdict link of a replied order, or None."""
    if order["state"] != "replied":
        return None
    at = replied_at(db, order["order_id"])
    if at is None:
        return None
    return links.verdict_url(ctx, order["order_id"], at + ctx.config["workorder"]["verdict_days"] * DAY)


def _open(request, token):
    ctx = request.app.state.ctx
    try:
        order_id, expires_at = links.verify_verdict(ctx, token)
    except links.LinkExpired:
        return ratelater.message(request, "expired")
    except links.LinkError:
        return ratelater.message(request, "invalid")
    with ctx.store.read() as db:
        try:
            order = workorders.get(db, order_id)
        except UserError:
            return ratelater.message(request, "missing")
    if order["state"] != "replied":
        return ratelater.message(request, "verdict_closed")
    return ctx, order, expires_at


def _when(ts):
    return datetime.datetime.fromtimestamp(ts, ZONE).strftime("%Y-%m-%d %H:%M")


def _page(request, token, order, expires_at, error=None, status=200):
    csrf = request.cookies.get(ratelater.CSRF_COOKIE) or ratelater.new_csrf()
    response = ratelater.TEMPLATES.TemplateResponse(
        request,
        "ratelater/verdict.html",
        {
            "order": order,
            "base": "/v/" + token,
            "csrf": csrf,
            "choices": workorders.FEEDBACK,
            "rated_on": _when(order["opened_at"]),
            "until": _when(expires_at),
            "error": error,
        },
        status_code=status,
    )
    response.set_cookie(ratelater.CSRF_COOKIE, csrf, httponly=True, samesite="lax", path="/v/", max_age=86400)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/v/{token}", response_class=HTMLResponse)
@ratelater.guarded
async def show(request: Request, token: str):
    opened = _open(request, token)
    if not isinstance(opened, tuple):
        return opened
    _ctx, order, expires_at = opened
    return _page(request, token, order, expires_at)


@router.post("/v/{token}", response_class=HTMLResponse)
@ratelater.guarded
async def rate(request: Request, token: str):
    opened = _open(request, token)
    if not isinstance(opened, tuple):
        return opened
    ctx, order, expires_at = opened
    form = await request.form()
    sent, cookie = str(form.get("csrf") or ""), request.cookies.get(ratelater.CSRF_COOKIE) or ""
    if not (cookie and hmac.compare_digest(sent, cookie) and ratelater.same_origin(request)):
        return ratelater.message(request, "forbidden")
    if auth.read_session(request).get("u"):  # a hall login: the complainant's own answer, never staff's
        return ratelater.message(request, "verdict_staff")
    feedback = str(form.get("feedback") or "")
    if feedback not in workorders.FEEDBACK:
        return _page(request, token, order, expires_at, "请选择一项评价。", 422)
    now = int(ctx.clock.now())
    client = request.client.host if request.client else "-"
    source = "%s %s" % (client, (request.headers.get("user-agent") or "")[:80])

    def op(db):
        return citizen_verdict.citizen_verdict(db, order["order_id"], feedback, now, source=source.strip())

    try:
        await run_in_threadpool(ctx.store.run, op, 30)
    except workorders.BadMove:
        return ratelater.message(request, "verdict_closed")
    log.info("verdict: order %d rated %s by the complainant", order["order_id"], feedback)
    return ratelater.message(request, "verdict_reopened" if feedback == "不满意" else "verdict_thanks")
