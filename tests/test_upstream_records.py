"""The mapping of our rows to national upstream records, and what the outbox queues."""

import json

import pytest
from upstream_fixtures import AREA, DEPT, T0, add_rating, add_session, open_db

from hostd.upstream import records


@pytest.fixture
def db(tmp_path):
    return open_db(tmp_path / "hostd.db")


def bodies(db, kind=None):
    sql = "SELECT key, kind, body, blocked, depends_on FROM upstream_outbox WHERE target = 'province'"
    rows = db.conn.execute(
        sql + (" AND kind = ?" if kind else "") + " ORDER BY id", (kind,) if kind else ()
    ).fetchall()
    return [dict(key=k, kind=kd, body=json.loads(b), blocked=bl, depends_on=d) for k, kd, b, bl, d in rows]


def test_every_channel_and_reason_has_chinese_wording():
    assert set(records.CHANNELS) == {"device", "qr", "default", "paper", "sms"}
    assert {"attitude", "efficiency", "quality", "environment", "other", "convenience", "not_given"} == set(
        records.REASONS
    )
    assert records.SATISFACTION_NAMES[5] == "非常满意" and records.SATISFACTION_NAMES[1] == "非常不满意"


@pytest.mark.parametrize(
    "reasons,details,expect",
    [
        ("[1]", None, ["attitude"]),
        ("[2,3]", None, ["efficiency", "quality"]),
        ("[4]", None, ["environment"]),
        ("[5]", None, ["other"]),
        ("[]", None, []),
        ("[1]", '{"codes": ["convenience"]}', ["attitude", "convenience"]),
        ("[]", "[2]", ["efficiency"]),
        ("[1,1]", None, ["attitude"]),
        ("[9]", '["bogus", "not_given"]', []),
    ],
)
def test_reason_codes_to_our_reason_names(reasons, details, expect):
    assert records.reason_names(reasons, details) == expect


def test_assess_time_is_beijing_time():
    assert records.format_time(T0) == "2026-11-21 08:00:00"
    assert records.format_time(0) == "1970-01-01 08:00:00"


def test_device_rating_record_and_order(db):
    with db.conn:
        add_session(db, "s1", cases=("C-1",))
        add_rating(db, "s1", level=1, reasons="[1,3]", seq=7)
    rows = bodies(db)
    assert [r["kind"] for r in rows] == ["service", "rating"]
    service, rating = rows
    assert service["key"] == "svc:C-1:1" and service["blocked"] == 0
    assert service["body"]["projectNo"] == "C-1" and service["body"]["serviceNumber"] == 1
    assert service["body"]["deptCode"] == DEPT and service["body"]["areaCode"] == AREA
    assert "promiseTime" not in service["body"]  # the business system gave none
    assert rating["key"] == "dev:d1:7:C-1"
    assert rating["depends_on"] == "svc:C-1:1" and rating["blocked"] == 1
    body = rating["body"]
    assert "key" not in body and "type" not in body
    assert body["channel"] == "device" and body["satisfaction"] == 1 and body["assessNumber"] == 1
    assert body["reasons"] == ["attitude", "quality"] and body["proManager"] == "张三"
    assert "reasonNotGiven" not in body
    assert body["taskCode"] == "330100-001" and body["taskName"] == "食品经营许可"
    assert body["assessTime"] == "2026-11-21 08:01:00"
    assert "userName" not in body and "mobile" not in body
    identities = [
        r[0]
        for r in db.conn.execute("SELECT identity FROM upstream_outbox WHERE target = 'province' ORDER BY id")
    ]
    assert identities == ["service|C-1|1", "assess|C-1|1|1"]


def test_a_bad_rating_without_reason_or_words_is_marked_not_given(db):
    with db.conn:
        add_session(db, "s1")
        add_session(db, "s2", cases=("C2",))
        add_rating(db, "s1", level=2, reasons="[]", seq=1)
        add_rating(db, "s2", level=2, reasons="[]", seq=2, comment="排队太久")
    first, second = [r["body"] for r in bodies(db, "rating")]
    assert first["reasonNotGiven"] is True and first["reasons"] == []
    assert "reasonNotGiven" not in second and second["writingEvaluation"] == "排队太久"


def test_promise_time_and_task_type_only_when_the_business_system_gave_them(db):
    with db.conn:
        add_session(db, "s1")
        db.conn.execute(
            "UPDATE sessions SET promise_at = ?, task_type = '承诺件' WHERE session_id = 's1'", (T0 + 86400,)
        )
        db.conn.execute("DELETE FROM upstream_outbox")
        from hostd.upstream import outbox

        outbox.enqueue_session(db, "s1")
    body = bodies(db, "service")[0]["body"]
    assert body["promiseTime"] == "2026-11-22 08:00:00" and body["taskType"] == 2


def test_batch_session_rating_goes_up_once_per_case(db):
    with db.conn:
        add_session(db, "s1", cases=("C-1", "C-2", "C-3"))
        add_rating(db, "s1", level=5, seq=1)
    ratings = bodies(db, "rating")
    assert sorted(r["body"]["projectNo"] for r in ratings) == ["C-1", "C-2", "C-3"]
    assert len({r["key"] for r in ratings}) == 3
    assert len(bodies(db, "service")) == 3


def test_evaluator_fields_only_with_consent(db):
    with db.conn:
        add_session(db, "s1")
        add_session(db, "s2", cases=("C2",))
        add_rating(db, "s1", channel="qr", name="李四", mobile="13800000000", consent=0)
        add_rating(db, "s2", channel="qr", name="王五", mobile="13900000000", consent=1, comment="很好")
    first, second = [r["body"] for r in bodies(db, "rating")]
    assert "userName" not in first and "mobile" not in first and first["channel"] == "qr"
    assert second["userName"] == "王五" and second["mobile"] == "13900000000"
    assert second["writingEvaluation"] == "很好"


def test_default_and_paper_channels(db):
    with db.conn:
        add_session(db, "s1")
        add_session(db, "s2", cases=("C2",))
        add_rating(db, "s1", channel="default", level=3)
        add_rating(db, "s2", channel="paper", level=4)
    (default,) = bodies(db, "default")
    assert default["key"] == "default:s1:C1" and default["body"]["channel"] == "default"
    (paper,) = bodies(db, "rating")
    assert paper["key"] == "paper:s2:C2" and paper["body"]["channel"] == "paper"


def test_window_level_and_refused_ratings_stay_home(db):
    with db.conn:
        add_session(db, "s1")
        add_rating(db, "s1", seq=1)
        add_rating(db, "s1", seq=2, binding="refused")
        add_rating(db, None, seq=3, binding="window")
    assert len(bodies(db, "rating")) == 1


def test_unit_without_codes_takes_configured_defaults(db):
    with db.conn:
        add_session(db, "s1", unit="u0")
    body = bodies(db, "service")[0]["body"]
    assert body["deptCode"] == "" and body["areaCode"] == ""
    filled = records.fill_defaults(body, DEPT, AREA)
    assert filled["deptCode"] == DEPT and filled["areaCode"] == AREA


def test_enqueue_twice_is_one_row(db):
    from hostd.upstream import outbox

    with db.conn:
        add_session(db, "s1")
        rating_id = add_rating(db, "s1", seq=1)
        assert outbox.enqueue_rating(db, rating_id) == 0
        assert outbox.enqueue_session(db, "s1") == 0
    assert len(bodies(db)) == 2
