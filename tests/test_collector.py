"""The collector end to end: real Mosquitto, real SQLite, devices signing with real keys."""

import logging
import threading
import time

import pytest
from collector_hall import HALL, hall  # noqa: F401 (the fixture)
from hostd_helpers import SigningDevice, rating_fields, status_fields, wait_for
from hostd_helpers import sql_rows as db_rows

from hostd.db.store import Store
from hostd.devices import registry
from hostd.ingest.collector import Collector
from protocol import messages, topics


def test_signed_rating_is_committed_before_its_ack(hall):
    dev = hall.device()
    seen_at_ack = []
    original = dev._on_message

    def on_ack(client, userdata, msg):
        # the moment the ack arrives, the row must already be committed
        seen_at_ack.append(db_rows(hall.path))
        original(client, userdata, msg)

    dev.client.on_message = on_ack
    dev.rate(1, level=5)
    ack = dev.wait_ack()
    assert (ack["kind"], ack["device"], ack["seq"], ack["result"]) == ("A", "w01-a", 1, "stored")
    assert seen_at_ack == [[("w01-a", 1, 5)]]
    assert dev.bad_acks == []
    row = db_rows(hall.path, "SELECT hall, session_id, staff, received_at > 0 FROM ratings")
    assert row == [(HALL, "s-1", "0042", 1)]
    assert hall.collector.stats["stored"] == 1 and hall.collector.stats["acked"] == 1


def test_duplicate_is_reacked_not_stored_twice(hall):
    dev = hall.device()
    wire = dev.rate(4, level=3)
    assert dev.wait_ack()["result"] == "stored"
    dev.publish(wire)  # the device lost the ack and sends the same bytes again
    assert dev.wait_ack()["result"] == "duplicate"
    assert db_rows(hall.path) == [("w01-a", 4, 3)]
    assert hall.collector.stats["duplicate"] == 1
    # /metrics' ack latency: one observation per ack sent, stored or duplicate
    counts = {s.name: s.value for m in hall.collector.ack_latency.collect() for s in m.samples}
    assert counts["hostd_ack_latency_seconds_count"] == 2 and 0 < counts["hostd_ack_latency_seconds_sum"] < 60


def rejected(hall, dev, payload, reason, device=None, leaf=topics.RATING):
    """Publish `payload`; expect its rejection under `reason`, no row, no ack."""
    before = hall.collector.counters.get(reason, 0)
    rows_before = db_rows(hall.path)
    dev.publish(payload, leaf=leaf, device=device)
    wait_for(lambda: hall.collector.counters.get(reason, 0) == before + 1)
    assert dev.no_ack(0.3)
    assert db_rows(hall.path) == rows_before


def test_bad_input_is_rejected_by_reason_and_the_collector_keeps_going(hall):
    dev = hall.device()
    other = hall.device("w02-b")
    good = rating_fields("w01-a", 1)
    wire = dev.sign(good)

    forged = dev.sign(good, key=bytes(32))
    rejected(hall, dev, forged, "bad_signature")
    dev.publish(wire)
    assert dev.wait_ack()["result"] == "stored"
    rejected(hall, dev, dev.sign(rating_fields("w01-a", 1, level=1)), "replayed")
    # signed correctly by w02-b, published on w01-a's topic
    rejected(hall, dev, other.sign(rating_fields("w02-b", 9)), "wrong_device")
    rejected(hall, dev, wire[:-10], "malformed")
    rejected(hall, dev, b" " * 1025, "oversized")
    bad_utf8 = wire.replace(b'"s-1"', b'"s-\xff"')
    rejected(hall, dev, bad_utf8, "malformed")
    rejected(hall, dev, dev.sign(rating_fields("w01-a", 2, level=0)), "level_out_of_range")
    rejected(hall, dev, dev.sign(rating_fields("w01-a", 3, level=6)), "level_out_of_range")
    rejected(hall, dev, b"\x00\x01garbage", "malformed")
    stranger = hall.device("w99-z", key=bytes(range(32)))
    rejected(hall, stranger, stranger.sign(rating_fields("w99-z", 1)), "unknown_device")
    registry.revoke_device(hall.store, "w02-b")
    rejected(hall, other, other.sign(rating_fields("w02-b", 1)), "unknown_device")
    # a rating on the status topic
    rejected(hall, dev, dev.sign(rating_fields("w01-a", 5)), "malformed", leaf=topics.STATUS)

    dev.rate(2, level=4)  # still alive: a good rating afterwards is stored
    ack = dev.wait_ack()
    assert (ack["seq"], ack["result"]) == (2, "stored")
    assert abs(ack["host_time"] - time.time()) < 60
    assert db_rows(hall.path) == [("w01-a", 1, 5), ("w01-a", 2, 4)]
    counts = hall.collector.counters
    assert counts == {
        "bad_signature": 1,
        "replayed": 1,
        "wrong_device": 1,
        "malformed": 4,
        "oversized": 1,
        "level_out_of_range": 2,
        "unknown_device": 2,
    }
    wait_for(
        lambda: (
            sum(dict(db_rows(hall.path, "SELECT device_id || ':' || reason, count FROM rejections")).values())
            == 12
        )
    )
    persisted = dict(db_rows(hall.path, "SELECT device_id || ':' || reason, count FROM rejections"))
    assert persisted == {
        "w01-a:bad_signature": 1,
        "w01-a:replayed": 1,
        "w01-a:wrong_device": 1,
        "w01-a:malformed": 4,
        "w01-a:oversized": 1,
        "w01-a:level_out_of_range": 2,
        "w99-z:unknown_device": 1,
        "w02-b:unknown_device": 1,
    }
    assert dev.bad_acks == []


