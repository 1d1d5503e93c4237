"""The sender against the reference platform over real loopback HTTP."""

import json
import time

import pytest
from upstream_fixtures import add_rating, add_session, outbox_counts, seed, writer
from upstream_platform import db, ref  # noqa: F401 (fixtures)

from hostd.sync import adapters
from hostd.sync.sender import Backoff, Sender
from peers.upstream_ref.server import RefPlatform

SECRET = b"test-shared-secret"


def make_sender(db, url, batch_size=200, timeout=10.0, secret=SECRET, adapter=None):
    write, read = writer(db)
    return Sender(
        adapter or adapters.JsonHmacAdapter(url, secret, timeout),
        write,
        read,
        batch_size=batch_size,
        backoff=Backoff(0.005, 0.05),
    )


def drain_all(sender, db, limit_s=120):
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
    assert stats["ratings"] == sessions
    assert stats["distinct_ratings"] == sessions  # 0 duplicates upstream
    assert "refused_REPEAT_ASSESS" not in stats and "refused_NO_SERVICE" not in stats
    return stats


def test_drain_confirms_every_record_once_service_first(db, ref):
    seed(db, 300)
    total = make_sender(db, ref.url, batch_size=64).drain()
    assert total["confirmed"] == 600 and total["dead"] == 0 and total["error"] is None
    assert_exactly_once(db, ref, 300)
    # every rating reached the platform after its service record
    order = ref.platform.db.execute(
        "SELECT COUNT(*) FROM ratings r JOIN services s ON s.projectNo = r.projectNo WHERE s.at > r.at"
    ).fetchone()[0]
    assert order == 0
    last = db.conn.execute("SELECT value FROM upstream_state WHERE name = 'last_success_province'")
    assert last.fetchone() is not None


def run_down_then_up(db, ref, sessions):
    seed(db, sessions)
    ref.stop()  # the platform is down: nothing listens on its port
    sender = make_sender(db, ref.url, batch_size=500)
    total = sender.drain()
    assert total["error"] and total["confirmed"] == 0
    counts = outbox_counts(db)
    assert counts.get("pending") == 2 * sessions and not counts.get("dead")
    assert db.conn.execute("SELECT value FROM upstream_state WHERE name = 'last_error'").fetchone()
    time.sleep(0.05)
    sender.drain(give_up_on_error=False, max_seconds=0.3)  # still down: retries, backs off
    assert outbox_counts(db).get("pending") == 2 * sessions
    assert sender.failures >= 2
    ref.start()  # back on the same port
    drain_all(sender, db)
    assert_exactly_once(db, ref, sessions)


def test_platform_down_then_up_short(db, ref):
    run_down_then_up(db, ref, 2000)


@pytest.mark.slow
def test_platform_down_then_up_50000(db, ref):
    run_down_then_up(db, ref, 50000)


def run_dropped_replies(db, ref, drops, sessions, batch_size):
    seed(db, sessions)
    ref.faults.set("drop", count=drops)
    sender = make_sender(db, ref.url, batch_size=batch_size)
    drain_all(sender, db, limit_s=600)
    assert ref.faults.applied["drop"] == drops
    stats = assert_exactly_once(db, ref, sessions)
    assert stats["duplicates"] >= drops  # every dropped batch came again, and was absorbed


def test_reply_dropped_after_commit_short(db, ref):
    run_dropped_replies(db, ref, drops=60, sessions=300, batch_size=10)


@pytest.mark.slow
def test_reply_dropped_after_commit_1000_times(db, ref):
    run_dropped_replies(db, ref, drops=1000, sessions=5000, batch_size=10)


def test_poisoned_records_go_dead_and_the_rest_flow_past(db, ref):
    with db.conn:
        add_session(db, "bad-code", cases=("P1",), item_code="")  # taskCode empty: BAD_CODE
        add_rating(db, "bad-code", level=5, seq=900001)
        add_session(db, "no-reason", cases=("P2",))
        add_rating(db, "no-reason", level=1, reasons="[]", seq=900002)  # 差评, no detail: NO_DETAIL
    seed(db, 200)
    drain_all(make_sender(db, ref.url, batch_size=50), db)
    dead = dict(db.conn.execute("SELECT key, last_error FROM upstream_outbox WHERE status = 'dead'"))
    assert set(dead) == {"svc:P1:1", "dev:d1:900001:P1", "dev:d1:900002:P2"}
    assert dead["svc:P1:1"].startswith("BAD_CODE")
    assert "prerequisite svc:P1:1 is dead" in dead["dev:d1:900001:P1"]
    assert dead["dev:d1:900002:P2"].startswith("NO_DETAIL") and "差评" in dead["dev:d1:900002:P2"]
    counts = outbox_counts(db)
    assert counts == {"confirmed": 401, "dead": 3}  # 200 pairs + the good service P2
    assert ref.stats()["ratings"] == 200


