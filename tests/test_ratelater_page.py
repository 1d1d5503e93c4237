"""The rate-later page in real headless Chromium (Playwright + Debian's chromium)
against the real app served by uvicorn on a free port, with real SQLite."""

import json
import os
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from hostd_support import make_home
from session_rows import add_device_rating, add_session, counted

from conftest import free_port
from hostd.base.context import Context
from hostd.db.store import Store
from hostd.rules import links
from hostd.web.app import create_app
from hostd.web.server import WebServer

CHROMIUM = "/usr/bin/chromium"
# Screenshots are taken on every run; UPDATE_SCREENS=1 writes them over docs/screens.
SCREENS = (
    Path(__file__).resolve().parent.parent / "docs" / "screens"
    if os.environ.get("UPDATE_SCREENS")
    else Path(tempfile.gettempdir()) / "hcp-screens"
)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    home = make_home(tmp_path_factory.mktemp("ratelater") / "home")
    port = free_port()
    config = home.config()
    config["web"]["public_url"] = "http://127.0.0.1:%d" % port
    config["web"]["ratelater_per_minute"] = 6000  # every page test posts from 127.0.0.1
    store = Store(home.db_path)
    ctx = Context(home, config, store)
    server = WebServer(create_app(ctx), "127.0.0.1", port).start()
    yield ctx
    server.stop()
    store.close()


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail("%s is missing: run `make install` (scripts/system-deps.sh installs chromium)" % CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(
        viewport={"width": 390, "height": 780}, locale="zh-CN", device_scale_factor=2
    )
    page = context.new_page()
    page.set_default_timeout(5000)
    yield page
    context.close()


_ids = iter(range(1, 10_000))


def session(ctx, period=86400, created=None):
    """A new open session and its link (valid for the period)."""
    sid = "S%d-%04d" % (os.getpid(), next(_ids))
    created = created or int(time.time()) - 60
    ctx.store.run(
        lambda db: add_session(db, sid, created, created + period, item_name="不动产登记资料查询（个人）")
    )
    return sid, links.rate_url(ctx, sid, created + period)


def rated(ctx, sid):
    with ctx.store.read() as db:
        return counted(db, sid)


def rating_row(ctx, sid):
    with ctx.store.read() as db:
        row = db.conn.execute(
            "SELECT channel, level, reasons, comment, details, client_addr FROM ratings"
            " WHERE session_id = ? AND binding = 'session'",
            (sid,),
        ).fetchone()
    return row


def shot(page, name):
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / ("ratelater-%s.png" % name)), full_page=True)


def test_rate_and_see_thanks(site, page):
    sid, url = session(site)
    response = page.goto(url)
    assert response.status == 200
    assert "不动产登记资料查询" in page.text_content("body") and "张三" in page.text_content("body")
    shot(page, "rate")
    page.check("input[name=level][value='4']")
    page.check("input[name=guide][value='yes']")
    page.fill("textarea[name=comment]", "窗口人员很耐心")
    page.click("#rate button[type=submit]")
    page.wait_for_selector("#thanks")
    assert "感谢您的评价" in page.text_content("#thanks")
    shot(page, "thanks")
    channel, level, reasons, comment, details, client = rating_row(site, sid)
    assert (channel, level, reasons, comment) == ("qr", 4, "[]", "窗口人员很耐心")
    assert json.loads(details) == {"guide": "yes"}
    assert client == "127.0.0.1"
    with site.store.read() as db:
        assert (
            db.conn.execute("SELECT state FROM sessions WHERE session_id = ?", (sid,)).fetchone()[0]
            == "rated"
        )


def test_bad_rating_needs_a_reason_or_text(site, page):
    sid, url = session(site)
    page.goto(url)
    page.check("input[name=level][value='1']")
    page.click("#rate button[type=submit]")
    page.wait_for_selector("#error")
    assert "请选择原因或写几句话" in page.text_content("#error")
    shot(page, "reason-needed")
    assert rated(site, sid) == []
    # the choice is kept; add a reason and it is recorded
    assert page.is_checked("input[name=level][value='1']")
    page.check("input[name=reasons][value='2']")
    page.click("#rate button[type=submit]")
    page.wait_for_selector("#thanks")
    assert rating_row(site, sid)[:3] == ("qr", 1, "[2]")


def test_comment_and_details_after_a_device_rating(site, page):
    sid, url = session(site)
    site.store.run(lambda db: add_device_rating(db, sid, 5, seq=int(time.time() * 1000) % 10**9))
    page.goto(url)
    assert "非常满意" in page.text_content("#level") and "评价器" in page.text_content("body")
    assert page.query_selector("#rate") is None  # no second rating
    for key, value in (("guide", "yes"), ("procedure", "fair"), ("materials", "no"), ("interface", "yes")):
        page.check("input[name=%s][value='%s']" % (key, value))
    page.fill("textarea[name=improve]", "希望增加自助填表机")
    page.fill("textarea[name=comment]", "整体满意")
    shot(page, "details")
    page.click("#more button[type=submit]")
    page.wait_for_selector("#thanks")
    assert "补充意见" in page.text_content("#thanks")
    channel, level, _reasons, comment, details, _client = rating_row(site, sid)
    assert (channel, level, comment) == ("device", 5, "整体满意")
    assert json.loads(details) == {
        "guide": "yes",
        "procedure": "fair",
        "materials": "no",
        "interface": "yes",
        "improve": "希望增加自助填表机",
    }
    assert page.query_selector("#more") is None  # once


