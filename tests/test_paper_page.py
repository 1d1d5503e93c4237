"""/paper, 书面评价录入, in real headless Chromium on the real server (issue 18, item 3),
and the 实名差评回访率 figure (item 4) the dashboard shows.

A staff member enters a form with a scan; a refused form comes back filled
in with the reason; only a supervisor opens the scan, and the read is
logged. Screenshot: docs/screens/page-paper.png (UPDATE_SCREENS=1).
"""

import io
import os
import re
import tempfile
import time
from pathlib import Path

import pytest
from hostd_support import make_home
from pages_seed import PASSWORD, SCREENS, open_context, seed
from PIL import Image
from session_rows import add_session

from conftest import CHROMIUM, free_port
from hostd.casework import workorders
from hostd.recording import channels
from hostd.recording import evaluator as evaluators
from hostd.reporting import stats
from hostd.web.app import create_app
from hostd.web.server import WebServer


@pytest.fixture
def site(tmp_path):
    assert os.path.exists(CHROMIUM), "no %s: run scripts/system-deps.sh (apt-get install chromium)" % CHROMIUM
    home = make_home(tmp_path / "home", hall="h1")
    ctx = open_context(home)
    ctx.store.run(lambda db: seed(db))
    now = int(time.time())
    for sid, staff_id in (("PS-1", "s2"), ("PS-2", "s2"), ("PS-OWN", "s1")):
        ctx.store.run(
            lambda db, sid=sid, staff_id=staff_id: add_session(
                db, sid, now - 300, now + 86400, window="W01", staff_id=staff_id
            )
        )
    server = WebServer(create_app(ctx), "127.0.0.1", free_port()).start()
    yield server.url.rstrip("/"), ctx
    server.stop()
    ctx.store.close()


def login(page, url, username):
    page.goto(url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/dashboard$"))


def scan_file(tmp_path):
    path = tmp_path / "form-A0007.jpg"
    Image.new("RGB", (300, 420), (250, 250, 245)).save(path, "JPEG")
    return path


def one(ctx, sql, *args):
    with ctx.store.read() as db:
        return db.conn.execute(sql, args).fetchone()


def test_a_staff_member_enters_a_paper_form_and_a_supervisor_reads_its_scan(site, browser, tmp_path):
    url, ctx = site
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, url, "zhang")  # staff member s1
    page.click("nav a[href='/paper']")
    page.wait_for_selector("#paper-form")

    # a form about zhang's own service: someone else must enter it
    page.fill("input[name=session_id]", "PS-OWN")
    page.fill("input[name=serial]", "A-0006")
    page.check("input[name=level][value='5']")
    page.click("#paper-form button[type=submit]")
    page.wait_for_selector("#paper-error")
    assert "不能录入对本人服务" in page.inner_text("#paper-error")

    # a 差评 without a reason: refused, the form comes back filled in
    page.fill("input[name=session_id]", "PS-1")
    page.fill("input[name=serial]", "A-0007")
    page.check("input[name=level][value='2']")
    page.set_input_files("input[name=scan]", str(scan_file(tmp_path)))
    page.click("#paper-form button[type=submit]")
    page.wait_for_selector("#paper-error")
    assert "差评须选择原因" in page.inner_text("#paper-error")
    assert page.input_value("input[name=serial]") == "A-0007"
    assert page.is_checked("input[name=level][value='2']")
    assert one(ctx, "SELECT COUNT(*) FROM paper_forms") == (0,)

    page.check("input[name=reasons][value='2']")
    page.fill("textarea[name=comment]", "排队时间太长")
    page.fill("input[name=name]", "刘女士")
    page.fill("input[name=mobile]", "13700001111")
    page.check("input[name=consent_callback]")
    page.set_input_files("input[name=scan]", str(scan_file(tmp_path)))
    page.click("#paper-form button[type=submit]")
    page.wait_for_selector("main .ok")
    assert "A-0007" in page.inner_text("main .ok") and "PS-1" in page.inner_text("main .ok")
    rating_id, channel, level, named = one(
        ctx, "SELECT id, channel, level, named FROM ratings WHERE session_id = 'PS-1' AND binding = 'session'"
    )
    assert (channel, level, named) == ("paper", 2, 1)
    assert one(ctx, "SELECT entered_by FROM paper_forms WHERE rating_id = ?", rating_id) == ("zhang",)
    assert (
        page.inner_text("#paper-%d td:last-child" % rating_id).strip() == "有"
    )  # staff: no link to the scan

    # the same form again, now for the other session: refused by its serial
    page.fill("input[name=session_id]", "PS-2")
    page.fill("input[name=serial]", "A-0007")
    page.check("input[name=level][value='5']")
    page.click("#paper-form button[type=submit]")
    page.wait_for_selector("#paper-error")
    assert "已录入过" in page.inner_text("#paper-error")
    assert one(ctx, "SELECT state FROM sessions WHERE session_id = 'PS-2'") == ("open",)

    # a staff member may not open the scan; a supervisor may, and it is logged
    denied = page.request.get(url + "/paper/%d/scan" % rating_id)
    assert denied.status == 403
    page.close()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, url, "zhao")
    page.goto(url + "/paper")
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "page-paper.png"), full_page=True)
    link = page.get_attribute("#paper-%d a" % rating_id, "href")
    got = page.request.get(url + link)
    assert got.status == 200 and got.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(got.body())).size == (300, 420)
    assert one(ctx, "SELECT username, fields FROM evaluator_access WHERE rating_id = ?", rating_id) == (
        "zhao",
        "paper_scan",
    )
    page.close()


def test_named_bad_ratings_and_their_callbacks_make_a_rate(tmp_path):
    """实名差评回访率: named 差评 whose work order reached the citizen; kept after the purge."""
    home = make_home(tmp_path / "home", hall="h1")
    ctx = open_context(home)
    now = int(time.time())
    try:
        for sid in ("N1", "N2", "N3"):
            ctx.store.run(lambda db, sid=sid: add_session(db, sid, now - 300, now + 86400))
        named = evaluators.clean("王", "13800138000", callback_consent=True)

        def rate(sid, level, who):
            return ctx.store.run(
                lambda db: channels.record_rating(db, sid, "qr", level, [2], now=now, evaluator=who)
            )

        first = rate("N1", 1, named)
        rate("N2", 2, named)
        rate("N3", 1, evaluators.NONE)  # a 差评 without a name: not counted here
        window = (now - 86400, now + 86400)
        with ctx.store.read() as db:
            assert stats.named_callbacks(db, *window) == {
                "named_bad": 2,
                "called_back": 0,
                "callback_rate": 0.0,
            }
            order = db.conn.execute(
                "SELECT order_id FROM work_orders WHERE rating_id = ?", (first,)
            ).fetchone()[0]
        ctx.store.run(lambda db: workorders.move(db, order, "contacted", "zhao", now=now))
        ctx.store.run(
            lambda db: db.conn.execute("UPDATE ratings SET evaluator_name = NULL, evaluator_mobile = NULL")
        )
        with ctx.store.read() as db:
            assert stats.named_callbacks(db, *window) == {
                "named_bad": 2,
                "called_back": 1,
                "callback_rate": 0.5,
            }
            assert stats.named_callbacks(db, *window, staff_id="nobody")["named_bad"] == 0
    finally:
        ctx.store.close()