def test_rating_without_service_is_refused_by_the_platform_and_retried(db, ref):
    with db.conn:
        add_session(db, "s1")
        add_rating(db, "s1", seq=1)
        db.conn.execute("UPDATE upstream_outbox SET blocked = 0")  # force the rating out first
        db.conn.execute("UPDATE upstream_outbox SET next_attempt = 1e12 WHERE kind = 'service'")
    sender = make_sender(db, ref.url)
    sender.step()
    row = db.conn.execute("SELECT status, last_error FROM upstream_outbox WHERE kind = 'rating'").fetchone()
    assert row[0] == "rejected" and "没有对应的服务数据" in row[1]
    db.conn.execute("UPDATE upstream_outbox SET next_attempt = 0")
    db.conn.commit()
    drain_all(sender, db)
    assert outbox_counts(db) == {"confirmed": 2}


def test_http_500_and_slow_answers_are_retried_without_duplicates(db, ref):
    seed(db, 100)
    ref.faults.set("error500", count=3)
    sender = make_sender(db, ref.url, batch_size=40, timeout=0.3)
    drain_all(sender, db)
    ref.faults.set("slow", count=2, delay=0.6)  # longer than the client waits
    seed(db, 50, start=100)
    drain_all(sender, db)
    assert ref.faults.applied == {"error500": 3, "slow": 2}
    assert_exactly_once(db, ref, 150)


def test_wrong_secret_is_a_transport_error_not_a_dead_letter(db, ref):
    seed(db, 5)
    total = make_sender(db, ref.url, secret=b"wrong").drain()
    assert "HTTP 401" in total["error"]
    assert outbox_counts(db) == {"pending": 10}


def test_backoff_grows_to_its_cap_with_jitter():
    top = Backoff(2.0, 60.0, rng=lambda: 0.999999)
    low = Backoff(2.0, 60.0, rng=lambda: 0.0)
    assert [round(top.delay(n)) for n in (1, 2, 3, 4, 5, 6, 7, 50)] == [2, 4, 8, 16, 32, 60, 60, 60]
    assert [low.delay(n) for n in (1, 2, 6)] == [1.0, 2.0, 30.0]


def test_crash_after_marking_sent_resends_and_is_absorbed(db, ref):
    seed(db, 50)
    sender = make_sender(db, ref.url, batch_size=1000)
    sender.drain()
    # simulate: answers lost in a crash after the platform committed
    db.conn.execute("UPDATE upstream_outbox SET status = 'sent', next_attempt = 1e12")
    db.conn.commit()
    assert sender.recover() == 100
    drain_all(sender, db)
    stats = assert_exactly_once(db, ref, 50)
    assert stats["duplicates"] == 100


def test_sm_adapter_round_trip(db, tmp_path):
    keys = adapters.sm2_keypair()
    platform = RefPlatform(tmp_path / "ref-sm.db", SECRET, sm2_keys=keys).start()
    try:
        seed(db, 10)
        sm = adapters.SmAdapter(platform.url, SECRET, keys[1])
        drain_all(make_sender(db, platform.url, adapter=sm), db)
        assert_exactly_once(db, platform, 10)
        body = json.loads(platform.platform.db.execute("SELECT body FROM ratings").fetchone()[0])
        assert body["taskName"] == "食品经营许可"
        bad = adapters.SmAdapter(platform.url, b"other", keys[1])
        with pytest.raises(adapters.TransportError, match="401"):
            bad.send([{"type": "service", "key": "x"}])
    finally:
        platform.stop()


def test_units_without_codes_use_the_configured_ones(db, ref):
    with db.conn:
        add_session(db, "s1", unit="u0")
        add_rating(db, "s1", seq=1)
        add_session(db, "s2", cases=("C2",), unit="u0")
        add_rating(db, "s2", seq=2)
    write, read = writer(db)
    bare = Sender(adapters.JsonHmacAdapter(ref.url, SECRET), write, read, backoff=Backoff(0.01, 0.05))
    bare.step()  # no configured codes: the platform refuses the service records for good
    assert outbox_counts(db) == {"dead": 4}
    db.conn.execute(
        "UPDATE upstream_outbox SET status = 'pending', blocked = (kind = 'rating'), next_attempt = 0,"
        " last_error = NULL"
    )
    db.conn.commit()
    configured = Sender(
        adapters.JsonHmacAdapter(ref.url, SECRET),
        write,
        read,
        dept_code="11330100MB0000002X",
        area_code="330100000000",
    )
    configured.drain()
    assert outbox_counts(db) == {"confirmed": 4}
    body = json.loads(ref.platform.db.execute("SELECT body FROM ratings").fetchone()[0])
    assert body["deptCode"] == "11330100MB0000002X"
