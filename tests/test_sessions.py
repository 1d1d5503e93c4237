"""Sessions, staff and duty, and the binding of ratings (one service, one rating),
on a real SQLite file through hostd.db.store.open_database."""

import json

import pytest

from hostd.base import config as config_schema
from hostd.db.store import open_database
from hostd.recording.device_ratings import insert_rating
from hostd.rules import binding, sessions, staff
from protocol import messages

HALL = "h1"
NOW = 1_800_000_000
CONFIG = config_schema.defaults()


@pytest.fixture
def db(tmp_path):
    db = open_database(tmp_path / "hostd.db")
    with db.conn:
        for device, window in (("w07-a", "07"), ("w08-a", "08")):
            db.execute(
                "INSERT INTO devices (device_id, hall, window, key_hex, created_at) VALUES (?, ?, ?, ?, 0)",
                [device, HALL, window, "00" * 32],
            )
        staff.add_staff(db, "s1", "张三", "0042", NOW)
        staff.add_staff(db, "s2", "李四", "0043", NOW)
        staff.add_window(db, HALL, "09", "无设备窗口")
    yield db
    db.conn.close()


def start(db, window="07", cases=(), staff_id="s1", now=NOW, item="户口迁移"):
    with db.conn:
        return sessions.create(db, CONFIG, HALL, window, "A001", item, staff_id, cases, now)


def rate(db, seq, session=None, device="w07-a", level=5, staff_id="s1", t=NOW, synced=True, received=None):
    fields = [1, "R", device, seq, session, level, [], 1, staff_id, t, synced]
    wire = messages.sign(b"k" * 32, fields)
    with db.conn:
        insert_rating(db, messages.as_dict(fields), wire, HALL, received or t + 1)
    return db.execute(
        "SELECT session_id, binding, matched_offline FROM ratings WHERE device_id = ? AND seq = ?",
        [device, seq],
    ).fetchone()


def test_a_batch_session_is_rated_once_for_every_case(db):
    s = start(db, cases=["c1", "c2", ("c3", 2)])
    assert s["cases"] == 3 and s["device_id"] == "w07-a" and s["staff_no"] == "0042"
    assert s["rate_until"] > s["screen_until"] > NOW
    assert rate(db, 1, s["session_id"]) == (s["session_id"], "session", 0)
    got = sessions.get(db, s["session_id"])
    assert got["state"] == "rated" and got["rating"]["level"] == 5
    assert [c["case_id"] for c in got["case_list"]] == ["c1", "c2", "c3"]
    # a second rating for the session is kept, refused, not counted
    assert rate(db, 2, s["session_id"], level=1) == (s["session_id"], "refused", 0)
    assert db.execute("SELECT COUNT(*) FROM ratings WHERE binding = 'session'").fetchone()[0] == 1
    assert binding.bind_channel(db, s["session_id"]) == "refused"  # e.g. the QR page later


def test_a_session_without_case_ids_is_numbered_by_the_rule_not_by_its_id(db):
    first, second = start(db), start(db, window="08", now=NOW + 5)
    day = "20270115"  # NOW in Beijing time
    assert first["case_list"] == [{"case_id": "h1%s000001" % day, "visit": 1, "generated": True}]
    assert second["case_list"][0]["case_id"] == "h1%s000002" % day
    assert first["session_id"] not in first["case_list"][0]["case_id"]
    generated = db.execute("SELECT DISTINCT generated FROM session_cases").fetchall()
    assert generated == [(1,)]


def test_a_window_without_a_device_takes_sessions_rated_through_the_link(db):
    s = start(db, window="09")  # window 09 has no device (a QR-only window)
    assert s["device_id"] is None and s["state"] == "open"
    assert sessions.get(db, s["session_id"])["device_id"] is None


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"window": "99"}, staff.UnknownWindow),
        ({"item": "  "}, staff.EmptyItemName),
        ({"staff_id": "nobody"}, staff.UnknownStaff),
    ],
)
def test_bad_requests_say_why(db, kwargs, error):
    with pytest.raises(error) as caught:
        start(db, **kwargs)
    assert caught.value.status in (404, 409, 422)
    assert " / " in str(caught.value)  # Chinese / English


def test_a_case_already_open_or_rated_is_refused_but_another_visit_is_not(db):
    s = start(db, cases=["c1"])
    with pytest.raises(staff.CaseTaken):
        start(db, cases=["c1"])
    rate(db, 1, s["session_id"])
    with pytest.raises(staff.CaseTaken) as caught:
        start(db, cases=["c1"])
    assert "rated" in str(caught.value)
    assert start(db, cases=[("c1", 2)])["cases"] == 1


def test_a_rating_for_another_devices_session_is_refused(db):
    s = start(db, window="08")
    assert rate(db, 1, s["session_id"], device="w07-a")[1] == "refused"


