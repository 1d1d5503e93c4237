"""/api/v1: the window business-system interface (窗口业务系统接口).

    POST   /api/v1/sessions                  a finished service: push it to the window's device
    GET    /api/v1/sessions/{session_id}     its state, cases, rating and rate-later link
    POST   /api/v1/cases/{case_id}/finished  办结: the matter's final rating, a session of its own
    GET    /api/v1/sessions/{session_id}/qr.png  the link as a QR code for the receipt
    GET    /api/v1/windows                   windows, their devices and who is on duty
    POST   /api/v1/windows/{window}/duty     a staff member goes on duty there
    DELETE /api/v1/windows/{window}/duty     nobody serves there: 暂停服务
    GET    /api/v1/alerts                    alerts open now (for a hall's own monitoring)
    POST   /api/v1/screens/refresh           every device's screen published again (api_screens.py)
    POST   /api/v1/paper                     a paper rating form, with its scan (api_paper.py)
    POST   /api/v1/unresolved                a 办不成事 report (api_unresolved.py); GET .../{id} its state

Every call needs `Authorization: Bearer <token>`; the token is in
<home>/keys/api-token (made by `hostd init`, or on first use). A bad request
gets a 4xx whose JSON `detail` is {"error": code, "reason": "中文 / English"}.
Writes go through the Store; pushes to devices happen after the commit.
"""

import json
from typing import List, Optional

from fastapi import APIRouter, Depends, Query
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response

from hostd.alerts import ledger
from hostd.devices import push, render
from hostd.recording import evaluator as evaluators
from hostd.rules import links, sessions, staff
from hostd.sms import reminders
from hostd.web import api_paper, api_screens, api_unresolved
from hostd.web.api_auth import authorised as _authorised
from hostd.web.api_auth import ensure_token, token_path  # noqa: F401 (hostd.web.api's names for the CLI and tests)
from hostd.web.api_auth import fail as _fail
from hostd.web.api_models import (  # noqa: F401 (the models are hostd.web.api's names too)
    ERRORS,
    AlertOut,
    CancelRequest,
    Case,
    DutyRequest,
    ErrorDetail,
    ErrorOut,
    FinishedRequest,
    SessionOut,
    SessionRequest,
    ThemeItem,
    WindowOut,
)

router = APIRouter(prefix="/api/v1", tags=["sessions"])


def _mobile(body):
    """The consented number as 11 digits, or None; BadField for a bad one or no consent."""
    if not body.mobile:
        return None
    if not body.mobile_consent:
        raise _fail(
            staff.BadField(
                "手机号码须经本人同意才能留存 / mobile given without mobile_consent: ask the citizen first"
            )
        )
    try:
        return evaluators.mobile(body.mobile)
    except evaluators.EvaluatorError as exc:
        raise _fail(staff.BadField(str(exc)))


def _items(case_list):
    """A themed session's items, in order, each with its cases."""
    items = {}
    for c in case_list:
        if c.get("item_code"):
            item = items.setdefault(
                c["item_code"], ThemeItem(item_code=c["item_code"], item_name=c["item_name"])
            )
            item.cases.append(Case(case_id=c["case_id"], visit=c["visit"]))
    return list(items.values())


def _with_sms(db, session):
    session["sms_reminder"] = reminders.state_of(db, session["session_id"])
    return session


def _rate_url(ctx, s):
    if s["state"] == "cancelled" or ctx.clock.now() >= s["rate_until"]:
        return None
    return links.rate_url(ctx, s["session_id"], s["rate_until"])


