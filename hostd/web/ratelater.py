"""The rate-later page behind the device's QR code (扫码评价), for phones.

  GET  /r/{token}        rate (session open) / add details (rated) / a clear message
  POST /r/{token}/rate   record the rating (channel qr) through hostd.recording.channels
  POST /r/{token}/more   add a comment and the detail questions to the session's rating

The token is a signed, expiring link (hostd/rules/links.py). Within the period
(sessions.rate_until) a citizen may rate an unrated session, or add a text
comment and the detail questions to its rating, also after a device rating.
Posts are CSRF-safe: a random cookie (SameSite=Lax, HttpOnly) must match the
form's hidden field, and a cross-site Origin is refused. The client address
is recorded with a QR rating for the fraud signals. Every failure is a page
that says what happened in one line, never a stack trace.
"""

import datetime
import functools
import hmac
import logging
import secrets
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from hostd.base import hall_time
from hostd.recording import channels
from hostd.recording import evaluator as evaluators
from hostd.rules import links
from hostd.rules.workdays import ZONE
from hostd.web.citizen_messages import MESSAGES, TEMPLATES, message  # noqa: F401 (ratelater's names too)
from hostd.web.throttle import PerAddress

log = logging.getLogger("hostd.web.ratelater")
router = APIRouter(tags=["rate-later"], include_in_schema=False)

CSRF_COOKIE = "hcp_csrf"
LEVELS = ((5, "非常满意"), (4, "满意"), (3, "基本满意"), (2, "不满意"), (1, "非常不满意"))
REASONS = ((1, "服务态度"), (2, "服务效率"), (3, "服务质量"), (4, "服务环境"), (6, "便捷性"), (5, "其他"))
ANSWERS = (("yes", "是"), ("fair", "一般"), ("no", "否"))
CHANNEL_NAMES = {"device": "评价器", "qr": "扫码评价", "default": "系统默认评价", "paper": "书面评价"}
NOTICES = {"rated": "感谢您的评价！", "more": "感谢您的补充意见！"}


def _when(ts):
    return datetime.datetime.fromtimestamp(ts, ZONE).strftime("%Y-%m-%d %H:%M")


def load(ctx, session_id):
    with ctx.store.read() as db:
        row = db.conn.execute(
            "SELECT session_id, item_name, staff_name, staff_no, window, created_at, rate_until,"
            " state, rating_id, theme_items, agent_id, purpose FROM sessions WHERE session_id = ?",
            (session_id,),
        ).fetchone()
        if row is None:
            return None, None
        keys = (
            "session_id",
            "item_name",
            "staff_name",
            "staff_no",
            "window",
            "created_at",
            "rate_until",
            "state",
            "rating_id",
            "theme_items",
            "agent_id",
            "purpose",
        )
        session: dict = dict(zip(keys, row))
        session["items"] = [  # 一件事: the theme's items
            r[0]
            for r in db.conn.execute(
                "SELECT DISTINCT item_name FROM session_cases WHERE session_id = ? AND item_name IS NOT NULL"
                " ORDER BY rowid",
                (session_id,),
            )
        ]
        rating = db.conn.execute(
            "SELECT id, channel, level, comment, details,"
            " evaluator_name IS NOT NULL OR evaluator_mobile IS NOT NULL FROM ratings"
            " WHERE session_id = ? AND binding = 'session'",
            (session_id,),
        ).fetchone()
    if rating is not None:
        rating = dict(zip(("id", "channel", "level", "comment", "details", "named"), rating))
    return session, rating


def _mode(session, rating, now):
    if now > session["rate_until"] or session["state"] in ("defaulted", "cancelled"):
        return "closed"
    if session["state"] == "open" and rating is None:
        return "rate"
    if rating is None:
        return "closed"
    if by_agent(session, rating):
        return "agent"  # 帮办代办: the agent rated at the window; the applicant is told so
    return "more" if rating["details"] is None else "done"


def by_agent(session, rating):
    """A 帮办代办 session the agent rated at the window (the device)."""
    return bool(session.get("agent_id")) and rating is not None and rating["channel"] == "device"


