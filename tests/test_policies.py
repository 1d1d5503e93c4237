"""整改时限 policies (issue 25, item 1): the Qijiang and Ezhou pilot presets, a
hall's own policy in TOML, the class a supervisor sets on the order's page,
and the 会商 of a complex order, which holds the reply until every
department has answered."""

import datetime

import pytest
from hostd_support import hostd, make_home
from test_pages_auth import client_for, csrf, hall, login, seeded_home  # noqa: F401  (fixtures)
from workorder_fixtures import T0, hall_db, served_and_rated

from hostd.base import hall_time
from hostd.base.config import defaults
from hostd.base.errors import ConfigError
from hostd.casework import classes, workorders
from hostd.rules import deadlines, policies, workdays

DAY = 86400
OWN = """
[wuhan-2027]
label = "本厅：2小时内联系，3个工作日内办结"
default = "general"
contact = "2 hours"
classes.general = { label = "一般问题", done = "3 working_days" }
classes.complex = { label = "复杂问题", done = "20 natural_days", consult = true }
"""


def config_for(policy, policy_file=""):
    config = defaults()
    config["workorder"]["policy"] = policy
    config["workorder"]["policy_file"] = policy_file
    return config


@pytest.fixture
def db(tmp_path):
    db = hall_db(tmp_path)
    yield db
    db.conn.close()


def local(ts):
    return datetime.datetime.fromtimestamp(ts + hall_time.OFFSET, datetime.timezone.utc).replace(tzinfo=None)


def test_qijiang_simple_is_on_the_spot_and_complex_five_working_days():
    config = config_for("qijiang")
    opened = T0 + 10 * 3600  # Monday 2026-11-02 10:00
    due = deadlines.due_dates(config, opened)
    assert due["contact_due"] is None
    assert local(due["done_due"]) == datetime.datetime(2026, 11, 2, 23, 59, 59)  # that same day
    complex_ = deadlines.due_dates(config, opened, "complex")["done_due"]
    assert complex_ == workdays.add_days(opened, 5, True) and local(complex_).day == 9  # next Monday
    assert "綦江" in deadlines.describe(config)
    with pytest.raises(ValueError, match="simple, complex"):
        deadlines.due_dates(config, opened, "general")  # Qijiang has two classes


def test_ezhou_pilot_has_three_classes_and_its_own_name_beside_ezhou():
    config = config_for("ezhou-pilot")
    opened = T0 + 10 * 3600
    assert deadlines.default_class(config) == "general"
    general = deadlines.due_dates(config, opened)
    assert general == {
        "contact_due": workdays.add_days(opened, 1, True),
        "done_due": workdays.add_days(opened, 5, True),
    }
    simple = deadlines.due_dates(config, opened, "simple")
    assert simple["contact_due"] == simple["done_due"] == hall_time.day_start(opened) + DAY - 1
    assert deadlines.due_dates(config, opened, "complex")["done_due"] == workdays.add_days(opened, 15, True)
    lines = deadlines.class_lines(config)
    assert [(k, c) for k, _t, c in lines] == [("simple", False), ("general", False), ("complex", True)]
    assert lines[1][1] == "一般类：联系 1个工作日，办结 5个工作日"
    ezhou = deadlines.due_dates(config_for("ezhou"), opened)
    assert ezhou == {"contact_due": opened + 48 * 3600, "done_due": opened + 5 * DAY}  # unchanged