def _session_out(ctx, s, info=None):
    rating = s.get("rating") or {}
    return SessionOut(
        session_id=s["session_id"],
        window=s["window"],
        device_id=s["device_id"],
        item_code=s["item_code"],
        item_name=s["item_name"],
        staff_id=s["staff_id"],
        staff_name=s["staff_name"],
        staff_no=s["staff_no"],
        cases=[Case(case_id=c["case_id"], visit=c["visit"]) for c in s["case_list"]],
        items=_items(s["case_list"]),
        agent_id=s.get("agent_id"),
        purpose=s.get("purpose") or "service",
        state=s["state"],
        created_at=s["created_at"],
        screen_until=s["screen_until"],
        rate_until=s["rate_until"],
        rate_url=_rate_url(ctx, s),
        rating_level=rating.get("level"),
        rating_channel=rating.get("channel"),
        pushed=info["pushed"] if info else None,
        message_bytes=info["bytes"] if info else None,
        sms_reminder=s.get("sms_reminder"),
        cancel_reason=s.get("cancel_reason"),
        kept_upstream=s.get("kept_upstream"),
    )


def _window_out(w):
    return WindowOut(
        window=w["window"],
        name=w["name"],
        devices=w["devices"],
        serving=w["serving"],
        staff_id=w["staff_id"],
        staff_name=w["staff_name"],
        staff_no=w["staff_no"],
        duty_since=w["duty_since"],
    )


# -- routes -------------------------------------------------------------------


@router.post(
    "/sessions",
    status_code=201,
    response_model=SessionOut,
    responses=ERRORS,
    summary="A finished service: create its session and show it on the device",
)
def create_session(body: SessionRequest, ctx=Depends(_authorised)):
    now = ctx.clock.now()
    cases = [(c.case_id, c.visit) for c in body.cases]
    mobile = _mobile(body)

    def op(db):
        made = sessions.create(
            db,
            ctx.config,
            ctx.hall,
            body.window,
            body.item_code,
            body.item_name,
            body.staff_id,
            cases,
            now,
            promise_at=body.promise_time,
            task_type=body.task_type,
            items=[item.model_dump() for item in body.items],
            agent_id=body.agent_id,
        )
        if mobile:
            reminders.register(db, made, mobile, now, sms_on=bool(ctx.config["sms"]["url"]))
        return _with_sms(db, sessions.get(db, made["session_id"]))

    try:
        session = ctx.store.run(op, timeout=30)
    except staff.SessionRequestError as exc:
        raise _fail(exc)
    return _session_out(ctx, session, _push(ctx, session))


def _push(ctx, session):
    if session["device_id"] is None:  # a window without a device: the link is the way to rate
        return {"pushed": False, "bytes": None}
    return push.keeper(ctx).push_session(session)


@router.post(
    "/cases/{case_id}/finished",
    status_code=201,
    response_model=SessionOut,
    responses=ERRORS,
    summary="办结: the final rating of a matter served over several visits, at its next visit number",
)
def case_finished(case_id: str, body: Optional[FinishedRequest] = None, ctx=Depends(_authorised)):
    now = ctx.clock.now()
    body = body or FinishedRequest(window=None, staff_id=None)

    def op(db):
        made = sessions.finished(db, ctx.config, ctx.hall, case_id, now, body.window, body.staff_id)
        return _with_sms(db, sessions.get(db, made["session_id"]))

    try:
        session = ctx.store.run(op, timeout=30)
    except staff.SessionRequestError as exc:
        raise _fail(exc)
    return _session_out(ctx, session, _push(ctx, session))


@router.get(
    "/sessions/{session_id}",
    response_model=SessionOut,
    responses=ERRORS,
    summary="A session: state, cases, and its rating once rated",
)
def get_session(session_id: str, ctx=Depends(_authorised)):
    try:
        with ctx.store.read() as db:
            return _session_out(ctx, _with_sms(db, sessions.get(db, session_id)))
    except staff.SessionRequestError as exc:
        raise _fail(exc)


