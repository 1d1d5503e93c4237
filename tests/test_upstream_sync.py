"""The sender against the reference platform over real loopback HTTP, for
each adapter: no key travels, a repeat is confirmed by reading it back."""

import json
import time

import pytest
from upstream_fixtures import T0, add_rating, add_session, make_sender, outbox_counts, seed
from upstream_platform import db, ref  # noqa: F401 (fixtures)

from hostd.sync import sealing
from hostd.sync.http_link import TransportError
from hostd.sync.own import SmAdapter
from hostd.sync.sender import Backoff
from peers.upstream_ref.server import RefPlatform

SECRET = b"test-shared-secret"
ADAPTERS = ("json", "epoint")


def sender(db, ref, adapter="json", **kw):
    return make_sender(db, ref.url, adapter, secret=kw.pop("secret", SECRET), **kw)


def drain_all(sender, db, limit_s=300):
    """Drain, waiting out backoff, until nothing is open."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        sender.drain(give_up_on_error=False, max_seconds=limit_s)
        counts = outbox_counts(db)
        if not any(counts.get(s) for s in ("pending", "sent", "rejected")):
            return counts
        time.sleep(0.01)
    raise AssertionError("outbox not drained: %s" % outbox_counts(db))


def assert_exactly_once(db, ref, sessions):
    counts = outbox_counts(db)
    assert counts == {"confirmed": 2 * sessions}, counts
    stats = ref.stats()
    assert stats["services"] == sessions
    assert stats["ratings"] == sessions  # the platform's identity is unique: none twice
    assert "refused_NO_SERVICE" not in stats
    return stats


def platform_rating(ref, project_no):
    row = ref.platform.db.execute("SELECT body FROM ratings WHERE projectNo = ?", (project_no,)).fetchone()
    return json.loads(row[0]) if row else None


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_drain_confirms_every_record_once_service_first(db, ref, adapter):
    seed(db, 300)
    total = sender(db, ref, adapter, batch_size=64).drain()
    assert total["confirmed"] == 600 and total["dead"] == 0 and total["error"] is None
    assert_exactly_once(db, ref, 300)
    order = ref.platform.db.execute(
        "SELECT COUNT(*) FROM ratings r JOIN services s ON s.projectNo = r.projectNo WHERE s.at > r.at"
    ).fetchone()[0]
    assert order == 0  # every rating reached the platform after its service record
    body = platform_rating(ref, "C0000000")
    assert "key" not in body and "type" not in body and "channel" not in body


def run_down_then_up(db, ref, sessions, adapter="json"):
    seed(db, sessions)
    ref.stop()  # the platform is down: nothing listens on its port
    send = sender(db, ref, adapter, batch_size=500)
    total = send.drain()
    assert total["error"] and total["confirmed"] == 0
    counts = outbox_counts(db)
    assert counts.get("pending") == 2 * sessions and not counts.get("dead")
    assert db.conn.execute("SELECT value FROM upstream_state WHERE name = 'last_error'").fetchone()
    time.sleep(0.05)
    send.drain(give_up_on_error=False, max_seconds=0.3)  # still down: retries, backs off
    assert outbox_counts(db).get("pending") == 2 * sessions
    assert send.failures >= 2
    ref.start()  # back on the same port
    drain_all(send, db)
    assert_exactly_once(db, ref, sessions)


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_platform_down_then_up_short(db, ref, adapter):
    run_down_then_up(db, ref, 500, adapter)


@pytest.mark.slow
def test_platform_down_then_up_50000(db, ref):
    run_down_then_up(db, ref, 50000)


def run_dropped_replies(db, ref, drops, sessions, adapter, batch_size):
    seed(db, sessions)
    ref.faults.set("drop", count=drops)
    send = sender(db, ref, adapter, batch_size=batch_size)
    drain_all(send, db, limit_s=600)
    assert ref.faults.applied["drop"] == drops
    stats = assert_exactly_once(db, ref, sessions)
    repeats = stats.get("refused_REPEAT_ASSESS", 0) + stats.get("refused_REPEAT_SERVICE", 0)
    assert repeats >= stats["queries"] >= 1
    confirmed_by_query = db.conn.execute(
        "SELECT COUNT(*) FROM upstream_outbox WHERE note = 'confirmed by query after a repeat'"
    ).fetchone()[0]
    assert confirmed_by_query == stats["queries"]  # each repeat we heard of was read back, and matched


def test_reply_lost_after_commit_1000_times_epoint(db, ref):
    """1,000 replies lost after the platform committed: every rating arrives
    exactly once, and none is a dead letter."""
    run_dropped_replies(db, ref, drops=1000, sessions=1000, adapter="epoint", batch_size=100)


def test_reply_lost_after_commit_json_batches(db, ref):
    run_dropped_replies(db, ref, drops=40, sessions=300, adapter="json", batch_size=10)


@pytest.mark.slow
def test_reply_lost_after_commit_5000_sessions(db, ref):
    run_dropped_replies(db, ref, drops=1000, sessions=5000, adapter="json", batch_size=10)


def test_a_repeat_with_other_content_is_a_dead_letter_with_both_versions(db, ref):
    with db.conn:
        add_session(db, "s1", cases=("C1",))
        add_rating(db, "s1", level=5, seq=1)
    send = sender(db, ref, "epoint")
    send.step()  # the service record
    ours = json.loads(db.conn.execute("SELECT body FROM upstream_outbox WHERE kind = 'rating'").fetchone()[0])
    theirs = send.translate("rating", ours)
    theirs["satisfaction"] = 3  # another system rated this case first, at another level
    ref.platform.db.execute(
        "INSERT INTO ratings (projectNo, serviceNumber, assessNumber, pf, satisfaction, body, at)"
        " VALUES ('C1', 1, 1, '4', 3, ?, 0)",
        (json.dumps(theirs),),
    )
    send.drain()
    status, error, remote = db.conn.execute(
        "SELECT status, last_error, remote_body FROM upstream_outbox WHERE kind = 'rating'"
    ).fetchone()
    assert status == "dead" and error.startswith("MISMATCH") and "satisfaction" in error
    assert json.loads(remote)["satisfaction"] == 3


def test_a_service_record_the_business_system_sent_differently_lets_the_rating_go(db, ref):
    with db.conn:
        add_session(db, "s1", cases=("C1",))
        add_rating(db, "s1", level=4, seq=1)
    business = {
        "projectNo": "C1",
        "serviceNumber": 1,
        "serviceName": "食品经营许可（新办）",
        "serviceTime": "2026-11-21 07:55:00",
        "taskCode": "330100-001",
        "deptCode": "11330100MB0000001X",
        "areaCode": "330100000000",
    }
    assert ref.platform.push_service(business)
    drain_all(sender(db, ref, "epoint"), db)
    rows = dict(db.conn.execute("SELECT kind, status FROM upstream_outbox").fetchall())
    assert rows == {"service": "dead", "rating": "confirmed"}
    assert platform_rating(ref, "C1")["satisfaction"] == 4


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_a_bad_rating_whose_reason_timed_out_arrives_as_that_bad_rating(db, ref, adapter):
    with db.conn:
        add_session(db, "s1", cases=("C1",))
        add_rating(db, "s1", level=1, reasons="[]", seq=1)  # reason screen timed out
    drain_all(sender(db, ref, adapter), db)
    assert outbox_counts(db) == {"confirmed": 2}
    body = platform_rating(ref, "C1")
    assert body["satisfaction"] == 1
    assert body["evalDetail"] == ("1090" if adapter == "json" else "519")  # the table's not_given
    assert body["writingEvaluation"] == "评价人未选择具体原因（系统补充）"


def test_no_reason_code_and_text_come_from_the_config(db, ref):
    with db.conn:
        add_session(db, "s1", cases=("C1",))
        add_rating(db, "s1", level=2, reasons="[]", seq=1)
    send = sender(db, ref, "json", no_reason_code="1099", no_reason_text="未选原因（系统）")
    drain_all(send, db)
    body = platform_rating(ref, "C1")
    assert body["evalDetail"] == "1099" and body["writingEvaluation"] == "未选原因（系统）"


def test_poisoned_records_go_dead_and_the_rest_flow_past(db, ref):
    with db.conn:
        add_session(db, "bad-code", cases=("P1",), item_code="")  # taskCode empty: BAD_CODE
        add_rating(db, "bad-code", level=5, seq=900001)
    seed(db, 200)
    drain_all(sender(db, ref, batch_size=50), db)
    dead = dict(db.conn.execute("SELECT key, last_error FROM upstream_outbox WHERE status = 'dead'"))
    assert set(dead) == {"svc:P1:1", "dev:d1:900001:P1"}
    assert dead["svc:P1:1"].startswith("BAD_CODE")
    assert "prerequisite svc:P1:1" in dead["dev:d1:900001:P1"]
    assert outbox_counts(db) == {"confirmed": 400, "dead": 2}
    assert ref.stats()["ratings"] == 200


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_rating_without_service_is_refused_by_the_platform_and_retried(db, ref, adapter):
    with db.conn:
        add_session(db, "s1")
        add_rating(db, "s1", seq=1)
        db.conn.execute("UPDATE upstream_outbox SET blocked = 0")  # force the rating out first
        db.conn.execute("UPDATE upstream_outbox SET next_attempt = 1e12 WHERE kind = 'service'")
    send = sender(db, ref, adapter)
    send.step()
    row = db.conn.execute("SELECT status, last_error FROM upstream_outbox WHERE kind = 'rating'").fetchone()
    assert row[0] == "rejected" and "没有对应的服务数据" in row[1]
    db.conn.execute("UPDATE upstream_outbox SET next_attempt = 0")
    db.conn.commit()
    drain_all(send, db)
    assert outbox_counts(db) == {"confirmed": 2}


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_http_500_slow_and_garbage_answers_are_retried_without_duplicates(db, ref, adapter):
    seed(db, 100)
    ref.faults.set("error500", count=3)
    send = sender(db, ref, adapter, batch_size=40, timeout_s=1)
    drain_all(send, db)
    ref.faults.set("slow", count=2, delay=1.5)  # longer than the client waits
    seed(db, 50, start=100)
    drain_all(send, db)
    ref.faults.set("garbage", count=3)  # committed, but the answer is unreadable
    seed(db, 20, start=150)
    drain_all(send, db)
    assert ref.faults.applied == {"error500": 3, "slow": 2, "garbage": 3}
    assert_exactly_once(db, ref, 170)


def test_an_unreadable_answer_is_logged_once_per_kind(db, ref, caplog):
    seed(db, 10)
    ref.faults.set("garbage", count=8)
    with caplog.at_level("WARNING", logger="hostd.upstream"):
        drain_all(sender(db, ref, "epoint", batch_size=4), db)
    unread = [r for r in caplog.records if "could not be read" in r.getMessage()]
    assert len(unread) == 1
    assert_exactly_once(db, ref, 10)


def test_wrong_secret_is_a_transport_error_not_a_dead_letter(db, ref):
    seed(db, 5)
    total = sender(db, ref, secret=b"wrong").drain()
    assert "HTTP 401" in total["error"]
    assert outbox_counts(db) == {"pending": 10}


def test_backoff_grows_to_its_cap_with_jitter():
    top = Backoff(2.0, 60.0, rng=lambda: 0.999999)
    low = Backoff(2.0, 60.0, rng=lambda: 0.0)
    assert [round(top.delay(n)) for n in (1, 2, 3, 4, 5, 6, 7, 50)] == [2, 4, 8, 16, 32, 60, 60, 60]
    assert [low.delay(n) for n in (1, 2, 6)] == [1.0, 2.0, 30.0]


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_crash_after_marking_sent_resends_and_is_confirmed_by_query(db, ref, adapter):
    seed(db, 50)
    send = sender(db, ref, adapter, batch_size=1000)
    send.drain()
    # simulate: answers lost in a crash after the platform committed
    db.conn.execute("UPDATE upstream_outbox SET status = 'sent', next_attempt = 1e12")
    db.conn.commit()
    assert send.recover() == 100
    drain_all(send, db)
    stats = assert_exactly_once(db, ref, 50)
    assert stats["refused_REPEAT_SERVICE"] == 50 and stats["refused_REPEAT_ASSESS"] == 50
    assert stats["queries"] == 100


def test_sm_adapter_round_trip(db, tmp_path):
    keys = sealing.sm2_keypair()
    platform = RefPlatform(tmp_path / "ref-sm.db", SECRET, sm2_keys=keys).start()
    try:
        seed(db, 10)
        send = make_sender(db, platform.url, "sm", secret=SECRET, sm2_public_key=keys[1])
        assert isinstance(send.adapter, SmAdapter)
        drain_all(send, db)
        assert_exactly_once(db, platform, 10)
        body = platform_rating(platform, "C0000000")
        assert body["taskName"] == "食品经营许可"
        bad = SmAdapter(platform.url, b"other", keys[1])
        with pytest.raises(TransportError, match="401"):
            bad.send([(1, "service", {"projectNo": "x"})])
    finally:
        platform.stop()


def test_units_without_codes_use_the_configured_ones(db, ref):
    with db.conn:
        add_session(db, "s1", unit="u0")
        add_rating(db, "s1", seq=1)
        add_session(db, "s2", cases=("C2",), unit="u0", at=T0 + 10)
        add_rating(db, "s2", seq=2)
    sender(db, ref).step()  # no configured codes: the platform refuses the service records for good
    assert outbox_counts(db) == {"dead": 4}
    db.conn.execute(
        "UPDATE upstream_outbox SET status = 'pending', blocked = (kind = 'rating'), next_attempt = 0,"
        " last_error = NULL"
    )
    db.conn.commit()
    sender(db, ref, dept_code="11330100MB0000002X", area_code="330100000000").drain()
    assert outbox_counts(db) == {"confirmed": 4}
    assert platform_rating(ref, "C1")["deptCode"] == "11330100MB0000002X"