def test_each_device_reason_is_logged_once(hall, caplog):
    caplog.set_level(logging.WARNING, logger="hostd.collector")
    dev = hall.device()
    other = hall.device("w02-b")
    for seq in range(1, 6):
        dev.publish(dev.sign(rating_fields("w01-a", seq), key=bytes(32)))
    for seq in range(1, 4):
        other.publish(other.sign(rating_fields("w02-b", seq), key=bytes(32)))
    dev.publish(b"junk")
    wait_for(lambda: sum(hall.collector.counters.values()) == 9)

    def logged():
        return [
            r.getMessage()
            for r in caplog.records
            if r.name == "hostd.collector" and "rejected" in r.getMessage()
        ]

    # A rejection is counted, then logged (after the counters' lock): wait for both.
    wait_for(lambda: len(logged()) >= 3)
    lines = logged()
    assert sum("w01-a" in line and "bad_signature" in line for line in lines) == 1
    assert sum("w02-b" in line and "bad_signature" in line for line in lines) == 1
    assert sum("w01-a" in line and "malformed" in line for line in lines) == 1
    assert len(lines) == 3
    assert hall.collector.counters == {"bad_signature": 8, "malformed": 1}


def test_internal_error_is_counted_and_logged_with_traceback_once(hall, caplog):
    caplog.set_level(logging.WARNING, logger="hostd.collector")

    def broken(device_id, now=None):
        raise RuntimeError("simulated bug")

    real = hall.collector.keys.keys
    hall.collector.keys.keys = broken
    dev, other = hall.device("w01-a"), hall.device("w02-b")
    dev.rate(1)
    dev.rate(2)
    wait_for(lambda: hall.collector.counters.get("internal_error") == 2)

    def logged():
        return [r for r in caplog.records if "internal_error" in r.getMessage()]

    wait_for(logged)  # counted first, then logged
    errors = logged()
    assert len(errors) == 1 and errors[0].exc_info is not None
    # Counted under the device it was handling, so another device's bug is logged too.
    assert "device %s:" % dev.device_id in errors[0].getMessage()
    other.rate(1)
    wait_for(lambda: hall.collector.counters.get("internal_error") == 3)
    wait_for(lambda: len(logged()) >= 2)
    errors = logged()
    assert len(errors) == 2 and "device %s:" % other.device_id in errors[1].getMessage()
    query = "SELECT device_id, count FROM rejections WHERE reason = 'internal_error'"
    wait_for(lambda: sum(dict(db_rows(hall.path, query)).values()) == 3)
    assert dict(db_rows(hall.path, query)) == {dev.device_id: 2, other.device_id: 1}
    hall.collector.keys.keys = real
    dev.rate(3)
    assert dev.wait_ack()["seq"] == 3


def test_heartbeat_updates_the_fleet_view(hall):
    dev = hall.device()
    dev.heartbeat(fw="1.2.3", outbox=4, heap=48000, synced=True, next_seq=17)
    wait_for(lambda: hall.collector.stats["status"] == 1)
    row = db_rows(
        hall.path,
        "SELECT device_id, state, online, firmware, outbox_depth, free_heap,"
        " clock_synced, next_seq, window FROM fleet ORDER BY device_id",
    )
    assert row == [
        ("w01-a", "online", 1, "1.2.3", 4, 48000, 1, 17, "A01"),
        ("w02-b", "never_seen", 0, None, None, None, None, None, "A02"),
    ]


def test_forged_heartbeat_is_refused(hall):
    dev = hall.device()
    rejected(hall, dev, dev.sign(status_fields("w01-a"), key=bytes(32)), "bad_signature", leaf=topics.STATUS)
    assert db_rows(hall.path, "SELECT * FROM device_status") == []


def test_last_will_marks_the_device_offline(hall):
    dev = hall.device(will=True)
    dev.heartbeat()
    wait_for(lambda: db_rows(hall.path, "SELECT state FROM fleet WHERE device_id='w01-a'") == [("online",)])
    dev.drop()  # no DISCONNECT: the broker publishes the signed will
    wait_for(
        lambda: (
            db_rows(
                hall.path, "SELECT state, online, offline_at IS NOT NULL FROM fleet WHERE device_id='w01-a'"
            )
            == [("offline", 0, 1)]
        ),
        timeout=20,
    )


