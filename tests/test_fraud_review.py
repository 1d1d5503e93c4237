"""异常评价线索 reviewed (issue 25, item 7): the daily scan's flags on a
supervisor's page, confirmed as 刷好评 / 恶意差评 (the ticked ratings leave
the statistics, as an upheld appeal's do) or dismissed, each with a reason."""

import json
import logging

import pytest
from hostd_support import hostd, make_home
from test_pages_auth import client_for, csrf, hall, login, seeded_home  # noqa: F401  (fixtures)
from workorder_fixtures import T0, hall_db, served_and_rated

from hostd.base import clock
from hostd.casework import fraud, fraud_review
from hostd.reporting import stats


def add_flag(ctx, kind, subject, rating_ids=None, start=0, end=2**40):
    evidence = {} if rating_ids is None else {"rating_ids": rating_ids}

    def op(db):
        return db.conn.execute(
            "INSERT INTO fraud_flags (kind, subject, period_start, period_end, statistic, evidence,"
            " found_at) VALUES (?, ?, ?, ?, '测试统计', ?, ?)",
            (kind, subject, start, end, json.dumps(evidence), int(clock.now())),
        ).lastrowid

    return ctx.store.run(op)


def counted(ctx, staff_id):
    with ctx.store.read() as db:
        return stats.rates(db, 0, 2**40, staff_id=staff_id)


def test_a_confirmed_burst_takes_its_good_ratings_out_of_the_statistics(hall, caplog):  # noqa: F811
    ctx, made = hall
    flag = add_flag(ctx, "burst", "w01-a", made["s1"])  # levels 5, 5, 4, 1
    before = counted(ctx, "s1")
    zhao = client_for(ctx)
    login(zhao, "zhao")
    listing = zhao.get("/fraud").text
    assert 'id="flag-%d"' % flag in listing and "同一设备短时间连续评价" in listing
    page = zhao.get("/fraud/%d" % flag).text
    assert page.count('type="checkbox" name="rating"') == 4 and page.count(" checked") == 4
    form = {"csrf": csrf(page), "action": "confirm", "verdict": "刷好评", "rating": made["s1"]}
    missing = zhao.post("/fraud/%d/review" % flag, data=form)  # no reason: refused, nothing changes
    assert "请填写核查理由" in zhao.get(missing.headers["location"]).text
    assert counted(ctx, "s1") == before
    with caplog.at_level(logging.WARNING, logger="hostd.fraud"):
        done = zhao.post("/fraud/%d/review" % flag, data=dict(form, note="调取监控，工作人员代按"))
    assert "3 条评价不再计入统计" in zhao.get(done.headers["location"]).text
    after = counted(ctx, "s1")
    assert (before["total"], before["good"], before["bad"]) == (4, 3, 1)
    assert (after["total"], after["good"], after["bad"], after["excluded"]) == (1, 0, 1, 3)
    with ctx.store.read() as db:
        flagged = fraud_review.get(db, flag)
        excluded = db.execute(
            "SELECT id, excluded FROM ratings WHERE excluded IS NOT NULL ORDER BY id"
        ).fetchall()
    assert flagged["state"] == "confirmed" and flagged["verdict"] == "刷好评"
    assert flagged["reviewed_by"] == "zhao" and flagged["review_note"] == "调取监控，工作人员代按"
    assert sorted(flagged["excluded_ids"]) == sorted(made["s1"][:3])
    assert [tuple(r) for r in excluded] == [(i, "刷好评") for i in sorted(made["s1"][:3])]
    assert any("confirmed as 刷好评 by zhao: 3 rating(s)" in r.getMessage() for r in caplog.records)
    again = zhao.post("/fraud/%d/review" % flag, data=dict(form, action="dismiss", note="再看"))
    assert "已核查" in zhao.get(again.headers["location"]).text
    assert "属实：刷好评" in zhao.get("/fraud?state=confirmed").text


def test_a_confirmed_malicious_rating_ends_its_work_order(hall):  # noqa: F811
    ctx, made = hall
    flag = add_flag(ctx, "same_source", "addr:10.0.0.9", made["s2"])  # levels 5, 3, 2
    with ctx.store.read() as db:
        order = db.execute("SELECT order_id, state FROM work_orders WHERE staff_id = 's2'").fetchone()
    assert order[1] == "new"

    def op(db):
        return fraud_review.confirm(db, flag, "zhao", "恶意差评", "同一号码多次差评", made["s2"])

    done = ctx.store.run(op)
    assert done["excluded_ids"] == [made["s2"][2]]  # only the 差评
    with ctx.store.read() as db:
        state, explanation = db.execute(
            "SELECT state, explanation FROM work_orders WHERE order_id = ?", [order[0]]
        ).fetchone()
    assert state == "explained" and "恶意差评" in explanation and "线索 %d" % flag in explanation


