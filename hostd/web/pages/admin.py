"""/admin (管理): what hall IT does on the CLI, on a page for the admin:
accounts (停用 / 启用 / 删除), staff who leave (离岗), units (add, rename),
and a session reported in error (取消). Each goes through the same rules as
its command (hostd user|staff|unit|session ...), and each form posts with
its CSRF token; the device screens follow as they do from the CLI.
"""

from fastapi import APIRouter, Depends, Request

from hostd.base.errors import UserError
from hostd.devices import push
from hostd.rules import sessions, staff
from hostd.web import auth
from hostd.web.pages.common import now, redirect_back, render

router = APIRouter()
ADMIN = auth.require_role("admin")


@router.get("/admin")
def admin_page(request: Request, user=Depends(ADMIN)):
    with request.app.state.ctx.store.read() as db:
        users = auth.list_users(db)
        people = [
            dict(r)
            for r in db.query(
                "SELECT s.staff_id, s.name, s.staff_no, s.unit_id, s.left_at, w.window FROM staff s"
                " LEFT JOIN windows w ON w.staff_id = s.staff_id ORDER BY s.left_at IS NOT NULL, s.staff_id"
            )
        ]
        units = staff.list_units(db)
    return render(
        request,
        "pages/admin.html",
        user,
        "管理",
        "/admin",
        users=users,
        people=people,
        units=units,
        roles=auth.ROLE_NAMES,
    )


def _done(request, op, ok):
    try:
        request.app.state.ctx.store.run(op)
    except (UserError, ValueError) as exc:
        return redirect_back(request, "/admin", err=str(exc))
    return redirect_back(request, "/admin", ok=ok)


@router.post("/admin/users/{name}/{action}")
def user_action(
    request: Request, name: str, action: str, form=Depends(auth.require_csrf), user=Depends(ADMIN)
):
    if action not in ("disable", "enable", "remove"):
        return redirect_back(request, "/admin", err="不支持的操作")
    if name == user["username"] and action != "enable":
        return redirect_back(request, "/admin", err="不能停用或删除自己的账号")

    def op(db):
        if auth.get_user(db, name) is None:
            raise auth.BadUser("没有账号 %s" % name)
        if action == "remove":
            auth.remove_user(db, name)
        else:
            auth.set_disabled(db, name, action == "disable", now=now())

    words = {"disable": "已停用（已强制退出登录）", "enable": "已启用", "remove": "已删除"}[action]
    return _done(request, op, "账号 %s %s" % (name, words))


@router.post("/admin/staff/{staff_id}/leave")
def staff_leave(request: Request, staff_id: str, form=Depends(auth.require_csrf), user=Depends(ADMIN)):
    ctx = request.app.state.ctx
    changed = []

    def op(db):
        changed.extend(staff.leave(db, ctx.hall, staff_id, now(), actor=user["username"]))

    answer = _done(request, op, "工作人员 %s 已离岗，历史评价保留" % staff_id)
    for window in changed:
        push.keeper(ctx).window_changed(window)  # its device shows 暂停服务
    return answer


@router.post("/admin/units")
def unit_save(request: Request, form=Depends(auth.require_csrf), user=Depends(ADMIN)):
    unit_id = str(form.get("unit_id", "")).strip()
    name = str(form.get("name", "")).strip()

    def op(db):
        try:
            staff.get_unit(db, unit_id)
        except staff.UnknownUnit:
            return staff.add_unit(db, unit_id, name)
        return staff.rename_unit(db, unit_id, name)

    return _done(request, op, "单位 %s 已保存为 %s" % (unit_id, name))


@router.post("/admin/sessions/cancel")
def session_cancel(request: Request, form=Depends(auth.require_csrf), user=Depends(ADMIN)):
    session_id = str(form.get("session_id", "")).strip()
    reason = str(form.get("reason", ""))
    return _done(
        request,
        lambda db: sessions.cancel(db, session_id, reason, user["username"], now()),
        "会话 %s 已取消，评价器回到待机画面" % session_id,
    )
