"""Issue 25's supervisor pages in real headless Chromium, on the real server:
a work order's class and 会商 under the Ezhou pilot policy, and a fraud flag
confirmed on its page. Screenshots go to docs/screens/page-*.png."""

import json
import re

from pages_seed import SCREENS
from test_pages_browser import login, site  # noqa: F401  (fixture)

from hostd.base import clock


def shot(page, name):
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / ("page-%s.png" % name)), full_page=True)


def test_a_supervisor_classes_an_order_and_runs_its_consult(site, browser):  # noqa: F811
    url, ctx, _ = site
    ctx.config["workorder"]["policy"] = "ezhou-pilot"
    with ctx.store.read() as db:
        order_id = db.execute("SELECT order_id FROM work_orders WHERE staff_id = 's1'").fetchone()[0]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, url, "zhao")
    page.wait_for_url(re.compile(r"/dashboard$"))
    page.goto(url + "/workorders/%d" % order_id)
    page.check("#class-form input[value=complex]")
    page.click("#class-form button[type=submit]")
    page.wait_for_load_state()
    assert page.inner_text("#order-class") == "较为复杂（会商）"
    for department in ("市场监管局", "住建局"):
        page.fill("#consult-form input[name=department]", department)
        page.click("#consult-form button[type=submit]")
        page.wait_for_load_state()
    page.select_option("#consult-reply-form select[name=department]", "市场监管局")
    page.fill("#consult-reply-form input[name=reply]", "已核实，同意整改方案")
    page.click("#consult-reply-form button[type=submit]")
    page.wait_for_load_state()
    table = page.inner_text("#consult-table")
    assert "已核实，同意整改方案" in table and "待回复" in table  # 住建局 has not answered
    shot(page, "workorder-consult")


def test_a_supervisor_confirms_a_fraud_flag(site, browser):  # noqa: F811
    url, ctx, made = site

    def add(db):
        return db.conn.execute(
            "INSERT INTO fraud_flags (kind, subject, period_start, period_end, statistic, evidence,"
            " found_at) VALUES ('burst', 'w01-a', ?, ?, '60 秒内按键 4 次（阈值 4 次）', ?, ?)",
            (
                int(clock.now()) - 86400,
                int(clock.now()),
                json.dumps({"rating_ids": made["s1"]}),
                int(clock.now()),
            ),
        ).lastrowid

    flag = ctx.store.run(add)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    login(page, url, "zhao")
    page.wait_for_url(re.compile(r"/dashboard$"))
    page.click("header nav >> text=异常线索")
    assert "同一设备短时间连续评价" in page.inner_text("#flag-%d" % flag)
    shot(page, "fraud")
    page.click("a[href='/fraud/%d']" % flag)
    page.select_option("select[name=verdict]", "刷好评")
    page.fill("input[name=note]", "调取监控核实：工作人员代按")
    shot(page, "fraud-flag")
    page.click("button[value=confirm]")
    page.wait_for_load_state()
    assert "3 条评价不再计入统计" in page.inner_text("main")
    assert page.inner_text("#flag-state") == "属实：刷好评"


def test_the_unresolved_window_registers_a_report_and_the_display_counts_it(site, browser):  # noqa: F811
    url, ctx, _ = site
    ctx.config["ranking"]["min_ratings"] = 1  # the seed's few ratings rank, for the screenshot
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, url, "zhang")
    page.wait_for_url(re.compile(r"/dashboard$"))
    page.click("header nav >> text=办不成事")
    page.fill("textarea[name=problem]", "个体户注销要求先清税，税务窗口说要先注销执照")
    page.select_option("select[name=unit_id]", "u1")
    page.fill("input[name=item_name]", "个体户注销")
    page.fill("input[name=contact_mobile]", "13800138000")
    page.check("input[name=consent]")
    page.click("#unresolved-form button[type=submit]")
    page.wait_for_load_state()
    assert page.inner_text("#report-state") == "待受理"
    page.select_option("#to-state", "accepted")
    page.click("#move-form button[type=submit]")
    page.wait_for_load_state()
    assert page.inner_text("#report-state") == "办理中"
    shot(page, "unresolved-report")
    page.goto(url + "/unresolved")
    shot(page, "unresolved")
    board = browser.new_page(viewport={"width": 1920, "height": 1080})
    board.goto(url + "/display")
    assert board.inner_text("#un-reported") == "1" and board.inner_text("#un-open") == "1"
    assert "13800138000" not in board.inner_text("body")
    shot(board, "display-full")


def test_a_supervisor_imports_third_party_evaluations(site, browser, tmp_path):  # noqa: F811
    url, ctx, _ = site
    from hostd.casework import thirdparty

    table = tmp_path / "visits.csv"
    rows = [
        thirdparty.HEADERS,
        ["2026-11-20", "明察暗访", "W01", "", "满意", "非常满意", "满意", "非常满意", "全程约20分钟"],
        ["2026-11-21", "体验官", "W02", "0012", "5", "4", "5", "5", "引导清楚"],
    ]
    table.write_text("\n".join(",".join(r) for r in rows), encoding="utf-8")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, url, "zhao")
    page.wait_for_url(re.compile(r"/dashboard$"))
    page.click("header nav >> text=第三方评价")
    page.set_input_files("#import-form input[name=file]", str(table))
    page.click("#import-form button[type=submit]")
    page.wait_for_load_state()
    assert "已导入 2 条第三方评价" in page.inner_text("main")
    page.goto(url + "/thirdparty?quarter=2026Q4")
    assert "明察暗访" in page.inner_text("#by-window")
    shot(page, "thirdparty")


def test_the_analysis_page(site, browser):  # noqa: F811
    url, ctx, _ = site
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, url, "zhao")
    page.wait_for_url(re.compile(r"/dashboard$"))
    page.click("header nav >> text=差评分析")
    assert "服务态度" in page.inner_text("#bad-by-reason")
    assert "营业执照办理" in page.inner_text("#bad-by-item")
    shot(page, "analysis")