def new_csrf():
    return secrets.token_urlsafe(18)


def _csrf(request):
    return request.cookies.get(CSRF_COOKIE) or new_csrf()


def page(request, token, session, rating, mode, form=None, error=None, status=200, base=None, extra=None):
    """The rating page of `session` (or, with extra window_only, of a window);
    its forms post under `base` (/r/<token> by default)."""
    csrf = _csrf(request)
    level_name = dict(LEVELS).get(rating["level"]) if rating else None
    context = {
        "session": session,
        "mode": mode,
        "base": base or "/r/" + token,
        "csrf": csrf,
        "served": _when(session["created_at"]),
        "until": _when(session["rate_until"]),
        "levels": LEVELS,
        "reasons": REASONS,
        "answers": ANSWERS,
        "questions": channels.DETAIL_QUESTIONS,
        "improve": channels.IMPROVE,
        "form": form or {"level": None, "reasons": [], "comment": "", "details": {}},
        "named_already": bool(rating and rating["named"]),
        "error": error,
        "notice": NOTICES.get(request.query_params.get("ok")),
        "level_name": level_name,
        "channel_name": CHANNEL_NAMES.get(rating["channel"]) if rating else None,
    }
    context.update(extra or {})
    response = TEMPLATES.TemplateResponse(request, "ratelater/page.html", context, status_code=status)
    scope = "/%s/" % (base or "/r/").split("/")[1]  # /r/ or /w/: the pages whose forms post back
    response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="lax", path=scope, max_age=86400)
    response.headers["Cache-Control"] = "no-store"
    return response


def _open(request, token):
    """(ctx, session, rating, now) for a good link, or a message response."""
    ctx = request.app.state.ctx
    try:
        session_id, _expires = links.verify(ctx, token)
    except links.LinkExpired:
        return message(request, "expired")
    except links.LinkError:
        return message(request, "invalid")
    session, rating = load(ctx, session_id)
    if session is None:
        return message(request, "missing")
    return ctx, session, rating, int(ctx.clock.now())


def same_origin(request):
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def read_form(request):
    """The posted form as plain data, or None when the CSRF check fails."""
    form = await request.form()
    sent = form.get("csrf") or ""
    cookie = request.cookies.get(CSRF_COOKIE) or ""
    if not (cookie and hmac.compare_digest(sent, cookie) and same_origin(request)):
        return None
    details = {key: form.get(key) or "" for key, _ in channels.DETAIL_QUESTIONS}
    details[channels.IMPROVE[0]] = form.get(channels.IMPROVE[0]) or ""
    level = form.get("level") or ""
    return {
        "level": int(level) if level.isdigit() else None,
        "reasons": [int(r) for r in form.getlist("reasons") if str(r).isdigit()],
        "comment": (form.get("comment") or "").strip(),
        "details": details,
        "name": (form.get("name") or "").strip(),
        "mobile": (form.get("mobile") or "").strip(),
        "consent_callback": form.get("consent_callback") == "1",
        "consent_upstream": form.get("consent_upstream") == "1",
    }


def evaluator_of(form):
    """The form's 实名 fields checked: an Evaluator, or the error text for the page."""
    try:
        return evaluators.clean(
            form["name"], form["mobile"], form["consent_callback"], form["consent_upstream"]
        ), None
    except evaluators.EvaluatorError as exc:
        return None, "实名信息有误：%s" % str(exc).split(" / ")[0]


def guarded(handler):
    """Turn any unexpected failure into the error page (logged with its traceback)."""

    @functools.wraps(handler)
    async def wrapper(request: Request, token: str):
        try:
            return await handler(request, token)
        except Exception:
            log.exception("rate-later page failed")
            return message(request, "error")

    return wrapper


async def _posted(request, token):
    """A POST to a link: (ctx, session, rating, now, form, mode), or the page
    that answers it instead (bad link, or a form that fails the CSRF check)."""
    opened = _open(request, token)
    if not isinstance(opened, tuple):
        return opened
    ctx, session, rating, now = opened
    form = await read_form(request)
    if form is None:
        return message(request, "forbidden")
    return ctx, session, rating, now, form, _mode(session, rating, now)