def test_two_collectors_share_the_load_exactly_once(tmp_path, mosquitto):
    store = Store(tmp_path / "hostd.db")
    names = ["d%02d" % i for i in range(6)]
    keys = {n: registry.add_device(store, n, "A1", HALL) for n in names}
    collectors = [
        Collector(store, "127.0.0.1", mosquitto.port, shared_group="hostd", client_id="hostd-%d" % i)
        for i in range(2)
    ]
    try:
        assert all(c.start(10) for c in collectors)
        devices = [SigningDevice(mosquitto.port, HALL, n, keys[n]) for n in names]
        per_device = 40
        threads = [
            threading.Thread(target=lambda d=d: [d.rate(s) for s in range(1, per_device + 1)])
            for d in devices
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        total = len(names) * per_device
        for d in devices:
            got = sorted(d.wait_ack()["seq"] for _ in range(per_device))
            assert got == list(range(1, per_device + 1))
        stored = [c.stats["stored"] for c in collectors]
        assert sum(stored) == total
        assert all(s > 0 for s in stored), stored  # both took a share
        assert db_rows(
            str(tmp_path / "hostd.db"),
            "SELECT COUNT(*), COUNT(DISTINCT device_id || '/' || seq) FROM ratings",
        ) == [(total, total)]
        for d in devices:
            d.close()
    finally:
        for c in collectors:
            c.stop()
        store.close()


def test_ack_is_signed_with_the_key_that_verified_during_rotation(hall):
    old = hall.keys["w01-a"]
    registry.rotate_key(hall.store, "w01-a", overlap_s=3600)
    dev = hall.device(key=old)  # not reflashed yet
    dev.rate(1)
    assert dev.wait_ack()["result"] == "stored"
    # The same ack also goes out under the new key, for a device that was
    # reflashed while this rating waited in its outbox; this one cannot
    # verify it, and must not be able to.
    new = registry.keys_for(hall.store, "w01-a")[0]
    wait_for(lambda: len(dev.bad_acks) == 1)
    payload, _ = dev.bad_acks[0]
    assert messages.decode(payload, [new], "w01-a", messages.MAX_HOST_MESSAGE)[3:5] == [1, "stored"]


def test_uncommitted_rating_is_not_pubacked_and_comes_back_after_a_crash(tmp_path, mosquitto):
    """manual_ack: the broker only drops a rating once the collector PUBACKs it
    after the commit, so a collector that dies before that gets it again."""
    path = tmp_path / "hostd.db"
    store = Store(path)
    key = registry.add_device(store, "w01-a", "A01", HALL)
    first = Collector(store, "127.0.0.1", mosquitto.port, client_id="hostd-crash")
    assert first.start(10)
    gate = threading.Event()
    store.submit(lambda db: gate.wait(20))  # the writer is stuck: nothing commits
    dev = SigningDevice(mosquitto.port, HALL, "w01-a", key)
    dev.rate(1)
    wait_for(lambda: first.stats["received"] == 1)
    first.client.loop_stop()  # crash: no DISCONNECT, no PUBACK, ack never sent
    first.client.socket().close()
    gate.set()
    store.close()
    assert dev.no_ack(0.5)

    store = Store(path)
    second = Collector(store, "127.0.0.1", mosquitto.port, client_id="hostd-crash")
    try:
        assert second.start(10)
        ack = dev.wait_ack()  # the broker redelivered the un-PUBACKed rating
        assert (ack["seq"], ack["result"]) == (1, "duplicate")
        assert second.stats["received"] == 1
        assert db_rows(str(path)) == [("w01-a", 1, 5)]
    finally:
        dev.close()
        second.stop()
        store.close()


def test_mqtt_311_collector_for_brokers_without_v5(tmp_path, mosquitto):
    import paho.mqtt.client as mqtt

    with pytest.raises(ValueError, match="v5"):
        Collector(None, "127.0.0.1", mosquitto.port, shared_group="g", protocol=mqtt.MQTTv311)
    store = Store(tmp_path / "hostd.db")
    key = registry.add_device(store, "w01-a", "A01", HALL)
    collector = Collector(store, "127.0.0.1", mosquitto.port, client_id="hostd-311", protocol=mqtt.MQTTv311)
    dev = None
    try:
        assert collector.start(10)
        dev = SigningDevice(mosquitto.port, HALL, "w01-a", key)
        dev.rate(1, level=2, reasons=[1])
        assert dev.wait_ack()["result"] == "stored"
        assert db_rows(str(tmp_path / "hostd.db")) == [("w01-a", 1, 2)]
    finally:
        if dev:
            dev.close()
        collector.stop()
        store.close()


def test_host_mac_is_hmac_sha256():
    import hashlib
    import hmac
    import os

    from protocol import hmac_sha256
    from protocol.host.signing import HostMac

    mac = HostMac()
    for key in (bytes(32), os.urandom(32), os.urandom(64), os.urandom(100), b"k"):
        for message, tail in ((b"", b""), (b'[1,"R"', b"]"), (os.urandom(300), b"")):
            want = hmac.new(key, message + tail, hashlib.sha256).digest()
            assert mac(key, message, tail) == want == hmac_sha256.digest(key, message + tail)
            assert mac(key, message, tail) == want  # again, from the cached state
