"""办不成事 (issue 25, item 8): a problem nobody could solve, registered through the
page, the API and the CLI, followed like a work order on its own deadlines,
its notice, reminder and 超期预警 carried by the alerts, and its counts
published on the display."""

import pytest
from hostd_support import hostd, make_home
from test_api import api  # noqa: F401  (fixture)
from test_pages_auth import client_for, csrf, hall, login, seeded_home  # noqa: F401  (fixtures)
from workorder_fixtures import T0, hall_db

from hostd.alerts import conditions
from hostd.base import clock
from hostd.base.config import defaults
from hostd.casework import unresolved
from hostd.recording import retention
from hostd.reporting import publication
from hostd.rules import workdays

DAY = 86400


@pytest.fixture
def db(tmp_path):
    db = hall_db(tmp_path)
    yield db
    db.conn.close()


def report(**extra):
    base = {"hall": "h1", "unit_id": "u-tax", "problem": "异地社保转移，两地都说不归自己办"}
    base.update(extra)
    return base


def test_a_report_follows_its_own_deadlines_to_its_end(db):
    config = defaults()
    with db.conn:
        r = unresolved.register(db, config, report(item_name="社保转移"), "window1", "window", now=T0 + 3600)
    assert r["state"] == "new" and r["unit_name"] == "税务局"
    assert r["accept_due"] == workdays.add_days(T0 + 3600, 1, True)
    assert r["resolve_due"] == workdays.add_days(T0 + 3600, 10, True)
    rid = r["report_id"]
    with db.conn:
        with pytest.raises(unresolved.UnresolvedError, match="不能改为已解决"):
            unresolved.move(db, rid, "resolved", "zhang", note="x", now=T0 + 4000)
        unresolved.move(db, rid, "accepted", "zhang", now=T0 + 5000)
        with pytest.raises(unresolved.UnresolvedError, match="请填写解决情况"):
            unresolved.move(db, rid, "resolved", "zhang", now=T0 + 6000)
        done = unresolved.move(db, rid, "resolved", "zhang", note="协调社保中心线下办结", now=T0 + 7000)
    assert done["state"] == "resolved" and done["on_time"] and done["outcome"] == "协调社保中心线下办结"
    assert [(e["from_state"], e["to_state"]) for e in done["events"]] == [
        (None, "new"),
        ("new", "accepted"),
        ("accepted", "resolved"),
    ]
    config["unresolved"]["resolve_within"] = "48 hours"
    with db.conn:
        late = unresolved.register(db, config, report(), "window1", "window", now=T0)
        explained = unresolved.move(
            db, late["report_id"], "explained", "zhao", note="法规不允许，已解释", now=T0 + 3 * DAY
        )
    assert late["resolve_due"] == T0 + 48 * 3600
    assert explained["state"] == "explained" and not explained["on_time"]


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"unit_id": "u-none"}, "没有单位"),
        ({"problem": "   "}, "反映问题"),
        ({"contact_mobile": "13800138000"}, "须经本人同意"),
        ({"contact_mobile": "12345", "consent": True}, "不是有效的大陆手机号"),
    ],
)
def test_a_bad_report_is_refused_and_nothing_is_kept(db, extra, message):
    with pytest.raises(unresolved.UnresolvedError, match=message), db.conn:
        unresolved.register(db, defaults(), report(**extra), "window1", "window", now=T0)
    assert db.execute("SELECT COUNT(*) FROM unresolved_reports").fetchone()[0] == 0


def test_the_alerts_notify_remind_and_warn(db):
    config = defaults()
    with db.conn:
        rid = unresolved.register(db, config, report(), "window1", "window", now=T0 + 3600)["report_id"]
    r = unresolved.get(db, rid)

    def kinds(now):
        return {a["kind"]: a["message"] for a in conditions.unresolved_reports(db, config, now).values()}

    assert list(kinds(T0 + 3700)) == ["unresolved_new"] and "实时通知" in kinds(T0 + 3700)["unresolved_new"]
    remind = T0 + 3600 + (r["accept_due"] - T0 - 3600) // 2  # a 1-day deadline: reminded at half time
    assert list(kinds(remind)) == ["unresolved_due"] and "督促整改" in kinds(remind)["unresolved_due"]
    assert list(kinds(r["accept_due"] + 1)) == ["unresolved_overdue"]
    assert "超过受理时限" in kinds(r["accept_due"] + 1)["unresolved_overdue"]
    with db.conn:
        unresolved.move(db, rid, "accepted", "zhang", now=T0 + 4000)
    assert kinds(T0 + 5000) == {}  # taken up in time: nothing to say until the resolve deadline nears
    assert list(kinds(r["resolve_due"] - 3600)) == ["unresolved_due"]
    assert "超过办结时限" in kinds(r["resolve_due"] + 1)["unresolved_overdue"]
    with db.conn:
        unresolved.move(db, rid, "resolved", "zhang", note="已办结", now=r["resolve_due"] + 2)
    assert kinds(r["resolve_due"] + 3) == {}


