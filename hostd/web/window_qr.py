"""A window's standing QR code (its counter sticker): /w/<token>.

  GET  /w/{token}        the rating page: of the session the window is serving
                         (the newest open one it opened at most
                         rating.window_qr_bind_s ago), else of the window
  POST /w/{token}/rate   the rating: bound to that session (channel qr, one
                         service one rating), or kept window-level when there
                         is none (counted for the hall and the staff on duty,
                         a 差评 opens a work order, nothing goes upstream)

The session is chosen again when the rating is posted: the one the page
showed, if it is still open and still the window's; a second rating of it,
if it was rated meanwhile, is refused (one service, one rating); else
whichever the window serves at that moment. The token (hostd/rules/links.py window_url)
does not expire; `hostd window qr 07 --renew` retires a window's older
stickers. Posts are CSRF-checked and throttled like the rate-later page's.
"""

import logging

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from hostd.devices.push import window_title
from hostd.recording import channels
from hostd.recording import evaluator as evaluators
from hostd.rules import binding, links, staff
from hostd.web import ratelater

log = logging.getLogger("hostd.web.window_qr")
router = APIRouter(tags=["rate-later"], include_in_schema=False)


def _place(ctx, token):
    """(window row, session id or None) for a good sticker, or a message kind."""
    try:
        window, generation = links.verify_window(ctx, token)
    except links.LinkError:
        return "invalid"
    now = int(ctx.clock.now())
    with ctx.store.read() as db:
        try:
            place = staff.get_window(db, ctx.hall, window)
        except staff.SessionRequestError:
            return "missing"
        row = db.conn.execute(
            "SELECT qr_generation FROM windows WHERE hall = ? AND window = ?", (ctx.hall, window)
        ).fetchone()
        if row is None or row[0] != generation:
            return "retired"
        session_id = binding.serving_session(
            db, ctx.hall, window, now, ctx.config["rating"]["window_qr_bind_s"]
        )
    session = ratelater.load(ctx, session_id)[0] if session_id else None
    return place, session


def _shown(place, session, now):
    if session is not None:
        return session, {"window_only": False, "bound_session": session["session_id"]}
    shown = {
        "window_title": window_title(place),
        "staff_name": place["staff_name"],
        "staff_no": place["staff_no"],
        "created_at": now,
        "rate_until": now,
    }
    return shown, {"window_only": True, "bound_session": None}


@router.get("/w/{token}")
@ratelater.guarded
async def show(request: Request, token: str):
    ctx = request.app.state.ctx
    found = _place(ctx, token)
    if isinstance(found, str):
        return ratelater.message(request, found)  # invalid, missing, retired
    place, session = found
    shown, extra = _shown(place, session, int(ctx.clock.now()))
    return ratelater.page(request, token, shown, None, "rate", base="/w/" + token, extra=extra)


@router.post("/w/{token}/rate")
@ratelater.guarded
async def rate(request: Request, token: str):
    ctx = request.app.state.ctx
    found = _place(ctx, token)
    if isinstance(found, str):
        return ratelater.message(request, found)
    place, session = found
    form = await ratelater.read_form(request)
    if form is None:
        return ratelater.message(request, "forbidden")
    now = int(ctx.clock.now())
    shown, extra = _shown(place, session, now)

    def again(error, status=422):
        return ratelater.page(request, token, shown, None, "rate", form, error, status, "/w/" + token, extra)

    if form["level"] not in dict(ratelater.LEVELS):
        return again("请选择一个评价等级。")
    evaluator, wrong = ratelater.evaluator_of(form)
    if wrong:
        return again(wrong)
    client = request.client.host if request.client else None
    if not ratelater.throttle(request).admit(client or "-"):
        return again("提交过于频繁，请一分钟后再试。", 429)
    posted = (await request.form()).get("session_id") or None
    bind_s = ctx.config["rating"]["window_qr_bind_s"]
    window = place["window"]

    def op(db):
        if posted and _rated(db, ctx.hall, window, posted):  # the service shown was rated meanwhile
            raise channels.already_rated(db, posted)
        session_id = posted if posted and _still_serving(db, ctx.hall, window, posted, now, bind_s) else None
        session_id = session_id or binding.serving_session(db, ctx.hall, window, now, bind_s)
        words = (form["reasons"], form["comment"], form["details"], client)
        who = evaluator or evaluators.NONE
        if session_id:
            return session_id, channels.record_rating(db, session_id, "qr", form["level"], *words, now, who)
        return None, channels.record_window_rating(db, ctx.hall, window, form["level"], *words, now, who)

    try:
        session_id, _ = await run_in_threadpool(ctx.store.run, op, 30)  # never block the event loop
    except channels.ReasonRequired:
        return again("选择“不满意”或“非常不满意”时，请选择原因或写几句话。")
    except channels.AlreadyRated:
        return ratelater.message(request, "rated")
    except channels.ChannelError as exc:
        return again("提交的内容有误：%s" % exc)
    log.info(
        "window QR: %s rated %d (%s) from %s", window, form["level"], session_id or "window-level", client
    )
    return ratelater.message(request, "thanks")


def _rated(db, hall, window, session_id):
    row = db.conn.execute(
        "SELECT hall, window, state FROM sessions WHERE session_id = ?", (session_id,)
    ).fetchone()
    return row is not None and row[:2] == (hall, window) and row[2] in ("rated", "defaulted")


def _still_serving(db, hall, window, session_id, now, bind_s):
    row = db.conn.execute(
        "SELECT hall, window, state, created_at FROM sessions WHERE session_id = ?", (session_id,)
    ).fetchone()
    return (
        row is not None
        and row[:3] == (hall, window, "open")
        and now - bind_s <= row[3] <= now + binding.CLOCK_SLACK_S
    )