@router.get(
    "/sessions/{session_id}/qr.png",
    response_class=Response,
    responses={**ERRORS, 200: {"content": {"image/png": {}}, "description": "a 1-bit PNG, 203 dpi"}},
    summary="The session's rate-later link as a QR code, for the receipt printer (办件回执)",
)
def session_qr(
    session_id: str,
    size: int = Query(240, ge=64, le=1200, description="width in pixels (a 58 mm receipt: 240-384)"),
    ctx=Depends(_authorised),
):
    try:
        with ctx.store.read() as db:
            session = sessions.get(db, session_id)
    except staff.SessionRequestError as exc:
        raise _fail(exc)
    url = _rate_url(ctx, session)
    if url is None or session["state"] != "open":
        closed = session["state"] != "open"
        why = sessions.STATE_NAMES.get(session["state"]) if closed else "评价期已过"
        state = session["state"] if closed else "past its rating period"
        raise _fail(
            staff.SessionClosed(
                "会话 %s %s，不能再扫码评价 / session %s is %s: its link no longer rates"
                % (session_id, why, session_id, state)
            )
        )
    return Response(render.qr_png(url, size), media_type="image/png")


@router.post(
    "/sessions/{session_id}/cancel",
    response_model=SessionOut,
    responses=ERRORS,
    summary="Cancel an open session (reported in error): no rating, the device goes back to idle",
)
def cancel_session(session_id: str, body: CancelRequest, ctx=Depends(_authorised)):
    now = ctx.clock.now()
    try:
        return _session_out(
            ctx,
            ctx.store.run(lambda db: sessions.cancel(db, session_id, body.reason, "api", now), timeout=30),
        )
    except staff.SessionRequestError as exc:
        raise _fail(exc)


@router.get(
    "/windows",
    response_model=List[WindowOut],
    responses=ERRORS,
    summary="Windows, their devices, and who is on duty",
)
def list_windows(ctx=Depends(_authorised)):
    with ctx.store.read() as db:
        return [_window_out(w) for w in staff.list_windows(db, ctx.hall)]


def _duty(ctx, window, change):
    now = ctx.clock.now()

    def op(db):
        changed = change(db, now)
        return changed, staff.get_window(db, ctx.hall, window)

    try:
        changed, place = ctx.store.run(op, timeout=30)
    except staff.SessionRequestError as exc:
        raise _fail(exc)
    for name in changed:
        push.keeper(ctx).window_changed(name)
    return _window_out(place)


@router.post(
    "/windows/{window}/duty",
    response_model=WindowOut,
    responses=ERRORS,
    summary="A staff member goes on duty at the window (off any other)",
)
def duty_on(window: str, body: DutyRequest, ctx=Depends(_authorised)):
    return _duty(ctx, window, lambda db, now: staff.on_duty(db, ctx.hall, window, body.staff_id, now, "api"))


@router.delete(
    "/windows/{window}/duty",
    response_model=WindowOut,
    responses=ERRORS,
    summary="Nobody serves at the window: the device shows 暂停服务",
)
def duty_off(window: str, ctx=Depends(_authorised)):
    return _duty(ctx, window, lambda db, now: staff.off_duty(db, ctx.hall, window, now, "api"))


def openapi_json():
    """The OpenAPI document of /api/v1 alone, as stable text (docs/openapi.json);
    the running app serves the whole app's at /api/openapi.json."""

    doc = get_openapi(
        title="hostd window business-system interface",
        version="1.0.0",
        summary="好差评 hall host: sessions and duty (/api/v1)",
        routes=router.routes
        + api_screens.router.routes
        + api_paper.router.routes
        + api_unresolved.router.routes,
    )
    return json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


@router.get(
    "/alerts",
    response_model=List[AlertOut],
    responses=ERRORS,
    summary="Alerts open now: devices silent in opening hours, upstream backlog, disk, certificates,"
    " calendar, overdue work orders, backup, 办不成事 to take up, due or overdue",
)
def list_alerts(ctx=Depends(_authorised)):
    with ctx.store.read() as db:
        rows = ledger.open_alerts(db)
    return [AlertOut(**{name: row[name] for name in AlertOut.model_fields}) for row in rows]