def test_a_hall_writes_its_own_policy_in_toml(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text(OWN, encoding="utf-8")
    config = config_for("wuhan-2027", str(path))
    deadlines.use(config)
    try:
        assert deadlines.default_class() == "general"
        due = deadlines.due_dates(None, T0 + 3600)
        assert due == {"contact_due": T0 + 3600 + 2 * 3600, "done_due": workdays.add_days(T0 + 3600, 3, True)}
        assert deadlines.due_dates(None, T0, "complex")["done_due"] == T0 + 20 * DAY
        assert list(deadlines.classes()) == ["general", "complex"]
    finally:
        deadlines.use(None)
    assert set(policies.available(config)) >= {"changsha-1210", "qijiang", "ezhou-pilot", "wuhan-2027"}


@pytest.mark.parametrize(
    "text, message",
    [
        (OWN.replace('"3 working_days"', '"3 workdays"'), "classes.general done = '3 workdays'"),
        (OWN.replace("classes.general", "classes.urgent"), "unknown key urgent"),
        (OWN.replace('default = "general"', 'default = "simple"'), "default = 'simple'"),
        (OWN.replace("[wuhan-2027]", "[qijiang]"), "is a preset's name"),
        (OWN.replace('label = "一般问题", ', ""), "label must be a text"),
        ("[wuhan-2027\n", "not valid TOML"),
    ],
)
def test_a_bad_policy_file_is_refused_naming_the_key(tmp_path, text, message):
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        deadlines.use(config_for("wuhan-2027", str(path)))


def test_an_unknown_policy_stops_the_cli_in_one_line(tmp_path):
    home = make_home(tmp_path / "home")
    home.set("workorder", "policy", "nanjing")  # a name of the right form, but no such policy
    result = hostd(home, "workorder", "list")
    assert result.exit_code == 2
    assert "workorder.policy = 'nanjing': no such policy" in result.output
    assert "qijiang" in result.output and "Traceback" not in result.output


def test_the_class_moves_the_deadlines_and_keeps_a_met_contact(db):
    config = config_for("ezhou-pilot")
    deadlines.use(config)
    try:
        with db.conn:
            served_and_rated(db, "a1", "1", "s1", 1, T0 + 3600)
    finally:
        deadlines.use(None)
    order = workorders.list_orders(db, now=T0 + 3600)[0]
    assert order["complexity"] == "general"  # the pilot's default class
    assert order["done_due"] == workdays.add_days(T0 + 3600, 5, True)
    with db.conn:
        simple = classes.set_class(db, order["order_id"], "simple", "zhao", config=config, now=T0 + 4000)
    assert simple["contact_due"] == simple["done_due"] == hall_time.day_start(T0) + DAY - 1
    assert simple["events"][-1]["note"] == "定为「简易类」"
    with db.conn:
        workorders.move(db, order["order_id"], "contacted", "zhao", now=T0 + 5000)
        complex_ = classes.set_class(db, order["order_id"], "complex", "zhao", config=config, now=T0 + 6000)
    assert complex_["done_due"] == workdays.add_days(T0 + 3600, 15, True)
    assert complex_["contact_due"] == simple["contact_due"]  # contacted already: that deadline stays
    assert complex_["events"][-1]["note"] == "定为「较为复杂（会商）」，须会商"
    with pytest.raises(workorders.BadMove, match="本政策的问题分类"):
        classes.set_class(db, order["order_id"], "general", "zhao", config=config_for("qijiang"))


def test_a_consulted_order_is_replied_only_after_every_department(db):
    with db.conn:
        served_and_rated(db, "a1", "1", "s1", 1, T0 + 3600)
    order_id = workorders.list_orders(db, now=T0 + 3600)[0]["order_id"]
    with db.conn:
        classes.add_consult(db, order_id, "市场监管局", "zhao", now=T0 + 4000)
        classes.add_consult(db, order_id, "住建局", "zhao", now=T0 + 4001)
        with pytest.raises(workorders.BadMove, match="已请 住建局 会商"):
            classes.add_consult(db, order_id, "住建局", "zhao")
        for state in ("contacted", "rectifying"):
            workorders.move(db, order_id, state, "zhang", now=T0 + 5000)
        classes.consult_reply(db, order_id, "市场监管局", "同意整改方案", "zhao", now=T0 + 6000)
        with pytest.raises(workorders.BadMove, match="住建局"):
            workorders.move(db, order_id, "replied", "zhang", reply="已整改", now=T0 + 7000)
        with pytest.raises(workorders.BadMove, match="不在本工单的待回复"):
            classes.consult_reply(db, order_id, "市场监管局", "再次回复", "zhao")
        classes.consult_reply(db, order_id, "住建局", "已现场核实", "zhao", now=T0 + 8000)
        order = workorders.move(db, order_id, "replied", "zhang", reply="已整改", now=T0 + 9000)
    assert order["state"] == "replied"
    assert [(c["department"], c["reply"]) for c in order["consults"]] == [
        ("市场监管局", "同意整改方案"),
        ("住建局", "已现场核实"),
    ]
    notes = [e["note"] for e in order["events"]]
    assert "提请会商：住建局" in notes and "会商回复（住建局）：已现场核实" in notes


def test_a_supervisor_classes_an_order_and_runs_its_consult_on_the_page(hall):  # noqa: F811
    ctx, _ = hall
    ctx.config["workorder"]["policy"] = "ezhou-pilot"
    with ctx.store.read() as db:
        order_id = db.execute("SELECT order_id FROM work_orders WHERE staff_id = 's1'").fetchone()[0]
    zhao = client_for(ctx)
    login(zhao, "zhao")
    page = zhao.get("/workorders/%d" % order_id).text
    assert 'id="class-form"' in page and "较为复杂（会商）：联系 1个工作日，办结 15个工作日，须会商" in page
    token = csrf(page)
    path = "/workorders/%d" % order_id
    assert zhao.post(path + "/class", data={"csrf": token, "complexity": "complex"}).status_code == 303
    page = zhao.get(path).text
    assert '<td colspan="5" id="order-class">较为复杂（会商）</td>' in page and 'id="consult-form"' in page
    zhao.post(path + "/consults", data={"csrf": token, "department": "市场监管局"})
    zhao.post(path + "/consults/reply", data={"csrf": token, "department": "市场监管局", "reply": "同意"})
    with ctx.store.read() as db:
        row = db.execute("SELECT department, reply, replied_by FROM work_order_consults").fetchone()
        complexity = db.execute(
            "SELECT complexity FROM work_orders WHERE order_id = ?", [order_id]
        ).fetchone()
    assert tuple(row) == ("市场监管局", "同意", "zhao") and complexity[0] == "complex"
    bad = zhao.post(path + "/class", data={"csrf": token, "complexity": "urgent"})
    assert bad.status_code == 303 and "本政策的问题分类" in zhao.get(bad.headers["location"]).text
    zhang = client_for(ctx)
    login(zhang, "zhang")  # the order's own staff member: sees the class, cannot set it
    page = zhang.get(path).text
    assert "较为复杂（会商）" in page and 'id="class-form"' not in page
    refused = zhang.post(path + "/class", data={"csrf": csrf(page), "complexity": "simple"})
    assert refused.status_code == 403


def test_cli_classifies_and_consults(tmp_path):
    home = make_home(tmp_path / "home")
    home.set("workorder", "policy", "ezhou-pilot")
    db = hall_db_at(home)
    with db.conn:
        served_and_rated(db, "a1", "1", "s1", 1, T0 + 3600)
    order_id = db.execute("SELECT order_id FROM work_orders").fetchone()[0]
    db.conn.close()
    done = hostd(home, "workorder", "classify", str(order_id), "complex", "--actor", "zhao")
    assert done.exit_code == 0 and "complex (较为复杂（会商）)" in done.output
    asked = hostd(home, "workorder", "consult", str(order_id), "住建局", "--actor", "zhao")
    assert "waiting for 住建局" in asked.output
    answered = hostd(
        home, "workorder", "consult", str(order_id), "住建局", "--reply", "同意", "--actor", "zhao"
    )
    assert "waiting for none" in answered.output
    wrong = hostd(home, "workorder", "classify", str(order_id), "urgent")
    assert wrong.exit_code == 2 and "Traceback" not in wrong.output


def hall_db_at(home):
    """The fixture hall's units, staff and windows in the home's own hostd.db."""
    return hall_db(home.path)


def test_the_widened_checks_take_the_new_values_and_still_refuse_others(db):
    """s001 rewrote two CHECKs in place: the new class and verdict go in,
    anything else is still refused, and the integrity check is clean."""
    import sqlite3

    with db.conn:
        rating = served_and_rated(db, "a1", "1", "s1", 1, T0 + 3600)
        db.execute("UPDATE work_orders SET complexity = 'general'")
        db.execute("UPDATE ratings SET excluded = '刷好评' WHERE id = ?", [rating])
    for sql in ("UPDATE work_orders SET complexity = 'urgent'", "UPDATE ratings SET excluded = '随便'"):
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"), db.conn:
            db.execute(sql)
    assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert db.execute("SELECT SUM(not_counted) FROM stats_daily").fetchone()[0] == 1  # triggers kept


def test_an_ezhou_pilot_complex_order_is_not_replied_without_a_consult(db):
    config = config_for("ezhou-pilot")
    deadlines.use(config)
    try:
        with db.conn:
            served_and_rated(db, "a1", "1", "s1", 1, T0 + 3600)
            order_id = workorders.list_orders(db, now=T0 + 3600)[0]["order_id"]
            classes.set_class(db, order_id, "complex", "zhao", config=config, now=T0 + 4000)
            for state in ("contacted", "rectifying"):
                workorders.move(db, order_id, state, "zhang", now=T0 + 5000)
            with pytest.raises(workorders.BadMove, match="须先会商"):
                workorders.move(db, order_id, "replied", "zhang", reply="已整改", now=T0 + 6000)
            classes.add_consult(db, order_id, "住建局", "zhao", now=T0 + 6100)
            classes.consult_reply(db, order_id, "住建局", "同意", "zhao", now=T0 + 6200)
            assert (
                workorders.move(db, order_id, "replied", "zhang", reply="已整改", now=T0 + 6300)["state"]
                == "replied"
            )
    finally:
        deadlines.use(None)


def test_a_policy_file_broken_after_start_keeps_the_last_good_policy(tmp_path, caplog):
    import logging
    import os

    path = tmp_path / "policy.toml"
    path.write_text(OWN, encoding="utf-8")
    config = config_for("wuhan-2027", str(path))
    deadlines.use(config)  # start: parsed and good
    try:
        path.write_text("[wuhan-2027\n", encoding="utf-8")
        os.utime(path, ns=(1, 1))  # a new mtime, whatever the clock's grain
        with caplog.at_level(logging.WARNING, logger="hostd.workorders"):
            assert deadlines.default_class() == "general"  # the last good policy still decides
        assert any("keeping the policies read before" in r.getMessage() for r in caplog.records)
    finally:
        deadlines.use(None)


def test_cli_refuses_a_class_the_policy_does_not_have(tmp_path):
    home = make_home(tmp_path / "home")
    db = hall_db(home.path)
    with db.conn:
        served_and_rated(db, "a1", "1", "s1", 1, T0 + 3600)
    db.conn.close()
    wrong = hostd(
        home, "workorder", "classify", "1", "general", "--actor", "zhao"
    )  # changsha-1210: 2 classes
    assert wrong.exit_code == 2 and "本政策的问题分类为" in wrong.output and "Traceback" not in wrong.output
