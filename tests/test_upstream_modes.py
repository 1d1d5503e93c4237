"""upstream.service_records: hostd sends the 办件 service records, or the
window's business system does (first, or late); sessions without a case id;
kinds an adapter has no call for."""

import json

from upstream_fixtures import T0, add_rating, add_session, make_sender, outbox_counts, seed
from upstream_platform import db, ref  # noqa: F401 (fixtures)

from hostd.base.config import defaults
from hostd.rules import sessions
from hostd.sync.service import status

SECRET = b"modes-secret"


def business_sender(db, ref, adapter="json", **kw):
    return make_sender(db, ref.url, adapter, secret=SECRET, service_records="business-system", **kw)


def push_services(db, ref):
    """The business system sends each session's service record itself."""
    rows = db.conn.execute("SELECT body FROM upstream_outbox WHERE kind = 'service'").fetchall()
    for (body,) in rows:
        record = json.loads(body)
        assert ref.platform.push_service(dict(record, serviceName="业务系统：" + record["serviceName"]))
    return len(rows)


def test_business_system_first_then_our_ratings_go_without_service_records(db, ref):
    seed(db, 50)
    assert push_services(db, ref) == 50
    total = business_sender(db, ref, "epoint").drain()
    assert total["error"] is None
    assert outbox_counts(db) == {"external": 50, "confirmed": 50}
    stats = ref.stats()
    assert stats["services"] == 50 and stats["ratings"] == 50
    assert "refused_NO_SERVICE" not in stats and "refused_REPEAT_SERVICE" not in stats
    sources = ref.platform.db.execute("SELECT DISTINCT source FROM services").fetchall()
    assert sources == [("business",)]  # we sent none


def test_business_system_late_ratings_wait_and_retry_then_go(db, ref):
    seed(db, 20)
    send = business_sender(db, ref)
    send.drain()
    counts = outbox_counts(db)
    assert counts == {"external": 20, "rejected": 20}  # 没有对应的服务数据: retried, not dead
    reasons = {r[0] for r in db.conn.execute("SELECT last_error FROM upstream_outbox WHERE kind = 'rating'")}
    assert all("没有对应的服务数据" in r for r in reasons)
    push_services(db, ref)  # the business system catches up
    db.conn.execute("UPDATE upstream_outbox SET next_attempt = 0")
    db.conn.commit()
    send.drain()
    assert outbox_counts(db) == {"external": 20, "confirmed": 20}
    assert ref.stats()["ratings"] == 20


def test_business_system_that_never_sends_makes_a_dead_letter_after_the_wait(db, ref):
    with db.conn:
        add_session(db, "s1", cases=("C1",))
        add_rating(db, "s1", seq=1)
    send = business_sender(db, ref, service_wait_hours=2)
    send.drain()
    assert outbox_counts(db) == {"external": 1, "rejected": 1}
    # 2 hours and more later, still no service record upstream
    db.conn.execute("UPDATE upstream_outbox SET created_at = created_at - 7201, next_attempt = 0")
    db.conn.commit()
    send.drain()
    error = db.conn.execute("SELECT last_error FROM upstream_outbox WHERE kind = 'rating'").fetchone()[0]
    assert outbox_counts(db) == {"external": 1, "dead": 1}
    assert "没有对应的服务数据" in error and "after 2 h" in error


def test_a_repeat_service_record_of_the_same_content_counts_as_sent(db, ref):
    with db.conn:
        add_session(db, "s1", cases=("C1",))
        add_rating(db, "s1", seq=1)
    record = json.loads(
        db.conn.execute("SELECT body FROM upstream_outbox WHERE kind = 'service'").fetchone()[0]
    )
    assert ref.platform.push_service(record)  # the business system sent exactly what we would
    make_sender(db, ref.url, "epoint", secret=SECRET).drain()
    assert outbox_counts(db) == {"confirmed": 2}
    assert ref.stats()["refused_REPEAT_SERVICE"] == 1


