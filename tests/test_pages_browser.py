"""The hall pages in real headless Chromium (Playwright + Debian's chromium), on the real server.

One walk through a supervisor's and a staff member's day: log in, open a 差评
work order and move it to 已办结, appeal a rating and uphold the appeal, see
the rates change, export Excel and open it with openpyxl. Screenshots of each
page go to docs/screens/page-*.png.
"""

import json
import os
import re
import tempfile
from pathlib import Path

import openpyxl
import pytest
from hostd_support import make_home
from pages_seed import PASSWORD, SCREENS, open_context, seed

from conftest import CHROMIUM, free_port
from hostd.web.app import create_app
from hostd.web.server import WebServer


@pytest.fixture
def site(tmp_path):
    assert os.path.exists(CHROMIUM), "no %s: run scripts/system-deps.sh (apt-get install chromium)" % CHROMIUM
    home = make_home(tmp_path / "home", hall="h1")
    ctx = open_context(home)
    made = ctx.store.run(lambda db: seed(db))
    server = WebServer(create_app(ctx), "127.0.0.1", free_port()).start()
    yield server.url.rstrip("/"), ctx, made
    server.stop()
    ctx.store.close()


def shot(page, name):
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / ("page-%s.png" % name)), full_page=True)


def login(page, url, username, password=PASSWORD):
    page.goto(url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def logout(page):
    page.click("header .who button")
    page.wait_for_url(re.compile(r"/login"))


def rate_text(page, selector):
    return page.inner_text(selector).strip()


def test_supervisor_and_staff_day(site, browser, tmp_path):
    url, ctx, _ = site
    page = browser.new_page(viewport={"width": 1280, "height": 800}, accept_downloads=True)

    # wrong password: a clear message, still on the login page
    login(page, url, "zhao", "not-the-password")
    assert "用户名或密码错误" in page.inner_text("#login-error")
    shot(page, "login")

    login(page, url, "zhao")
    page.wait_for_url(re.compile(r"/dashboard$"))
    bad_before = rate_text(page, "#bad-rate")
    assert bad_before == "28.6%"  # 2 差评 of 7
    assert rate_text(page, "#callback-rate") == "0.0%"  # both 差评 left a phone; nobody called back yet
    shot(page, "dashboard")

    # the work-order queue: open the order of s1's 差评 and walk it to 已办结
    page.click("header nav >> text=差评工单")
    assert page.locator("#orders tr").count() == 3  # header + two open orders
    shot(page, "workorders")
    with ctx.store.read() as db:
        order_id = db.execute("SELECT order_id FROM work_orders WHERE staff_id = 's1'").fetchone()[0]
    page.click("a[href='/workorders/%d']" % order_id)
    for to_state, extra in (
        ("contacted", {}),
        ("rectifying", {}),
        ("replied", {"reply": "已向群众说明并优化叫号流程"}),
        ("closed", {"feedback": "满意"}),
    ):
        page.select_option("#to-state", to_state)
        for name, value in extra.items():
            if name == "feedback":
                page.select_option("select[name=feedback]", value)
            else:
                page.fill("input[name=%s]" % name, value)
        page.click("#move-form button[type=submit]")
        page.wait_for_load_state()
        if to_state == "replied":
            shot(page, "workorder")
    assert page.inner_text("#order-state") == "已办结"
    events = page.locator("#events tr td:nth-child(4)").all_inner_texts()
    moved = [e for e in events if e in ("已联系", "整改中", "已答复", "已办结")]
    assert moved == ["已联系", "整改中", "已答复", "已办结"], events
    assert page.locator("#events").inner_text().count("zhao") >= 4  # who moved it
    with ctx.store.read() as db:
        assert db.execute(
            "SELECT state, feedback FROM work_orders WHERE order_id = ?", [order_id]
        ).fetchone() == ("closed", "满意")
    logout(page)

    # staff li appeals the 不满意 she got
    login(page, url, "li")
    page.wait_for_url(re.compile(r"/dashboard$"))
    page.click("header nav >> text=评价明细")
    shot(page, "ratings-staff")
    with ctx.store.read() as db:
        bad_id = db.execute(
            "SELECT r.id FROM ratings r JOIN sessions s USING (session_id)"
            " WHERE s.staff_id = 's2' AND r.level = 2"
        ).fetchone()[0]
    page.click("a[href='/appeals?rating_id=%d']" % bad_id)
    page.fill("textarea[name=reason]", "群众误按，现场已当面确认对服务满意")
    page.click("#appeal-form button[type=submit]")
    assert "申诉已提交" in page.inner_text("main")
    logout(page)

    # the supervisor upholds it as 误评: the rating stays but is no longer counted
    login(page, url, "zhao")
    page.goto(url + "/appeals")
    shot(page, "appeals")
    page.select_option("form.decide select[name=verdict]", "误评")
    page.click("form.decide button[value=uphold]")
    assert "已支持" in page.inner_text("main")
    with ctx.store.read() as db:
        assert db.execute("SELECT excluded FROM ratings WHERE id = ?", [bad_id]).fetchone()[0] == "误评"
    page.goto(url + "/dashboard")
    assert rate_text(page, "#bad-rate") == "16.7%"  # 1 差评 of 6 counted
    assert rate_text(page, "#excluded") == "1"

    # the fleet page, the export page, and an Excel export opened with openpyxl
    page.goto(url + "/fleet")
    assert page.inner_text("#online-count") == "1"
    assert "w02-a" in page.inner_text("#fleet") and "60.0 KB" in page.inner_text("#fleet")
    shot(page, "fleet")
    page.goto(url + "/export")
    shot(page, "export")
    with page.expect_download() as info:
        page.click("#xlsx-ratings")
    download = info.value
    assert download.suggested_filename.startswith("ratings-") and download.suggested_filename.endswith(
        ".xlsx"
    )
    path = str(tmp_path / download.suggested_filename)
    download.save_as(path)
    sheet = openpyxl.load_workbook(path).active
    rows = list(sheet.values)
    assert rows[0][0] == "评价编号" and "评价人电话" not in rows[0]  # Chinese headers
    assert sheet.title == "评价明细"
    assert len(rows) == 1 + 7
    levels = sorted(r[rows[0].index("评价等级")] for r in rows[1:])
    assert levels == [1, 2, 3, 4, 5, 5, 5]

    # the public big screen: no login, aggregates only
    fresh = browser.new_page(viewport={"width": 1920, "height": 1080})
    fresh.goto(url + "/display")
    assert fresh.inner_text("#today-total") == "6"
    text = fresh.inner_text("body")
    assert "王秘密" not in text and "13800138000" not in text
    shot(fresh, "display")


def test_staff_cannot_open_another_staff_members_order(site, browser):
    url, ctx, _ = site
    page = browser.new_page()
    login(page, url, "zhang")
    page.wait_for_url(re.compile(r"/dashboard$"))
    with ctx.store.read() as db:
        other = db.execute("SELECT order_id FROM work_orders WHERE staff_id = 's2'").fetchone()[0]
    response = page.goto(url + "/workorders/%d" % other)
    assert response.status == 404
    page.goto(url + "/workorders")
    assert page.locator("#orders tr").count() == 2  # header + their own order
    assert page.goto(url + "/fleet").status == 403


def test_supervisor_edits_and_resends_a_dead_letter(site, browser):
    """The 上报失败 page: a record the platform refused (a unit without codes),
    edited in the browser with the right codes, queued again, and logged."""
    url, ctx, _ = site
    body = {
        "projectNo": "CASE-1",
        "serviceNumber": 1,
        "serviceName": "营业执照办理",
        "serviceTime": "2026-11-21 08:00:00",
        "taskCode": "A001",
        "taskName": "营业执照办理",
        "deptCode": "",
        "areaCode": "",
        "proManager": "张伟",
    }

    def refused(db):
        db.execute(
            "UPDATE upstream_outbox SET status = 'dead', attempts = 1, body = ?,"
            " last_error = 'BAD_CODE: deptCode 须为18位统一社会信用代码' WHERE key = 'svc:CASE-1:1'",
            [json.dumps(body, ensure_ascii=False)],
        )
        return db.execute("SELECT id FROM upstream_outbox WHERE key = 'svc:CASE-1:1'").fetchone()[0]

    row_id = ctx.store.run(refused)
    page = browser.new_page()
    login(page, url, "zhao")
    page.goto(url + "/upstream")
    letter = page.locator("#letter-%d" % row_id)
    assert "deptCode 须为18位统一社会信用代码" in letter.inner_text()
    letter.locator("details:has(form.edit) > summary").click()
    text = letter.locator("form.edit textarea").input_value()
    fixed = json.loads(text)
    fixed.update(deptCode="11330100MB0000001X", areaCode="330100000000")
    letter.locator("form.edit textarea").fill(json.dumps(fixed, ensure_ascii=False))
    shot(page, "upstream")
    letter.locator("form.edit button").click()
    assert "已修改并重新排队上报" in page.inner_text("main")
    assert "没有上报失败的记录" in page.inner_text("#letters")
    with ctx.store.read() as db:
        status, sent = db.execute(
            "SELECT status, body FROM upstream_outbox WHERE id = ?", [row_id]
        ).fetchone()
        actor = db.execute(
            "SELECT actor, action FROM upstream_actions WHERE outbox_id = ?", [row_id]
        ).fetchone()
    assert status == "pending" and json.loads(sent)["deptCode"] == "11330100MB0000001X"
    assert actor == ("zhao", "edit")
