"""The hall's pages: login, and every page router (hostd/web/pages/*.py) in one place.

/login /logout         auth.py sessions (signed cookie, CSRF)
/dashboard             pages_dashboard: rates, charts, overdue warnings
/workorders            pages_workorders: the 差评 queue, detail, state moves;
                       pages_workorder_class: its class (时限) and 会商
/appeals               pages_appeals: staff file, supervisors decide
/ratings               pages_ratings: rating list (staff: their own only), 100 a page
/ranking               pages_ranking: 季度排名 of staff, windows or units (managers)
/analysis              pages_analysis: 差评分析, concentrations, bottom units, the annual award
/fleet                 pages_fleet: devices online, last seen, outbox, firmware, heap
/display               pages_display: the public big screen (no login, aggregates only)
/export                pages_export: any table as CSV or Excel
/offline               pages_offline: 待确认的离线评价, offline ratings to bind
/paper                 pages_paper: 书面评价录入, paper forms with their scans
/attachments           pages_evidence: 佐证材料 and 举证 on orders and appeals
/spotchecks            pages_spotchecks: 回访抽查 of finished work orders
/fraud                 pages_fraud: 异常评价线索 to confirm (excluded) or dismiss
/unresolved            pages_unresolved: 办不成事, registered and followed to its end
/thirdparty            pages_thirdparty: 第三方评价 imported from Excel/CSV, shown beside the ratings
/upstream              pages_upstream: 上报失败, dead letters to retry or edit and resend
"""

from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse

from hostd.base import clock
from hostd.web import auth, logins
from hostd.web.pages import admin as pages_admin
from hostd.web.pages import analysis as pages_analysis
from hostd.web.pages import appeals as pages_appeals
from hostd.web.pages import dashboard as pages_dashboard
from hostd.web.pages import display as pages_display
from hostd.web.pages import evidence as pages_evidence
from hostd.web.pages import export as pages_export
from hostd.web.pages import fleet as pages_fleet
from hostd.web.pages import fraud as pages_fraud
from hostd.web.pages import offline as pages_offline
from hostd.web.pages import paper as pages_paper
from hostd.web.pages import ranking as pages_ranking
from hostd.web.pages import ratings as pages_ratings
from hostd.web.pages import spotchecks as pages_spotchecks
from hostd.web.pages import thirdparty as pages_thirdparty
from hostd.web.pages import unresolved as pages_unresolved
from hostd.web.pages import upstream as pages_upstream
from hostd.web.pages import workorder_class as pages_workorder_class
from hostd.web.pages import workorders as pages_workorders
from hostd.web.pages.common import TEMPLATES

STATIC = Path(__file__).resolve().parents[2] / "static"
router = APIRouter(include_in_schema=False)
for _module in (
    pages_dashboard,
    pages_workorders,
    pages_workorder_class,
    pages_appeals,
    pages_ratings,
    pages_ranking,
    pages_analysis,
    pages_fleet,
    pages_display,
    pages_export,
    pages_upstream,
    pages_offline,
    pages_paper,
    pages_evidence,
    pages_spotchecks,
    pages_fraud,
    pages_unresolved,
    pages_thirdparty,
    pages_admin,
):
    router.include_router(_module.router)


@router.get("/")
def index(user=Depends(auth.optional_user)):
    return RedirectResponse("/dashboard" if user else "/login", status_code=303)


@router.get("/static/{name}")
def static(name: str):
    path = STATIC / name
    if "/" in name or name.startswith(".") or not path.is_file():
        raise HTTPException(404, "no such file")
    return FileResponse(path)


def _safe_next(target):
    return target if target.startswith("/") and not target.startswith("//") else "/dashboard"


@router.get("/login")
def login_page(request: Request, next: str = "/dashboard"):
    session = auth.read_session(request)
    if not session.get("c"):
        session = {"c": auth.new_csrf()}
    response = _login_form(request, session["c"], _safe_next(next))
    auth.write_session(request, response, session)
    return response


def _login_form(request, csrf, next_url, error="", username="", status_code=200):
    return TEMPLATES.TemplateResponse(
        request,
        "pages/login.html",
        {
            "title": "登录",
            "hall": request.app.state.ctx.hall,
            "csrf": csrf,
            "next": next_url,
            "error": error,
            "username": username,
            "user": None,
        },
        status_code=status_code,
    )


@router.post("/login")
def login(request: Request, form=Depends(auth.require_csrf)):
    username = str(form.get("username", "")).strip()[:64]
    address = request.client.host if request.client else "-"
    store = request.app.state.ctx.store
    next_url = _safe_next(str(form.get("next", "")))
    at = clock.now()
    with store.read() as db:
        wait = logins.wait_s(db, username, address, at)
    if wait:
        store.run(lambda db: logins.record(db, username, address, "throttled", at))
        return _login_form(
            request,
            auth.csrf_of(request),
            next_url,
            "尝试次数过多，请 %d 分钟后再试；如需立即解锁请联系系统管理员（hostd user unlock %s）"
            % (max(1, (wait + 59) // 60), username or "用户名"),
            username,
            429,
        )
    with store.read() as db:
        user, result = auth.check_login(db, username, str(form.get("password", "")))
    store.run(lambda db: logins.record(db, username, address, result, at))
    if user is None:
        return _login_form(
            request,
            auth.csrf_of(request),
            next_url,
            "用户名或密码错误，请重新输入（忘记密码请联系系统管理员）",
            username,
            401,
        )
    response = RedirectResponse(next_url, status_code=303)
    auth.write_session(request, response, auth.login_session(user))
    return response


@router.post("/logout")
def logout(request: Request, form=Depends(auth.require_csrf)):
    username = auth.read_session(request).get("u")
    if username:  # every cookie of this user, copies included, stops working now
        request.app.state.ctx.store.run(lambda db: auth.end_sessions(db, username))
    response = RedirectResponse("/login", status_code=303)
    auth.write_session(request, response, {"c": auth.new_csrf()})
    return response