def test_an_offline_rating_matches_the_one_session_opened_meanwhile(db):
    s = start(db, now=NOW)
    row = rate(db, 1, None, t=NOW + 30)
    assert row == (s["session_id"], "session", 1)
    assert sessions.get(db, s["session_id"])["state"] == "rated"
    # nothing left to match: the next offline press is window-level
    assert rate(db, 2, None, t=NOW + 40) == (None, "window", 0)


def test_an_offline_rating_binds_to_the_session_on_screen_at_its_device_time(db):
    older = start(db, now=NOW)
    newer = start(db, now=NOW + 10)
    # pressed at NOW + 30 by the device's synced clock: the window was showing the newer one
    assert rate(db, 1, None, t=NOW + 30)[:2] == (newer["session_id"], "session")
    # pressed at NOW + 5: only the older one was on screen then
    assert rate(db, 5, None, t=NOW + 5)[:2] == (older["session_id"], "session")


def test_an_offline_rating_stays_window_level_when_unrelated(db):
    start(db, now=NOW)
    assert rate(db, 2, None, t=NOW + 30, device="w08-a")[1] == "window"  # no session there
    assert rate(db, 3, None, t=NOW + 30, staff_id="s2")[1] == "window"  # someone else's
    assert rate(db, 4, None, t=NOW + 3600)[1] == "window"  # long after the screen time


def test_an_unsynced_offline_rating_uses_the_host_arrival_window(db):
    rate(db, 1, None, t=5, synced=False, received=NOW - 100)  # before any session
    s = start(db, now=NOW)
    assert rate(db, 2, None, t=7, synced=False, received=NOW + 600)[:2] == (s["session_id"], "session")


def test_duty_moves_a_staff_member_and_logs_it(db):
    with db.conn:
        assert staff.on_duty(db, HALL, "07", "s1", NOW) == ["07"]
        assert staff.on_duty(db, HALL, "08", "s1", NOW + 1) == ["07", "08"]
    assert staff.get_window(db, HALL, "07")["serving"] is False
    assert staff.get_window(db, HALL, "08")["staff_no"] == "0042"
    # a session without staff_id is the on-duty staff's; a paused window needs one
    assert start(db, window="08", staff_id=None)["staff_id"] == "s1"
    with pytest.raises(staff.BadField):
        start(db, window="07", staff_id=None)
    actions = db.execute("SELECT window, staff_id, action FROM duty_log ORDER BY id").fetchall()
    assert actions == [("07", "s1", "on"), ("07", "s1", "off"), ("08", "s1", "on")]
    assert json.dumps(staff.list_windows(db, HALL), ensure_ascii=False).count("暂停") == 0


def _service_rows(db, session_id):
    return db.conn.execute(
        "SELECT key, status, attempts FROM upstream_outbox WHERE kind = 'service' AND ref = ? ORDER BY key",
        (session_id,),
    ).fetchall()


def test_an_open_session_is_cancelled_with_its_reason_and_frees_its_cases(db):
    s = start(db, cases=["c1", "c2"])
    assert len(_service_rows(db, s["session_id"])) == 2
    with db.conn:  # one service record has been tried upstream already: it stays
        db.execute(
            "UPDATE upstream_outbox SET attempts = 1, status = 'sent' WHERE rowid = (SELECT MIN(rowid)"
            " FROM upstream_outbox WHERE kind = 'service' AND ref = ?)",
            [s["session_id"]],
        )
        done = sessions.cancel(db, s["session_id"], "办件信息录入错误", "zhao", NOW + 5)
    assert (done["state"], done["closed_at"], done["cancel_reason"], done["cancelled_by"]) == (
        "cancelled",
        NOW + 5,
        "办件信息录入错误",
        "zhao",
    )
    assert done["kept_upstream"] == 1 and [r[1] for r in _service_rows(db, s["session_id"])] == ["sent"]
    again = start(db, cases=["c1"], now=NOW + 10)  # its cases are free again
    assert again["state"] == "open"
    # No rating binds to it: an offline press matches the new session, not the cancelled one.
    assert rate(db, 1, None, t=NOW + 30)[:2] == (again["session_id"], "session")


def test_only_an_open_session_can_be_cancelled(db):
    s = start(db)
    rate(db, 1, s["session_id"])
    with pytest.raises(staff.SessionClosed, match="已评价"):
        with db.conn:
            sessions.cancel(db, s["session_id"], "录入错误", "api", NOW)
    other = start(db, window="08")
    with db.conn:
        sessions.cancel(db, other["session_id"], "录入错误", "api", NOW)
    with pytest.raises(staff.SessionClosed, match="已取消"):
        with db.conn:
            sessions.cancel(db, other["session_id"], "录入错误", "api", NOW)
    with pytest.raises(staff.UnknownSession):
        sessions.cancel(db, "s-none", "录入错误", "api", NOW)
    for reason in ("", "   ", "x" * 201):
        with pytest.raises(staff.BadField):
            sessions.cancel(db, other["session_id"], reason, "api", NOW)
