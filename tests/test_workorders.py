"""差评 work orders: opened by the pipeline, assigned 谁办理谁负责, moved through
their states with an audit trail, deadlines per policy preset, overdue checks."""

import logging

import pytest
from workorder_fixtures import T0, add_rating, hall_db, served_and_rated

from hostd.base.config import defaults
from hostd.casework import classes, workorders
from hostd.rules import deadlines

DAY = 86400


@pytest.fixture
def db(tmp_path):
    db = hall_db(tmp_path)
    yield db
    db.conn.close()


def test_every_counted_bad_rating_opens_one_order_for_who_handled_it(db):
    with db.conn:
        bad = served_and_rated(db, "a1", "2", "s2", 1, T0 + 3600)
        good = served_and_rated(db, "a2", "2", "s2", 5, T0 + 3700)
        middle = served_and_rated(db, "a3", "1", "s1", 3, T0 + 3800)
        qr_bad = served_and_rated(db, "a4", "3", "s3", 2, T0 + 3900, channel="qr")
        refused = add_rating(db, 1, T0 + 4000, session_id="a1", binding="refused")
    orders = {o["rating_id"]: o for o in workorders.list_orders(db, now=T0 + 5000)}
    assert set(orders) == {bad, qr_bad}
    assert good not in orders and middle not in orders and refused not in orders
    assert orders[bad]["staff_id"] == "s2" and orders[bad]["unit_id"] == "u-tax"
    assert orders[bad]["staff_name"] == "李四" and orders[bad]["unit_name"] == "税务局"
    assert orders[qr_bad]["staff_id"] == "s3" and orders[qr_bad]["unit_id"] == "u-soc"
    assert orders[bad]["state"] == "new" and orders[bad]["state_label"] == "待联系"
    events = workorders.get(db, orders[bad]["order_id"])["events"]
    assert [(e["actor"], e["from_state"], e["to_state"]) for e in events] == [("system", None, "new")]


def test_window_level_rating_goes_to_staff_on_duty_then(db):
    with db.conn:
        # s1 leaves window 1 at T0+1h; s3 takes it at T0+2h
        db.execute(
            "INSERT INTO duty_log (hall, window, staff_id, action, at) VALUES"
            " ('h1', '1', 's1', 'off', ?), ('h1', '1', 's3', 'on', ?)",
            (T0 + 3600, T0 + 7200),
        )
        early = add_rating(db, 1, T0 + 1800, window="1")
        paused = add_rating(db, 2, T0 + 5400, window="1")
        late = add_rating(db, 2, T0 + 9000, window="1")
        named = add_rating(db, 1, T0 + 9100, window="1", staff="0002")  # the device named 工号 0002
    who = {r: workorders.responsible(db, r) for r in (early, paused, late, named)}
    assert who[early] == {"staff_id": "s1", "unit_id": "u-tax"}
    assert who[paused] == {"staff_id": None, "unit_id": "u-tax"}  # 暂停服务: the window's unit
    assert who[late] == {"staff_id": "s3", "unit_id": "u-soc"}
    assert who[named] == {"staff_id": "s2", "unit_id": "u-tax"}
    assert len(workorders.list_orders(db, now=T0)) == 4


def _order(db, level=1, at=T0 + 3600, sid="b1"):
    with db.conn:
        rating = served_and_rated(db, sid, "1", "s1", level, at)
    return db.execute("SELECT order_id FROM work_orders WHERE rating_id = ?", (rating,)).fetchone()[0]


def test_full_path_to_closed_with_feedback_and_audit(db):
    order_id = _order(db)
    with db.conn:
        workorders.move(db, order_id, "contacted", "sup1", note="电话联系", now=T0 + 4000)
        workorders.move(db, order_id, "rectifying", "sup1", now=T0 + 5000)
        workorders.move(db, order_id, "replied", "s1", reply="已补正材料清单", now=T0 + 6000)
        done = workorders.move(db, order_id, "closed", "sup1", feedback="满意", now=T0 + 7000)
    assert done["state"] == "closed" and done["feedback"] == "满意" and done["closed_at"] == T0 + 7000
    assert done["done_at"] == T0 + 6000 and done["contacted_at"] == T0 + 4000 and done["on_time"]
    steps = [(e["actor"], e["from_state"], e["to_state"], e["at"]) for e in done["events"]]
    assert steps == [
        ("system", None, "new", T0 + 3600),
        ("sup1", "new", "contacted", T0 + 4000),
        ("sup1", "contacted", "rectifying", T0 + 5000),
        ("s1", "rectifying", "replied", T0 + 6000),
        ("sup1", "replied", "closed", T0 + 7000),
    ]
    assert "满意" in done["events"][-1]["note"]


