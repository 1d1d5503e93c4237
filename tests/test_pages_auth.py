"""Login, roles, CSRF and evaluator privacy of the hall pages (FastAPI TestClient, real SQLite)."""

import re
import shutil

import pytest
from fastapi.testclient import TestClient
from hostd_support import hostd, make_home
from pages_seed import PASSWORD, open_context, seed

from hostd.base.home import Home
from hostd.web.app import create_app


@pytest.fixture(scope="module")
def seeded_home(tmp_path_factory):
    """One seeded home (argon2 hashing is slow on purpose); each test gets a copy."""
    home = make_home(tmp_path_factory.mktemp("pages") / "home", hall="h1")
    ctx = open_context(home)
    made = ctx.store.run(lambda db: seed(db))
    ctx.store.close()
    return home.path, made


@pytest.fixture
def hall(seeded_home, tmp_path):
    source, made = seeded_home
    shutil.copytree(source, tmp_path / "home")
    ctx = open_context(Home(tmp_path / "home"))
    yield ctx, made
    ctx.store.close()


def client_for(ctx):
    return TestClient(create_app(ctx), follow_redirects=False)


def csrf(html):
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def login(client, username, password=PASSWORD):
    token = csrf(client.get("/login").text)
    return client.post(
        "/login", data={"username": username, "password": password, "csrf": token, "next": "/dashboard"}
    )