def test_a_dismissal_changes_no_rating_and_a_stray_rating_is_refused(hall):  # noqa: F811
    ctx, made = hall
    flag = add_flag(ctx, "burst", "w01-a", made["s1"][:2])
    with pytest.raises(fraud_review.ReviewError, match="不在本线索中"):
        ctx.store.run(lambda db: fraud_review.confirm(db, flag, "zhao", "刷好评", "x", [made["s1"][3]]))
    with pytest.raises(fraud_review.ReviewError, match="核查理由"):
        ctx.store.run(lambda db: fraud_review.dismiss(db, flag, "zhao", "  "))
    done = ctx.store.run(lambda db: fraud_review.dismiss(db, flag, "zhao", "培训演示"))
    assert done["state"] == "dismissed" and done["excluded_ids"] == []
    with ctx.store.read() as db:
        assert db.execute("SELECT COUNT(*) FROM ratings WHERE excluded IS NOT NULL").fetchone()[0] == 0


def test_a_statistical_flag_lists_the_staff_member_s_top_ratings_unticked(hall):  # noqa: F811
    ctx, made = hall
    flag = add_flag(ctx, "top_share", "s1")
    zhao = client_for(ctx)
    login(zhao, "zhao")
    page = zhao.get("/fraud/%d" % flag).text
    assert page.count('type="checkbox" name="rating"') == 2  # s1's two 非常满意
    assert " checked" not in page and "请逐条核实后勾选" in page


def test_only_supervisors_open_the_fraud_pages(hall):  # noqa: F811
    ctx, made = hall
    flag = add_flag(ctx, "burst", "w01-a", made["s1"])
    for username in ("admin", "zhang"):
        client = client_for(ctx)
        login(client, username)
        assert client.get("/fraud").status_code == 403
        assert client.get("/fraud/%d" % flag).status_code == 403
    zhao = client_for(ctx)
    login(zhao, "zhao")
    assert zhao.get("/fraud/999999").status_code == 404
    assert zhao.get("/fraud?state=bogus").status_code == 400


def test_cli_confirms_every_fitting_rating_of_a_flag(tmp_path):
    home = make_home(tmp_path / "home")
    db = hall_db(home.path)
    with db.conn:
        ids = [served_and_rated(db, "b%d" % i, "1", "s1", 5, T0 + i) for i in range(4)]
        fraud.record(db, [fraud._flag("burst", "dev-1", T0, T0 + 86400, "4 次", {"rating_ids": ids})])
    db.conn.close()
    usage = hostd(home, "fraud", "review", "1", "confirmed", "--note", "核实")
    assert usage.exit_code == 2 and "--verdict" in usage.output
    done = hostd(home, "fraud", "review", "1", "confirmed", "--verdict", "刷好评", "--all", "--note", "核实")
    assert done.exit_code == 0, done.output
    assert "confirmed as 刷好评: 4 rating(s) excluded" in done.output
    again = hostd(home, "fraud", "review", "1", "dismissed", "--note", "x")
    assert again.exit_code == 1 and "已核查" in again.output and "Traceback" not in again.output


def test_a_flag_with_more_ratings_than_the_form_shows_still_takes_them_all(hall, monkeypatch):  # noqa: F811
    ctx, made = hall
    monkeypatch.setattr(fraud_review, "MAX_CANDIDATES", 2)
    flag = add_flag(ctx, "burst", "w01-a", made["s1"])  # 4 ratings, 3 good
    zhao = client_for(ctx)
    login(zhao, "zhao")
    page = zhao.get("/fraud/%d" % flag).text
    assert page.count('name="rating"') == 2 and "本线索涉及 4 条评价，这里列出前 2 条" in page
    with ctx.store.read() as db:
        every = fraud_review.candidate_ids(db, fraud_review.get(db, flag))
    assert sorted(every) == sorted(made["s1"])
    done = ctx.store.run(lambda db: fraud_review.confirm(db, flag, "zhao", "刷好评", "核实", every))
    assert len(done["excluded_ids"]) == 3  # beyond the form's first two
