"""Fraud signals: each flag carries its evidence; nothing is ever deleted."""

import math

import pytest
from workorder_fixtures import T0, add_rating, hall_db, served_and_rated

from hostd.casework import fraud, fraud_review
from hostd.reporting import periods, stats


@pytest.fixture
def db(tmp_path):
    db = hall_db(tmp_path)
    yield db
    db.conn.close()


def _count(db):
    return db.execute("SELECT COUNT(*), SUM(excluded IS NULL) FROM ratings").fetchone()


def test_burst_of_presses_on_one_device_but_not_a_backlog(db):
    with db.conn:
        burst = [add_rating(db, 5, T0 + 1000 + 10 * i, window="1") for i in range(5)]
        for i in range(6):  # window 2: one press every 5 minutes
            add_rating(db, 5, T0 + 300 * i, window="2")
        # window 3 was offline: 6 presses over an hour arrive together on reconnect
        for i in range(6):
            rid = add_rating(db, 4, T0 + 600 * i, window="3")
            db.execute("UPDATE ratings SET received_at = ? WHERE id = ?", (T0 + 4000 + i, rid))
    flags = fraud.bursts(
        db,
        "received_at >= :start AND received_at < :end",
        {"start": T0 - 10, "end": T0 + 86400},
        dict(fraud.DEFAULTS),
    )
    assert [f["subject"] for f in flags] == ["dev-1"]
    ev = flags[0]["evidence"]
    assert ev["most_in_window"] == 5 and ev["rating_ids"] == burst and ev["first_at"] == T0 + 1000
    assert "60 秒内按键 5 次" in flags[0]["statistic"]


def test_ratings_without_session(db):
    with db.conn:
        ids = [add_rating(db, 5, T0 + 100 * i, window="2") for i in range(3)]
        served_and_rated(db, "s-ok", "2", "s2", 4, T0 + 1000)
        add_rating(db, 5, T0 + 100, window="1")  # one alone is below the threshold
    flags = [f for f in fraud.scan(db, T0, T0 + 86400) if f["kind"] == "no_session"]
    assert [f["subject"] for f in flags] == ["dev-2"]
    ev = flags[0]["evidence"]
    assert (ev["without_session"], ev["all"], ev["very_satisfied"], ev["rating_ids"]) == (3, 4, 3, ids)
    assert "75.0%" in flags[0]["statistic"]


def test_offline_ratings_as_often_as_the_device_allows_are_flagged(db):
    """A device takes one offline rating a minute at most (device.offline_interval_s):
    someone pressing each time it lets them shows as an offline burst; citizens
    served every few minutes while the network is down do not."""
    with db.conn:
        stuffed = [add_rating(db, 5, T0 + 61 * i, window="1") for i in range(6)]
        for i in range(6):  # window 2 offline: a citizen every 5 minutes
            add_rating(db, 5, T0 + 300 * i, window="2")
        for i in range(6):  # window 3: sessions every minute are not offline ratings
            served_and_rated(db, "on%d" % i, "3", "s3", 5, T0 + 61 * i)
    flags = [f for f in fraud.scan(db, T0, T0 + 86400) if f["kind"] == "offline_burst"]
    assert [f["subject"] for f in flags] == ["dev-1"]
    ev = flags[0]["evidence"]
    assert ev["most_in_window"] == 6 and ev["rating_ids"] == stuffed and ev["window_seconds"] == 600
    assert flags[0]["statistic"].startswith("离线期间（无服务记录）600 秒内按键 6 次（阈值 5 次）")
    assert flags[0]["kind_label"] == "离线期间连续评价"


def test_staff_far_above_peers_with_the_z_statistic(db):
    with db.conn:
        for i in range(40):  # s1: 38 of 40 非常满意 (95%)
            served_and_rated(db, "x%d" % i, "1", "s1", 5 if i < 38 else 4, T0 + 600 * i)
        for i in range(60):  # s2 and s3: 30 of 60 (50%)
            staff, window = ("s2", "2") if i % 2 else ("s3", "3")
            served_and_rated(db, "y%d" % i, window, staff, 5 if i < 30 else 4, T0 + 600 * i)
    flags = [f for f in fraud.scan(db, T0, T0 + 86400) if f["kind"] == "top_share"]
    assert [f["subject"] for f in flags] == ["s1"]
    ev = flags[0]["evidence"]
    pooled = 68 / 100.0
    expected = (38 / 40.0 - 30 / 60.0) / math.sqrt(pooled * (1 - pooled) * (1 / 40.0 + 1 / 60.0))
    assert ev["z"] == round(expected, 2) and ev["z"] > 3
    assert (ev["n"], ev["very_satisfied"], ev["peer_n"], ev["peer_very_satisfied"]) == (40, 38, 60, 30)
    assert "z = %.2f" % expected in flags[0]["statistic"]
    # a high share on too few ratings is not flagged
    assert (
        fraud.top_share(
            db,
            "received_at >= :start AND received_at < :end",
            {"start": T0, "end": T0 + 86400},
            dict(fraud.DEFAULTS, min_ratings=41),
        )
        == []
    )


def test_z_statistic_edge_cases():
    assert fraud.z_two_proportions(0, 0, 5, 10) is None
    assert fraud.z_two_proportions(10, 10, 10, 10) == 0.0
    assert fraud.z_two_proportions(5, 10, 5, 10) == 0.0


def test_one_link_or_address_used_many_times(db):
    with db.conn:
        served_and_rated(db, "q1", "1", "s1", 1, T0 + 100, channel="qr")
        add_rating(db, 1, T0 + 200, session_id="q1", channel="qr", binding="refused")
        for i in range(5):
            served_and_rated(db, "q%d" % (i + 10), "2", "s2", 1, T0 + 300 + i, channel="qr")
            db.execute(
                "UPDATE ratings SET client_addr = '10.0.0.9' WHERE session_id = ?", ("q%d" % (i + 10),)
            )
    flags = {f["subject"]: f for f in fraud.scan(db, T0, T0 + 86400) if f["kind"] == "same_source"}
    assert set(flags) == {"link:q1", "addr:10.0.0.9"}
    assert flags["link:q1"]["evidence"]["count"] == 2
    addr = flags["addr:10.0.0.9"]
    assert addr["evidence"]["count"] == 5 and addr["evidence"]["sessions"] == 5
    assert addr["period_start"] == periods.day_start(T0)


def test_record_and_review_never_touch_ratings(db):
    with db.conn:
        for i in range(5):
            add_rating(db, 5, T0 + i, window="1")
    before = _count(db)
    flags = fraud.scan(db, T0, T0 + 86400)
    assert {f["kind"] for f in flags} == {"burst", "no_session", "offline_burst"}
    with db.conn:
        assert fraud.record(db, flags, now=T0 + 100) == 3
        assert fraud.record(db, fraud.scan(db, T0, T0 + 86400), now=T0 + 200) == 0  # no duplicates
    listed = fraud.list_flags(db)
    assert len(listed) == 3 and all(f["evidence"]["rating_ids"] for f in listed)
    with db.conn:
        done = fraud_review.dismiss(db, listed[0]["flag_id"], "sup1", note="培训演示")
    assert done["state"] == "dismissed" and done["reviewed_by"] == "sup1"
    assert len(fraud.list_flags(db)) == 2 and len(fraud.list_flags(db, state=None)) == 3
    assert _count(db) == before
    with pytest.raises(ValueError):
        fraud.scan(db, T0, T0 + 1, burst_size=3)
