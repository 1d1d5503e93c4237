"""GET /s/{code}: the short link an SMS reminder carries (hostd/sms/reminders.py).

A template parameter may not hold a URL, so the message holds a 12-character
code and the approved template the hall's address + "/s/"; this answers with
a redirect to the session's signed rate-later link (/r/<token>), or the
rate-later page's clear message when the code is unknown or the period is
over. Looks are throttled per address like the rate-later posts.
"""

import re

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from hostd.rules import links
from hostd.sms import reminders, verdicts
from hostd.web import ratelater
from hostd.web.throttle import PerAddress

router = APIRouter(tags=["rate-later"], include_in_schema=False)
CODE = re.compile(r"[A-Za-z0-9]{%d}" % reminders.CODE_LENGTH)


def _throttle(request):
    state = request.app.state
    limits = getattr(state, "short_link_throttle", None)
    if limits is None:
        per_minute = state.ctx.config["web"]["ratelater_per_minute"]
        limits = state.short_link_throttle = PerAddress(per_minute)
    return limits


@router.get("/s/{code}")
def short_link(request: Request, code: str):
    ctx = request.app.state.ctx
    client = request.client.host if request.client else "-"
    if not _throttle(request).admit(client):
        return ratelater.message(request, "busy")
    if not CODE.fullmatch(code):
        return ratelater.message(request, "invalid")
    with ctx.store.read() as db:
        session_id = reminders.session_of_code(db, code)
        verdict = verdicts.target(db, code) if session_id is None else None
        if verdict is not None:  # a rectification's verdict link (hostd/web/verdict.py)
            order_id, replied_at = verdict
            days = ctx.config["workorder"]["verdict_days"]
            return RedirectResponse(
                links.verdict_url(ctx, order_id, replied_at + days * 86400), status_code=303
            )
        row = None
        if session_id is not None:
            row = db.conn.execute(
                "SELECT state, rate_until FROM sessions WHERE session_id = ?", (session_id,)
            ).fetchone()
    if row is None:
        return ratelater.message(request, "missing")
    state, rate_until = row
    if state == "cancelled" or ctx.clock.now() >= rate_until:
        return ratelater.message(request, "closed")
    return RedirectResponse(links.rate_url(ctx, session_id, rate_until), status_code=303)