def test_the_contact_is_purged_once_the_report_has_been_finished_long_enough(db):
    config = defaults()
    with db.conn:
        kept = report(contact_name="王女士", contact_mobile="138 0013 8000", consent=True)
        rid = unresolved.register(db, config, kept, "window1", "window", now=T0)["report_id"]
        assert unresolved.get(db, rid)["contact_mobile"] == "13800138000"
        assert unresolved.purge_contacts(db, 30, T0 + 60 * DAY) == 0  # still open: kept
        unresolved.move(db, rid, "explained", "zhao", note="已解释", now=T0 + DAY)
        assert unresolved.purge_contacts(db, 30, T0 + 30 * DAY) == 0
        assert unresolved.purge_contacts(db, 30, T0 + 32 * DAY) == 1
    gone = unresolved.get(db, rid)
    assert gone["contact_name"] is None and gone["contact_mobile"] is None and gone["contact_purged_at"]
    assert (
        "办不成事 contact(s)" in open(retention.__file__, encoding="utf-8").read()
    )  # the daily job names it


def test_the_window_registers_and_the_unit_follows_on_the_page(hall):  # noqa: F811
    ctx, _ = hall
    ctx.store.run(lambda db: db.execute("INSERT INTO units (unit_id, name) VALUES ('u2', '住建局')"))
    zhang = client_for(ctx)
    login(zhang, "zhang")  # staff of u1
    page = zhang.get("/unresolved").text
    form = {"csrf": csrf(page), "problem": "公积金提取被告知缺材料，但材料清单里没有", "unit_id": "u1"}
    refused = zhang.post("/unresolved", data=dict(form, contact_mobile="13800138000"))
    assert "须经本人同意" in zhang.get(refused.headers["location"]).text
    done = zhang.post("/unresolved", data=dict(form, contact_mobile="13800138000", consent="1"))
    assert done.status_code == 303
    detail = zhang.get(done.headers["location"]).text
    assert "已登记办不成事" in detail and "13800138000" in detail  # the unit's staff call back
    other = zhang.post("/unresolved", data=dict(form, unit_id="u2"))
    with ctx.store.read() as db:
        ids = [r[0] for r in db.execute("SELECT report_id FROM unresolved_reports ORDER BY report_id")]
        reads = db.execute(
            "SELECT username, fields FROM evaluator_access WHERE purpose = 'unresolved'"
        ).fetchall()
    assert other.status_code == 303 and len(ids) == 2
    assert [tuple(r) for r in reads] == [("zhang", "unresolved:%d" % ids[0])]
    assert zhang.get("/unresolved/%d" % ids[1]).status_code == 404  # another unit's
    path = "/unresolved/%d/move" % ids[0]
    zhang.post(path, data={"csrf": csrf(page), "to_state": "accepted"})
    zhang.post(path, data={"csrf": csrf(page), "to_state": "resolved", "note": "已补充清单并办结"})
    assert "已解决" in zhang.get("/unresolved/%d" % ids[0]).text
    admin = client_for(ctx)
    login(admin, "admin")
    seen = admin.get("/unresolved/%d" % ids[1]).text
    assert 'id="move-form"' not in seen and "13800138000" not in seen  # admins neither move nor see contacts
    display = client_for(ctx).get("/display").text
    assert 'id="un-reported">2<' in display and 'id="un-resolved">1<' in display
    assert "13800138000" not in display and "公积金" not in display
    with ctx.store.read() as db:
        counts = publication.figures(db, ctx.hall, ctx.config, int(clock.now()))["unresolved"]
    assert counts == {"reported": 2, "resolved": 1, "explained": 0, "open": 1, "overdue": 0, "on_time": 1}