def test_wrong_password_says_so_clearly(hall):
    client = client_for(hall[0])
    response = login(client, "zhao", "wrong-password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert client.get("/dashboard").status_code == 303  # still not logged in
    assert login(client, "nobody").status_code == 401


def test_login_then_pages_open(hall):
    client = client_for(hall[0])
    response = login(client, "zhao")
    assert response.status_code == 303 and response.headers["location"] == "/dashboard"
    for path in ("/dashboard", "/workorders", "/appeals", "/ratings", "/fleet", "/export"):
        page = client.get(path)
        assert page.status_code == 200, (path, page.text[:300])
        assert "政务服务好差评" in page.text
    assert client.get("/status").status_code == 200  # the JSON status still works


def test_pages_need_login(hall):
    client = client_for(hall[0])
    response = client.get("/workorders")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


def test_post_without_csrf_is_refused(hall):
    client = client_for(hall[0])
    client.get("/login")
    refused = client.post("/login", data={"username": "zhao", "password": PASSWORD})
    assert refused.status_code == 403 and "CSRF" in refused.text
    login(client, "zhao")
    refused = client.post("/workorders/1/move", data={"to_state": "contacted", "csrf": "forged"})
    assert refused.status_code == 403
    with hall[0].store.read() as db:
        assert db.execute("SELECT state FROM work_orders WHERE order_id = 1").fetchone()[0] == "new"


def test_staff_see_only_their_own(hall):
    ctx, made = hall
    client = client_for(ctx)
    login(client, "zhang")  # staff s1
    page = client.get("/ratings?days=30").text
    shown = {int(i) for i in re.findall(r"<td>#(\d+)</td>", page)}
    assert shown == set(made["s1"])
    assert "王秘密" not in page and "13800138000" not in page
    with ctx.store.read() as db:
        others = db.execute("SELECT order_id FROM work_orders WHERE staff_id = 's2'").fetchone()[0]
    assert client.get("/workorders/%d" % others).status_code == 404
    assert client.get("/fleet").status_code == 403
    assert client.get("/export/ratings.csv").status_code == 403
    assert client.get("/ratings?days=30&evaluator=1").text.count("13800138000") == 0


def test_evaluator_data_only_for_supervisor_and_logged(hall):
    ctx, _ = hall
    admin = client_for(ctx)
    login(admin, "admin")
    assert "13800138000" not in admin.get("/ratings?days=30&evaluator=1").text
    assert "13800138000" not in admin.get("/export/ratings.csv?evaluator=1").text
    with ctx.store.read() as db:
        assert db.execute("SELECT COUNT(*) FROM evaluator_access").fetchone()[0] == 0
    supervisor = client_for(ctx)
    login(supervisor, "zhao")
    assert "13800138000" not in supervisor.get("/ratings?days=30").text
    page = supervisor.get("/ratings?days=30&evaluator=1").text
    assert "13800138000" in page
    with ctx.store.read() as db:
        logged = db.execute("SELECT username, COUNT(*) FROM evaluator_access GROUP BY username").fetchall()
    assert logged == [("zhao", 7)]


def test_display_is_public_and_has_no_evaluator_data(hall):
    client = client_for(hall[0])
    page = client.get("/display")
    assert page.status_code == 200
    assert "W01" in page.text and "好评率" in page.text
    for secret in ("王秘密", "13800138000", "等候时间太长"):
        assert secret not in page.text
    assert re.search(r'id="today-total">7<', page.text)


def test_export_drops_secrets(hall):
    client = client_for(hall[0])
    login(client, "admin")
    assert "users" not in re.findall(r"<td>(\w+)</td>", client.get("/export").text)
    assert client.get("/export/users.csv").status_code == 404
    devices = client.get("/export/devices.csv").text
    assert devices.startswith("\ufeffdevice_id") and "w01-a" in devices
    assert "key_hex" not in devices and "abababab" not in devices


def test_user_cli(tmp_path):
    home = make_home(tmp_path / "home", hall="h1")
    result = hostd(home, "user", "add", "wang", "--role", "supervisor")
    assert result.exit_code != 0 and "password" in result.output.lower()
    from click.testing import CliRunner

    from hostd.cli import cli

    run = CliRunner().invoke
    ok = run(
        cli,
        ["--home", str(home.path), "user", "add", "wang", "--role", "supervisor"],
        input="long-enough-secret\n",
    )
    assert ok.exit_code == 0, ok.output
    short = run(cli, ["--home", str(home.path), "user", "add", "wu", "--role", "admin"], input="short\n")
    assert short.exit_code == 2 and "at least 10" in short.output and "Traceback" not in short.output
    nostaff = run(
        cli,
        ["--home", str(home.path), "user", "add", "xu", "--role", "staff", "--staff-id", "nope"],
        input="long-enough-secret\n",
    )
    assert nostaff.exit_code == 2 and "no staff member nope" in nostaff.output
    listed = hostd(home, "user", "list")
    assert "wang" in listed.output and "supervisor" in listed.output
    from hostd.db.store import open_database

    db = open_database(home.db_path)
    stored = db.execute("SELECT password_hash FROM users WHERE username = 'wang'").fetchone()[0]
    assert stored.startswith("$argon2id$") and "long-enough-secret" not in stored


def test_dashboard_shows_upstream_dead_letters(hall):
    ctx, _ = hall
    ctx.config["upstream"]["url"] = "http://127.0.0.1:9/"  # configured: the backlog card shows
    ctx.store.run(
        lambda db: db.execute(
            "INSERT INTO upstream_outbox (target, kind, key, ref, body, status, attempts,"
            " next_attempt, last_error, created_at) VALUES ('province', 'rating', 'dev:d9:1:c1',"
            " 'r9', '{}', 'dead', 1, 0, 'BAD_FIELD: taskCode 不合法', 0)"
        )
    )
    client = client_for(ctx)
    login(client, "zhao")
    page = client.get("/dashboard").text
    assert "上报失败（死信" in page and "BAD_FIELD: taskCode 不合法" in page
    assert re.search(r'id="upstream"><span>\d+</span> / <a href="/upstream"[^>]*>1</a>', page)
    assert client.get("/upstream").status_code == 200


def test_an_unconfigured_upstream_shows_no_backlog(hall):
    ctx, _ = hall
    assert not ctx.config["upstream"]["url"]
    client = client_for(ctx)
    login(client, "zhao")
    page = client.get("/dashboard").text
    assert re.search(r'id="upstream">上报未配置</div>', page)
    assert "待上报 / 上报失败" not in page


def test_dashboard_warns_when_the_calendar_lacks_a_year_deadlines_reach(hall, tmp_path, monkeypatch):
    import calendar as cal
    import time

    from hostd.base import clock

    ctx, _ = hall
    client = client_for(ctx)
    login(client, "zhao")
    offset_file = tmp_path / "clock"
    monkeypatch.setenv(clock.ENV, str(offset_file))

    def at(date):  # the rules' clock at 10:00 Beijing time that day
        clock.set_offset(offset_file, cal.timegm(time.strptime(date, "%Y-%m-%d")) + 2 * 3600 - time.time())
        return client.get("/dashboard").text

    assert 'id="calendar-warning"' not in at("2026-03-02")  # chinese-calendar knows 2026
    page = at("2040-12-01")  # and no package knows 2040 or 2041 yet
    assert 'id="calendar-warning"' in page and "2040、2041 年" in page and "[2041]" in page
    holidays = tmp_path / "holidays.toml"
    holidays.write_text('[2040]\nholidays = ["2040-10-01..2040-10-07"]\n[2041]\nholidays = ["2041-01-01"]\n')
    ctx.config["rating"]["holiday_file"] = str(holidays)
    assert 'id="calendar-warning"' not in at("2040-12-01")
    ctx.config["rating"]["working_days"] = False
    ctx.config["rating"]["holiday_file"] = ""
    assert 'id="calendar-warning"' not in at("2040-12-01")  # natural days need no calendar


def test_dashboard_lists_the_open_alerts_for_supervisors(hall):
    ctx, _ = hall
    ctx.store.run(
        lambda db: db.conn.executemany(
            "INSERT INTO alerts (key, kind, subject, message, raised_at, cleared_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    "device_silent:d7",
                    "device_silent",
                    "d7",
                    "评价器 d7（07 号窗口）已 15 分钟没有消息",
                    1,
                    None,
                ),
                ("disk_low:/x", "disk_low", "/x", "磁盘空间不足：早已解决", 1, 2),
            ],
        )
    )
    client = client_for(ctx)
    login(client, "zhao")
    page = client.get("/dashboard").text
    box = re.search(r'<div class="warn" id="alerts">(.*?)</div>', page, re.S).group(1)
    assert "系统告警（1）" in box and "评价器失联" in box and "评价器 d7（07 号窗口）" in box
    assert "早已解决" not in page  # cleared: gone from the dashboard
    staff = client_for(ctx)
    login(staff, "zhang")  # staff see their own results, not the hall's alerts
    assert 'id="alerts"' not in staff.get("/dashboard").text
