"""/admin (管理): the CLI's account, staff, unit and session operations on a
page for the admin (issue 19), each through the same rules."""

from test_pages_auth import client_for, csrf, hall, login, seeded_home  # noqa: F401  (fixtures)

from hostd.base import config as config_schema
from hostd.rules import sessions
from hostd.web import auth


def post(client, path, **form):
    token = csrf(client.get("/admin").text)
    return client.post(path, data=dict(form, csrf=token))


def test_only_the_admin_opens_it(hall):  # noqa: F811
    ctx, _made = hall
    supervisor = client_for(ctx)
    login(supervisor, "zhao")
    assert supervisor.get("/admin").status_code == 403
    assert 'href="/admin"' not in supervisor.get("/dashboard").text  # not in the menu
    admin = client_for(ctx)
    login(admin, "admin")
    page = admin.get("/admin").text
    assert 'href="/admin"' in page and "zhao" in page and "张" in page


def test_accounts_are_disabled_enabled_and_removed_but_never_ones_own(hall):  # noqa: F811
    ctx, _made = hall
    admin = client_for(ctx)
    login(admin, "admin")
    assert post(admin, "/admin/users/zhao/disable").status_code == 303
    assert login(client_for(ctx), "zhao").status_code == 401
    post(admin, "/admin/users/zhao/enable")
    assert login(client_for(ctx), "zhao").status_code == 303
    post(admin, "/admin/users/li/remove")
    post(admin, "/admin/users/admin/disable")  # itself: refused
    with ctx.store.read() as db:
        assert auth.get_user(db, "li") is None
        assert auth.get_user(db, "admin")["disabled_at"] is None


def test_staff_leave_units_and_a_cancelled_session(hall):  # noqa: F811
    ctx, _made = hall
    made = ctx.store.run(
        lambda db: sessions.create(db, config_schema.defaults(), "h1", "W01", "A9", "户口迁移", "s1", (), 100)
    )
    admin = client_for(ctx)
    login(admin, "admin")
    post(admin, "/admin/staff/s2/leave")
    post(admin, "/admin/units", unit_id="u9", name="税务局")
    post(admin, "/admin/units", unit_id="u9", name="税务局第一分局")
    post(admin, "/admin/sessions/cancel", session_id=made["session_id"], reason="录入错误")
    with ctx.store.read() as db:
        assert db.execute("SELECT left_at IS NOT NULL FROM staff WHERE staff_id = 's2'").fetchone()[0] == 1
        assert db.execute("SELECT name FROM units WHERE unit_id = 'u9'").fetchone()[0] == "税务局第一分局"
        state = db.execute(
            "SELECT state, cancel_reason, cancelled_by FROM sessions WHERE session_id = ?",
            [made["session_id"]],
        ).fetchone()
    assert tuple(state) == ("cancelled", "录入错误", "admin")
    page = admin.get("/admin").text
    assert "已离岗" in page and "税务局第一分局" in page
