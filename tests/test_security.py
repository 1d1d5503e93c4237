"""Security checks (issue 8, deliver 4).

1. Tampering: every byte of signed ratings flipped in turn, plus wrong-key and
   truncated-signature variants: protocol.messages.decode refuses 100% of
   them, and a sample sent through the running collector stores none.
2. Replays: ratings captured on the wire and sent again after a restart of
   the store and collector, and again with the host clock moved 30 days, are
   never stored a second time (the host answers "duplicate", the row keeps
   its first received_at); the same bytes on another device's topic are refused.
3. Client ids (`#`, `+`, empty, 64 KB) and a client-id takeover against the
   broker config hostd writes: tests/test_chaos_clientid.py.
"""

import os
import time

import pytest
from chaos.mutate import flips, rating, seeded, truncations, wrong_key
from hostd_helpers import SigningDevice, sql_rows, wait_for

from hostd.base import clock
from hostd.db.store import Store
from hostd.devices import registry
from hostd.ingest.collector import Collector
from protocol import messages, topics
from protocol.errors import ProtocolError
from protocol.host.signing import HostMac

HALL = "sec"
DEVICE = "d-sec"


def _tampered_rejected(count, seed):
    """Decode every tampered variant of `count` signed ratings; return totals."""
    rng = seeded(seed)
    key = os.urandom(32)
    mac = HostMac()
    variants = accepted = 0
    for seq in range(1, count + 1):
        fields = rating(DEVICE, seq)
        wire = messages.sign(key, fields, mac)
        assert messages.decode(wire, [key], DEVICE, mac=mac) == fields  # the original passes
        tampered = [w for _, w in flips(wire, rng)] + list(truncations(wire))
        tampered.append(wrong_key(fields, mac))
        for bad in tampered:
            variants += 1
            try:
                messages.decode(bad, [key], DEVICE, mac=mac)
            except ProtocolError:
                continue
            accepted += 1
    return variants, accepted


def test_every_flipped_byte_is_rejected_by_decode():
    variants, accepted = _tampered_rejected(300, seed=8)
    assert variants > 300 * 150
    assert accepted == 0, "%d of %d tampered messages accepted" % (accepted, variants)
    print("tampered: %d variants of 300 ratings, %d accepted" % (variants, accepted))


@pytest.mark.slow
def test_ten_thousand_messages_every_byte_flipped():
    started = time.monotonic()
    variants, accepted = _tampered_rejected(10000, seed=88)
    assert accepted == 0, "%d of %d tampered messages accepted" % (accepted, variants)
    print(
        "tampered: %d variants of 10000 ratings, %d accepted, %.0f s"
        % (variants, accepted, time.monotonic() - started)
    )


@pytest.fixture
def hall(tmp_path, mosquitto):
    path = tmp_path / "hostd.db"
    state = {"store": Store(path)}
    key = registry.add_device(state["store"], DEVICE, "A01", HALL)
    other_key = registry.add_device(state["store"], "d-other", "A02", HALL)

    def start():
        # No per-device rate limit here: these tests send hundreds of tampered
        # messages at once, and must see each one refused for what it is
        # (test_chaos_flood covers the limit).
        state["collector"] = Collector(state["store"], "127.0.0.1", mosquitto.port, device_rate=None)
        assert state["collector"].start(10)
        return state["collector"]

    def restart():
        state["collector"].stop()
        state["store"].close()
        state["store"] = Store(path)
        return start()

    start()
    yield type(
        "Hall",
        (),
        dict(
            state=state,
            key=key,
            other_key=other_key,
            path=str(path),
            port=mosquitto.port,
            restart=staticmethod(restart),
        ),
    )
    state["collector"].stop()
    state["store"].close()


def _barrier(dev, seq):
    """Send a fresh valid rating and wait for its ack: the collector handles
    one connection's messages in order, so everything before it is done."""
    dev.rate(seq)
    ack = dev.wait_ack()
    assert ack["seq"] == seq and ack["result"] == "stored"


def test_tampered_sample_through_the_collector(hall):
    dev = SigningDevice(hall.port, HALL, DEVICE, hall.key)
    rng = seeded(9)
    mac = HostMac()
    sent = 0
    try:
        for seq in range(1, 6):
            fields = rating(DEVICE, seq)
            wire = messages.sign(hall.key, fields, mac)
            variants = [w for i, w in flips(wire, rng) if i % 3 == seq % 3]
            variants += list(truncations(wire))[::16] + [wrong_key(fields, mac)]
            for bad in variants:
                dev.client.publish(dev.topic(topics.RATING), bad, qos=1)
                sent += 1
        _barrier(dev, 1000)
        assert dev.no_ack(0.3)  # no tampered message got an ack
        assert sql_rows(hall.path, "SELECT seq FROM ratings") == [(1000,)]
        stats = hall.state["collector"].stats
        assert stats["rejected"] == sent, (stats, sent)
        assert sum(hall.state["collector"].counters.values()) >= sent
    finally:
        dev.close()


def test_replays_after_restart_and_thirty_days_are_not_stored(hall, tmp_path, monkeypatch):
    dev = SigningDevice(hall.port, HALL, DEVICE, hall.key)
    try:
        wires = [dev.rate(seq, level=1 + seq % 5) for seq in range(1, 51)]
        acks = [dev.wait_ack() for _ in wires]
        assert sorted(a["seq"] for a in acks) == list(range(1, 51))
        first = sql_rows(hall.path, "SELECT device_id, seq, level, received_at FROM ratings")
        assert len(first) == 50

        def replay_all(label):
            for wire in wires:
                dev.publish(wire)
            results = [dev.wait_ack()["result"] for _ in wires]
            assert results == ["duplicate"] * 50, (label, results)
            # the bytes are pinned to the device by topic and signature
            for wire in wires[:10]:
                dev.publish(wire, device="d-other")
            assert sql_rows(hall.path, "SELECT device_id, seq, level, received_at FROM ratings") == first, (
                label
            )

        hall.restart()
        replay_all("after restart")
        clock_file = tmp_path / "clock"
        clock.set_offset(clock_file, 30 * 86400)
        monkeypatch.setenv(clock.ENV, str(clock_file))
        assert clock.now() > time.time() + 29 * 86400
        hall.restart()
        replay_all("after restart, clock +30 days")
        collector = hall.state["collector"]
        wait_for(lambda: collector.stats["rejected"] >= 10, 5)
        assert collector.stats["stored"] == 0
        assert dev.bad_acks == []
    finally:
        dev.close()