def test_bad_moves_are_refused_with_one_line(db):
    order_id = _order(db)
    with db.conn:
        with pytest.raises(workorders.BadMove, match="next: contacted, explained"):
            workorders.move(db, order_id, "closed", "sup1")
        with pytest.raises(workorders.BadMove, match="explanation"):
            workorders.move(db, order_id, "explained", "sup1")
        with pytest.raises(workorders.BadMove, match="actor"):
            workorders.move(db, order_id, "contacted", "")
        with pytest.raises(workorders.NotFound):
            workorders.move(db, 999, "contacted", "sup1")
        done = workorders.move(
            db, order_id, "explained", "sup1", explanation="诉求超出办理范围", now=T0 + 4000
        )
    assert done["state"] == "explained" and done["explanation"] == "诉求超出办理范围"
    with pytest.raises(workorders.BadMove, match="finished"):
        workorders.move(db, order_id, "contacted", "sup1")
    for message in ("finished", "explanation"):
        assert "\n" not in message


def test_closed_without_reachable_complainant(db):
    order_id = _order(db)
    with db.conn:
        for state, kw in (("contacted", {}), ("rectifying", {}), ("replied", {"reply": "已整改"})):
            workorders.move(db, order_id, state, "sup1", now=T0 + 5000, **kw)
        with pytest.raises(workorders.BadMove, match="feedback"):
            workorders.move(db, order_id, "closed", "sup1", feedback="很好")
        done = workorders.move(db, order_id, "closed", "sup1", now=T0 + 6000)
    assert done["feedback"] is None and "无法联系" in done["events"][-1]["note"]


@pytest.mark.parametrize(
    "policy, contact, simple, complex_",
    [
        ("ezhou", 48 * 3600, 5 * DAY, 15 * DAY),
    ],
)
def test_natural_day_presets(policy, contact, simple, complex_):
    config = defaults()
    config["workorder"]["policy"] = policy
    due = deadlines.due_dates(config, T0)
    assert due == {"contact_due": T0 + contact, "done_due": T0 + simple}
    assert deadlines.due_dates(config, T0, "complex")["done_due"] == T0 + complex_
    assert "鄂州" in deadlines.describe(config)


def test_working_day_presets_follow_the_calendar():
    from hostd.rules import workdays

    config = defaults()
    due = deadlines.due_dates(config, T0 + 3600)  # changsha-1210
    assert due["contact_due"] == workdays.add_days(T0 + 3600, 1, True)
    assert due["done_due"] == workdays.add_days(T0 + 3600, 2, True)
    assert deadlines.due_dates(config, T0, "complex")["done_due"] == workdays.add_days(T0, 10, True)
    config["workorder"]["policy"] = "heilongjiang"
    due = deadlines.due_dates(config, T0)
    assert due == {"contact_due": None, "done_due": workdays.add_days(T0, 10, True)}


def test_overdue_first_and_warned_in_the_log(db, caplog):
    config = defaults()
    config["workorder"]["policy"] = "ezhou"
    deadlines.use(config)
    try:
        late = _order(db, at=T0, sid="c1")  # contact due T0+48h, done T0+5d
        fresh = _order(db, at=T0 + 4 * DAY + 3600, sid="c2")
        on_time = _order(db, at=T0 + DAY, sid="c3")
    finally:
        deadlines.use(None)
    with db.conn:
        workorders.move(db, on_time, "contacted", "sup1", now=T0 + DAY + 60)
    now = T0 + 3 * DAY
    orders = workorders.list_orders(db, now=now)
    assert [o["order_id"] for o in orders] == [late, on_time, fresh]
    assert orders[0]["overdue"] == "contact" and orders[0]["overdue_seconds"] == DAY
    assert orders[1]["overdue"] is None and orders[2]["overdue"] is None
    with caplog.at_level(logging.WARNING, logger="hostd.workorders"):
        found = workorders.check_overdue(db, T0 + 6 * DAY + 1)
    # late: done T0+5d; on_time: done T0+6d; fresh: contact due T0+6d+1h, not yet
    assert [o["order_id"] for o in found] == [late, on_time]
    assert [o["overdue"] for o in found] == ["done", "done"]
    assert len([r for r in caplog.records if "overdue" in r.getMessage()]) == 2
    assert workorders.counts(db, now=T0 + 7 * DAY)["overdue"] == 3


def test_complexity_moves_the_deadline(db):
    order_id = _order(db)
    with db.conn:
        order = classes.set_class(db, order_id, "complex", "sup1", now=T0 + 4000)
    assert order["complexity"] == "complex"
    assert order["done_due"] == deadlines.due_dates(None, T0 + 3600, "complex")["done_due"]
    assert order["events"][-1]["note"] == "定为「复杂问题」"


def test_deadlines_cross_national_day_and_the_adjusted_working_day():
    """An order opened on 2026-09-30 (Wed) 10:00 under 长沙“1210”: 10月1-7日 are
    holidays (chinese-calendar), so 1 working day lands on Oct 8 or later."""
    import datetime

    import chinese_calendar

    config = defaults()
    opened = T0 - 33 * DAY + 10 * 3600  # 2026-09-30 10:00 +08:00

    def china_date(ts):
        return datetime.datetime.fromtimestamp(ts + 8 * 3600, datetime.timezone.utc).date()

    assert china_date(opened) == datetime.date(2026, 9, 30)
    due = deadlines.due_dates(config, opened)
    day = china_date(due["contact_due"])
    expected = datetime.date(2026, 10, 1)
    while not chinese_calendar.is_workday(expected):
        expected += datetime.timedelta(1)
    assert day == expected and day > datetime.date(2026, 10, 7)