def evaluator_row(ctx, sid):
    with ctx.store.read() as db:
        return db.conn.execute(
            "SELECT evaluator_name, evaluator_mobile, evaluator_consent, named FROM ratings"
            " WHERE session_id = ? AND binding = 'session'",
            (sid,),
        ).fetchone()


def test_a_named_rating_needs_the_consent_box_and_a_real_mobile_number(site, page):
    """实名 (issue 18, item 4): a name and phone for a callback, kept only with consent."""
    sid, url = session(site)
    page.goto(url)
    page.check("input[name=level][value='2']")
    page.check("input[name=reasons][value='2']")
    page.fill("#named input[name=name]", "王小明")
    page.fill("#named input[name=mobile]", "1380013800")  # ten digits
    page.check("#named input[name=consent_callback]")
    page.click("#rate button[type=submit]")
    page.wait_for_selector("#error")
    assert "不是有效的大陆手机号" in page.text_content("#error")
    assert rated(site, sid) == []
    assert page.input_value("#named input[name=name]") == "王小明"  # kept to correct
    page.fill("#named input[name=mobile]", "138 0013 8000")
    page.uncheck("#named input[name=consent_callback]")
    page.click("#rate button[type=submit]")
    page.wait_for_selector("#error")
    assert "同意回访" in page.text_content("#error") and rated(site, sid) == []
    page.check("#named input[name=consent_callback]")
    shot(page, "named")
    page.click("#rate button[type=submit]")
    page.wait_for_selector("#thanks")
    assert evaluator_row(site, sid) == ("王小明", "13800138000", 0, 1)  # not sent upstream: no 2nd consent


def test_a_name_and_phone_may_follow_a_device_rating(site, page):
    sid, url = session(site)
    site.store.run(lambda db: add_device_rating(db, sid, 1, seq=int(time.time() * 1000) % 10**9 + 7))
    page.goto(url)
    page.fill("#named input[name=mobile]", "13912345678")
    page.check("#named input[name=consent_callback]")
    page.check("#named input[name=consent_upstream]")
    page.click("#more button[type=submit]")
    page.wait_for_selector("#thanks")
    assert evaluator_row(site, sid) == (None, "13912345678", 1, 1)
    page.goto(url)
    assert page.query_selector("#named") is None  # once given, not asked again


def test_second_rating_is_refused(site, browser):
    sid, url = session(site)
    one, two = browser.new_page(), browser.new_page()
    one.set_default_timeout(5000)
    two.set_default_timeout(5000)
    try:
        one.goto(url)
        two.goto(url)  # both show the form
        one.check("input[name=level][value='5']")
        one.click("#rate button[type=submit]")
        one.wait_for_selector("#thanks")
        two.check("input[name=level][value='2']")
        two.fill("textarea[name=comment]", "不满意")
        with two.expect_navigation() as nav:
            two.click("#rate button[type=submit]")
        assert nav.value.status == 409
        assert "这次服务已评价" in two.text_content("#message")
    finally:
        one.close()
        two.close()
    assert rated(site, sid) == [("qr", 5)]


def test_tampered_link(site, page):
    _sid, url = session(site)
    token = url.rsplit("/", 1)[1]
    expiry, sid, signature = token.split(".")
    for bad in (
        "%s.%s.%s" % (expiry, sid + "0", signature),  # another session
        "%s.%s.%s" % ("zzzzzz", sid, signature),  # a longer life
        token[:-4],
        "nonsense",
    ):
        response = page.goto(url.rsplit("/", 1)[0] + "/" + bad)
        assert response.status == 400
        assert "链接无效" in page.text_content("#message")
        assert "Traceback" not in page.content()


def test_expired_link(site, page):
    created = int(time.time()) - 7 * 86400
    _sid, url = session(site, period=3600, created=created)
    response = page.goto(url)
    assert response.status == 410
    assert "链接已过期" in page.text_content("#message")
    shot(page, "expired")


def test_period_over_and_unknown_session(site, page):
    sid, url = session(site)
    site.store.run(
        lambda db: db.conn.execute("UPDATE sessions SET state = 'defaulted' WHERE session_id = ?", (sid,))
    )
    response = page.goto(url)
    assert response.status == 410 and "评价期已结束" in page.text_content("#message")
    ghost = links.rate_url(site, "no-such-session", int(time.time()) + 600)
    response = page.goto(ghost)
    assert response.status == 404 and "找不到这次服务" in page.text_content("#message")


def test_posts_are_csrf_safe(site):
    sid, url = session(site)
    token = url.rsplit("/", 1)[1]
    base = url.rsplit("/r/", 1)[0]
    with httpx.Client(base_url=base) as client:
        # no cookie: a form posted from another site
        answer = client.post("/r/%s/rate" % token, data={"level": "5", "csrf": "x"})
        assert answer.status_code == 403 and "页面已失效" in answer.text
        client.get("/r/%s" % token)
        cookie = client.cookies.get("hcp_csrf")
        assert cookie
        answer = client.post(
            "/r/%s/rate" % token,
            data={"level": "5", "csrf": cookie},
            headers={"Origin": "http://evil.example"},
        )
        assert answer.status_code == 403
        answer = client.post("/r/%s/rate" % token, data={"level": "5", "csrf": cookie + "x"})
        assert answer.status_code == 403
        assert rated(site, sid) == []
        answer = client.post("/r/%s/rate" % token, data={"level": "5", "csrf": cookie})
        assert answer.status_code == 303
    assert rated(site, sid) == [("qr", 5)]
