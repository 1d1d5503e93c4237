"""申诉复核: staff appeal their own ratings; an upheld one is kept but not counted."""

import pytest
from workorder_fixtures import T0, hall_db, served_and_rated

from hostd.casework import appeals, workorders
from hostd.reporting import periods, stats


@pytest.fixture
def db(tmp_path):
    db = hall_db(tmp_path)
    with db.conn:
        for i in range(8):
            served_and_rated(db, "g%d" % i, "1", "s1", 5, T0 + 600 * i)
        db.bad = served_and_rated(db, "b1", "1", "s1", 1, T0 + 9000)
        db.other = served_and_rated(db, "b2", "2", "s2", 2, T0 + 9100)
    yield db
    db.conn.close()


def test_uphold_excludes_from_rates_keeps_the_row_and_ends_the_order(db):
    start, end = periods.period("2026-11")
    before = stats.rates(db, start, end, staff_id="s1")
    assert (before["total"], before["bad"], before["good_rate"]) == (9, 1, round(8 / 9, 4))
    with db.conn:
        appeal = appeals.file(db, db.bad, "s1", "群众误按，已当面确认", actor="s1", now=T0 + 9500)
    assert appeal["state"] == "pending" and appeal["state_label"] == "待复核"
    with db.conn:
        done = appeals.decide(
            db, appeal["appeal_id"], True, "sup1", verdict="误评", note="调取录像核实", now=T0 + 9900
        )
    assert done["state"] == "upheld" and done["verdict"] == "误评" and done["decided_by"] == "sup1"
    assert db.execute("SELECT level, excluded FROM ratings WHERE id = ?", (db.bad,)).fetchone() == (1, "误评")
    after = stats.rates(db, start, end, staff_id="s1")
    assert (after["total"], after["bad"], after["good_rate"], after["excluded"]) == (8, 0, 1.0, 1)
    order = workorders.list_orders(db, staff_id="s1", now=T0 + 9900)[0]
    assert order["state"] == "explained" and "误评" in order["explanation"]
    last = workorders.get(db, order["order_id"])["events"][-1]
    assert (last["actor"], last["to_state"], last["at"]) == ("sup1", "explained", T0 + 9900)
    assert after["bad_orders"] == 0  # an excluded 差评 is no longer a 差评 to rectify


def test_reject_changes_nothing_but_the_record(db):
    with db.conn:
        appeal = appeals.file(db, db.bad, "s1", "不认可", actor="s1", now=T0 + 9500)
        done = appeals.decide(db, appeal["appeal_id"], False, "sup1", note="理由不成立", now=T0 + 9600)
    assert done["state"] == "rejected" and done["verdict"] is None
    assert db.execute("SELECT excluded FROM ratings WHERE id = ?", (db.bad,)).fetchone()[0] is None
    with pytest.raises(appeals.AppealError, match="decided already"):
        appeals.decide(db, appeal["appeal_id"], True, "sup1", verdict="误评")
    # after a rejection the staff member may appeal again (new evidence)
    with db.conn:
        again = appeals.file(db, db.bad, "s1", "补充材料", actor="s1", now=T0 + 9700)
    assert [a["appeal_id"] for a in appeals.list_appeals(db)] == [again["appeal_id"], appeal["appeal_id"]]


def test_only_own_ratings_one_pending_and_a_verdict_is_required(db):
    with pytest.raises(appeals.AppealError, match="own"):
        appeals.file(db, db.other, "s1", "不是我", actor="s1")
    with pytest.raises(appeals.AppealError, match="reason"):
        appeals.file(db, db.bad, "s1", "  ", actor="s1")
    with pytest.raises(appeals.NotFound):
        appeals.file(db, 12345, "s1", "x", actor="s1")
    with db.conn:
        appeal = appeals.file(db, db.bad, "s1", "误按", actor="s1")
    with pytest.raises(appeals.AppealError, match="pending"):
        appeals.file(db, db.bad, "s1", "再次", actor="s1")
    with pytest.raises(appeals.AppealError, match="verdict"):
        appeals.decide(db, appeal["appeal_id"], True, "sup1", verdict="不算")
    assert appeals.list_appeals(db, staff_id="s2") == []
    assert appeals.list_appeals(db, state="pending")[0]["staff_name"] == "张三"
