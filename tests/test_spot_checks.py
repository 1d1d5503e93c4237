"""回访抽查 (issue 25, item 4): a supervisor draws a random share of the
quarter's finished work orders, records each callback check, and the
quarterly report shows them."""

import random

import openpyxl
import pytest
from hostd_support import hostd
from test_pages_auth import client_for, csrf, hall, login, seeded_home  # noqa: F401  (fixtures)

from hostd.casework import spot_checks, workorders
from hostd.reporting import periods, report
from hostd.web.pages.common import quarter_spec


def finish_all(ctx):
    with ctx.store.read() as db:
        orders = [r[0] for r in db.execute("SELECT order_id FROM work_orders ORDER BY order_id").fetchall()]
    for n, order in enumerate(orders):
        if n % 2:
            ctx.store.run(
                lambda db, o=order: workorders.move(db, o, "explained", "zhao", explanation="不合理")
            )
        else:
            for step, extra in (("contacted", {}), ("rectifying", {}), ("replied", {"reply": "已整改"})):
                ctx.store.run(lambda db, o=order, s=step, e=extra: workorders.move(db, o, s, "zhao", **e))
            ctx.store.run(lambda db, o=order: workorders.move(db, o, "closed", "zhao", feedback="满意"))
    return orders


def test_a_draw_takes_the_share_rounded_up_and_never_the_same_order_twice(hall):  # noqa: F811
    ctx, _ = hall
    orders = finish_all(ctx)
    spec = quarter_spec()
    span = periods.period(spec)
    first = ctx.store.run(lambda db: spot_checks.draw(db, 40, spec, span, "zhao", 1, random.Random(7)))
    assert len(first) == 1 and first[0] in orders  # 40% of 2, rounded up
    second = ctx.store.run(lambda db: spot_checks.draw(db, 100, spec, span, "zhao", 2))
    assert sorted(first + second) == sorted(orders)
    with pytest.raises(spot_checks.SpotCheckError, match="没有可抽查"):
        ctx.store.run(lambda db: spot_checks.draw(db, 100, spec, span, "zhao", 3))
    with pytest.raises(spot_checks.SpotCheckError, match="1-100"):
        ctx.store.run(lambda db: spot_checks.draw(db, 0, spec, span, "zhao", 3))


def test_the_supervisor_draws_and_records_on_the_page_and_the_report_shows_it(hall, tmp_path):  # noqa: F811
    ctx, _ = hall
    finish_all(ctx)
    zhao = client_for(ctx)
    login(zhao, "zhao")
    page = zhao.get("/spotchecks").text
    assert zhao.post("/spotchecks/draw", data={"csrf": csrf(page), "percent": "100"}).status_code == 303
    with ctx.store.read() as db:
        ids = [r[0] for r in db.execute("SELECT id FROM spot_checks ORDER BY id").fetchall()]
    assert len(ids) == 2
    page = zhao.get("/spotchecks").text
    token = csrf(page)
    refused = zhao.post("/spotchecks/%d" % ids[0], data={"csrf": token, "outcome": "disputed", "note": ""})
    assert refused.status_code == 303 and "请说明情况" in zhao.get("/spotchecks").text
    zhao.post(
        "/spotchecks/%d" % ids[0], data={"csrf": token, "outcome": "disputed", "note": "群众称未接到回访"}
    )
    zhao.post("/spotchecks/%d" % ids[1], data={"csrf": token, "outcome": "confirmed"})
    again = zhao.post("/spotchecks/%d" % ids[1], data={"csrf": token, "outcome": "unreachable"})
    assert again.status_code == 303 and "已有结果" in zhao.get("/spotchecks").text
    with ctx.store.read() as db:
        outcomes = db.execute("SELECT outcome, checked_by FROM spot_checks ORDER BY id").fetchall()
    assert outcomes == [("disputed", "zhao"), ("confirmed", "zhao")]
    zhang = client_for(ctx)
    login(zhang, "zhang")
    assert zhang.get("/spotchecks").status_code == 403  # staff: not theirs to see
    admin = client_for(ctx)
    login(admin, "admin")
    assert admin.get("/spotchecks").status_code == 200
    assert (
        admin.post(
            "/spotchecks/draw", data={"csrf": csrf(admin.get("/spotchecks").text), "percent": "10"}
        ).status_code
        == 403
    )
    out = tmp_path / "report.xlsx"
    with ctx.store.read() as db:
        report.write(report.build(db, quarter=quarter_spec(), config=ctx.config), "xlsx", out)
    sheet = openpyxl.load_workbook(out)["回访抽查"]
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    assert [r[3] for r in rows[:2]] == ["与记录不符", "回访属实"]
    assert "抽查 2，已回访 2" in rows[-1][1] and "属实 1，不符 1" in rows[-1][3]


def test_the_cli_draws_lists_and_records(hall):  # noqa: F811
    ctx, _ = hall
    finish_all(ctx)
    drawn = hostd(ctx.home, "spotcheck", "draw", "--percent", "50", "--actor", "钱科长")
    assert drawn.exit_code == 0 and "1 work order(s) drawn" in drawn.output
    with ctx.store.read() as db:
        check = db.execute("SELECT id FROM spot_checks").fetchone()[0]
    done = hostd(ctx.home, "spotcheck", "record", str(check), "--outcome", "unreachable")
    assert done.exit_code == 0 and "无法联系" in done.output
    listed = hostd(ctx.home, "spotcheck", "list")
    assert listed.exit_code == 0 and "1 drawn, 1 checked" in listed.output
    bad = hostd(ctx.home, "spotcheck", "record", str(check), "--outcome", "confirmed")
    assert bad.exit_code == 1 and "已有结果" in bad.output and "Traceback" not in bad.output