@router.get("/r/{token}")
@guarded
async def show(request: Request, token: str):
    opened = _open(request, token)
    if not isinstance(opened, tuple):
        return opened
    _ctx, session, rating, now = opened
    mode = _mode(session, rating, now)
    if mode == "closed":
        return message(request, "closed")
    return page(request, token, session, rating, mode)


def throttle(request):
    state = request.app.state
    limits = getattr(state, "ratelater_throttle", None)
    if limits is None:
        per_minute = state.ctx.config.get("web", {}).get("ratelater_per_minute", 20)
        limits = state.ratelater_throttle = PerAddress(per_minute)
    return limits


@router.post("/r/{token}/rate")
@guarded
async def rate(request: Request, token: str):
    posted = await _posted(request, token)
    if not isinstance(posted, tuple):
        return posted
    ctx, session, rating, now, form, mode = posted
    if mode == "closed":
        return message(request, "closed")
    if mode != "rate":
        return message(request, "agent_rated" if mode == "agent" else "rated")
    if form["level"] not in dict(LEVELS):
        return page(request, token, session, None, "rate", form, "请选择一个评价等级。", 422)
    evaluator, wrong = evaluator_of(form)
    if wrong:
        return page(request, token, session, None, "rate", form, wrong, 422)
    client = request.client.host if request.client else None
    if not throttle(request).admit(client or "-"):
        log.warning("rate-later: %s over web.ratelater_per_minute; asked to wait", client)
        return page(request, token, session, None, "rate", form, "提交过于频繁，请一分钟后再试。", 429)

    def op(db):
        return channels.record_rating(
            db,
            session["session_id"],
            "qr",
            form["level"],
            form["reasons"],
            form["comment"],
            form["details"],
            client_addr=client,
            now=now,
            evaluator=evaluator or evaluators.NONE,
        )

    try:
        await run_in_threadpool(ctx.store.run, op, 30)  # never block the event loop
    except channels.ReasonRequired:
        return page(
            request,
            token,
            session,
            None,
            "rate",
            form,
            "选择“不满意”或“非常不满意”时，请选择原因或写几句话。",
            422,
        )
    except channels.AlreadyRated:  # another channel was first, just now: the agent's device?
        _session, first = load(ctx, session["session_id"])
        return message(request, "agent_rated" if by_agent(session, first) else "rated")
    except channels.SessionClosed:
        return message(request, "closed")
    except channels.ChannelError as exc:
        return page(request, token, session, None, "rate", form, "提交的内容有误：%s" % exc, 422)
    log.info(
        "rate-later: session %s rated %d from %s",
        session["session_id"],
        form["level"],
        client,
        extra=hall_time.about(session=session["session_id"]),
    )
    return RedirectResponse("/r/%s?ok=rated" % token, status_code=303)


@router.post("/r/{token}/more")
@guarded
async def more(request: Request, token: str):
    posted = await _posted(request, token)
    if not isinstance(posted, tuple):
        return posted
    ctx, session, rating, now, form, mode = posted
    if mode == "closed" or rating is None:
        return message(request, "closed")
    if mode == "agent":
        return message(request, "agent_rated")
    if mode == "done":
        return RedirectResponse("/r/%s" % token, status_code=303)

    evaluator, wrong = evaluator_of(form)
    if wrong:
        return page(request, token, session, rating, "more", form, wrong, 422)
    words = bool(form["comment"]) or any(form["details"].values())
    if not words and evaluator is evaluators.NONE:
        return page(request, token, session, rating, "more", form, "请至少填写一项意见后再提交。", 422)

    def op(db):
        if words:
            channels.add_details(db, rating["id"], form["comment"], form["details"])
        channels.add_evaluator(db, rating["id"], evaluator)

    try:
        await run_in_threadpool(ctx.store.run, op, 30)  # never block the event loop
    except channels.ChannelError as exc:
        return page(request, token, session, rating, "more", form, "提交的内容有误：%s" % exc, 422)
    return RedirectResponse("/r/%s?ok=more" % token, status_code=303)