def test_the_business_system_registers_through_the_api(api):  # noqa: F811
    store = api.app.state.ctx.store
    store.run(lambda db: db.execute("INSERT INTO units (unit_id, name) VALUES ('u-tax', '税务局')"))
    body = {"unit_id": "u-tax", "problem": "发票领用线上办不了", "reported_by": "window-07"}
    made = api.post("/api/v1/unresolved", json=body)
    assert made.status_code == 201, made.text
    out = made.json()
    assert out["state"] == "new" and out["accept_due"] < out["resolve_due"] and "contact_mobile" not in out
    assert api.get("/api/v1/unresolved/%d" % out["report_id"]).json()["state_label"] == "待受理"
    bad = api.post("/api/v1/unresolved", json=dict(body, unit_id="nope"))
    assert bad.status_code == 422 and bad.json()["detail"]["error"] == "bad_report"
    assert api.get("/api/v1/unresolved/999").json()["detail"]["error"] == "not_found"
    with store.read() as db:
        assert db.execute(
            "SELECT COUNT(*), MIN(source), MIN(reported_by) FROM unresolved_reports"
        ).fetchone() == (
            1,
            "api",
            "api:window-07",
        )


def test_cli_registers_lists_and_finishes(tmp_path):
    home = make_home(tmp_path / "home")
    hall_db(home.path).conn.close()
    added = hostd(
        home, "unresolved", "add", "--unit", "u-soc", "--problem", "退休金认证无法办理", "--actor", "w1"
    )
    assert added.exit_code == 0, added.output
    assert "办不成事 #1 registered for 人社局" in added.output
    assert "退休金认证" in hostd(home, "unresolved", "list").output
    bad = hostd(home, "unresolved", "move", "1", "resolved")
    assert bad.exit_code == 2 and "不能改为已解决" in bad.output and "Traceback" not in bad.output
    assert hostd(home, "unresolved", "move", "1", "accepted").exit_code == 0
    done = hostd(home, "unresolved", "move", "1", "resolved", "--note", "已线下认证")
    assert done.exit_code == 0 and "已解决" in done.output
    assert hostd(home, "unresolved", "list").output.strip() == "no open 办不成事 reports"
    unknown = hostd(home, "unresolved", "add", "--unit", "nope", "--problem", "x")
    assert unknown.exit_code == 2 and "没有单位" in unknown.output


def test_the_daily_retention_job_purges_a_finished_report_s_contact(hall):  # noqa: F811
    ctx, _ = hall
    long_ago = int(clock.now()) - 40 * DAY
    kept = {
        "hall": "h1",
        "unit_id": "u1",
        "problem": "无法办理",
        "contact_mobile": "13800138000",
        "consent": True,
    }

    def old_report(db):
        rid = unresolved.register(db, ctx.config, kept, "zhang", "window", now=long_ago)["report_id"]
        unresolved.move(db, rid, "explained", "zhao", note="已解释", now=long_ago + 60)
        return rid

    rid = ctx.store.run(old_report)
    fresh = ctx.store.run(
        lambda db: unresolved.register(db, ctx.config, kept, "zhang", "window")["report_id"]
    )
    assert retention.Retention(ctx).once() >= 1
    with ctx.store.read() as db:
        assert unresolved.get(db, rid)["contact_mobile"] is None
        assert unresolved.get(db, fresh)["contact_mobile"] == "13800138000"  # open: kept


def test_staff_without_a_unit_register_but_follow_no_one_s_reports(hall):  # noqa: F811
    from hostd.web import auth

    ctx, _ = hall

    def add(db):
        db.execute(
            "INSERT INTO staff (staff_id, name, staff_no, created_at) VALUES ('s9', '王五', '0099', 0)"
        )
        auth.add_user(db, "wang", "correct-horse-42", "staff", "s9")
        return unresolved.register(
            db,
            ctx.config,
            {
                "hall": "h1",
                "unit_id": "u1",
                "problem": "无法办理",
                "contact_mobile": "13800138000",
                "consent": True,
            },
            "zhang",
            "window",
        )["report_id"]

    rid = ctx.store.run(add)
    wang = client_for(ctx)
    login(wang, "wang")
    page = wang.get("/unresolved")
    assert page.status_code == 200 and 'id="unresolved-form"' in page.text and "无法办理" not in page.text
    assert wang.get("/unresolved/%d" % rid).status_code == 403
    moved = wang.post("/unresolved/%d/move" % rid, data={"csrf": csrf(page.text), "to_state": "accepted"})
    assert moved.status_code == 403