def test_a_session_without_case_id_gets_a_project_no_by_the_rule_never_its_id(db):
    config = defaults()
    config["upstream"]["project_no_prefix"] = "HZ01"
    with db.conn:
        first = sessions.project_no(db, config, "h1", T0)
        db.conn.execute(
            "INSERT INTO sessions (session_id, hall, window, device_id, item_code, item_name, staff_id,"
            " staff_name, staff_no, cases, created_at, screen_until, rate_until)"
            " VALUES ('s1', 'h1', 'w01', 'd1', 'x', '事项', 'st1', '张三', '0042', 1, ?, ?, ?)",
            (T0, T0 + 120, T0 + 5 * 86400),
        )
        db.conn.execute(
            "INSERT INTO session_cases (session_id, case_id, visit, generated) VALUES ('s1', ?, 1, 1)",
            (first,),
        )
        second = sessions.project_no(db, config, "h1", T0 + 60)
        next_day = sessions.project_no(db, config, "h1", T0 + 86400)
    assert (first, second, next_day) == ("HZ0120261121000001", "HZ0120261121000002", "HZ0120261122000001")
    config["upstream"]["project_no_prefix"] = ""
    with db.conn:
        assert sessions.project_no(db, config, "hall-07", T0) == "hall-0720261121000001"


def local_case_session(db, sid="s9", case="HZ0120261121000009"):
    with db.conn:
        add_session(db, sid, cases=(case,))
        db.conn.execute("UPDATE session_cases SET generated = 1 WHERE session_id = ?", (sid,))
        db.conn.execute("UPDATE upstream_outbox SET local_case = 1 WHERE ref = ?", (sid,))
        add_rating(db, sid, level=1, reasons="[2]", seq=9)


def test_in_send_mode_a_numbered_session_goes_up_under_its_number(db, ref):
    local_case_session(db)
    make_sender(db, ref.url, secret=SECRET).drain()
    assert outbox_counts(db) == {"confirmed": 2}
    assert ref.platform.db.execute("SELECT projectNo FROM ratings").fetchall() == [("HZ0120261121000009",)]


def test_in_business_system_mode_it_is_kept_home_as_not_reportable(db, ref):
    local_case_session(db)
    seed(db, 3)
    push_services(db, ref)
    send = business_sender(db, ref)
    send.drain()
    held = db.conn.execute(
        "SELECT key, last_error FROM upstream_outbox WHERE status = 'held' ORDER BY key"
    ).fetchall()
    assert [k for k, _ in held] == ["dev:d1:9:HZ0120261121000009", "svc:HZ0120261121000009:1"]
    assert all("not reportable" in error and "case id" in error for _k, error in held)
    info = status(db, T0)
    assert info["held"] == 2 and info["dead"] == 0
    assert "province" not in info["backlog_by_target"]  # (its 差评's work order waits for 12345)
    assert ref.stats()["ratings"] == 3


def test_replies_and_appeals_stay_home_under_an_adapter_without_such_calls(db, ref):
    with db.conn:
        add_session(db, "s1", cases=("C1",))
        add_rating(db, "s1", level=5, seq=1)
        db.conn.execute(
            "INSERT INTO upstream_outbox (target, kind, key, ref, body, created_at, identity)"
            " VALUES ('province', 'reply', 'reply:1:C1', '1', ?, 0, 'reply|C1|1')",
            (json.dumps({"projectNo": "C1", "serviceNumber": 1, "assessNumber": 1, "replyContent": "已整改",
                         "replyTime": "2026-11-22 08:00:00", "feedback": 1}),),
        )  # fmt: skip
    make_sender(db, ref.url, "epoint", secret=SECRET).drain()
    row = db.conn.execute("SELECT status, last_error FROM upstream_outbox WHERE kind = 'reply'").fetchone()
    assert row[0] == "held" and "epoint adapter has no call for reply" in row[1]
    assert outbox_counts(db) == {"confirmed": 2, "held": 1}
