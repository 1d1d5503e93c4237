"""Chaos: Mosquitto SIGKILLed again and again during a rating stream.

Devices (tests/chaos/fleet.py OutboxDevice, the firmware's outbox rule:
keep until the signed ack, resend the same bytes) stream ratings through a
real Mosquitto (no persistence: a kill loses every queued message and
subscription) to the real Collector and Store. Each kill lands when the
acked count passes a random point. After each kill every rating any device
holds an ack for must already be a row; the broker restarts on the same
port after a random pause. At the end, against the devices' logs: 0 lost,
0 duplicated, nothing altered, integrity_check ok.
"""

import random
import time

import pytest
from chaos.fleet import OutboxDevice, check_against_logs
from chaos.host import HALL, Host


def _diag(host, fleet):
    return (
        "collector connected %s stats %s counters %s; devices (connected, acked, pending,"
        " resends, connects): %s"
        % (
            host.collector.connected,
            host.collector.stats,
            host.collector.counters,
            [(d.client.is_connected(), len(d.acked()), d.pending(), d.resends, d.connects) for d in fleet],
        )
    )


def _run(tmp_path, mosquitto, devices, per_device, kills, seed, budget_s):
    rng = random.Random(seed)
    names = ["m%02d" % i for i in range(devices)]
    host = Host(tmp_path / "hostd.db", mosquitto.port, names)
    host.start()
    fleet = [
        OutboxDevice(mosquitto.port, HALL, n, host.keys[n], per_device, window=20, resend_s=1.0).start()
        for n in names
    ]
    total = devices * per_device
    marks = sorted(rng.uniform(0.05, 0.95) * total for _ in range(kills))
    started = time.monotonic()
    checks = []
    try:
        for mark in marks:
            deadline = time.monotonic() + budget_s
            while sum(d.acked_count() for d in fleet) < mark:
                assert time.monotonic() < deadline, "stream stalled: %s" % _diag(host, fleet)
                time.sleep(0.005)
            mosquitto.stop()  # SIGKILL
            acked = sum(d.acked_count() for d in fleet)
            state = check_against_logs(host.db_path, fleet)
            assert state["lost"] == [], "acked but not stored: %s" % state["lost"][:10]
            checks.append(acked)
            time.sleep(rng.uniform(0, 0.5))
            mosquitto.start()
        for d in fleet:
            assert d.done.wait(budget_s), "stream stalled: %s" % _diag(host, fleet)
        elapsed = time.monotonic() - started
    finally:
        for d in fleet:
            d.close()
        host.close()
    state = check_against_logs(host.db_path, fleet)
    assert state["lost"] == [] and state["missing"] == [] and state["altered"] == []
    assert state["duplicated"] == 0 and state["rows"] == total
    assert state["integrity"] == "ok"
    assert all(d.bad_acks == 0 for d in fleet)
    resends = sum(d.resends for d in fleet)
    print(
        "mosquitto kills: %d devices x %d ratings, %d kills at acked %s, %d resends, "
        "%d reconnects, 0 lost, 0 duplicated, %.1f s"
        % (devices, per_device, kills, checks, resends, sum(d.connects for d in fleet) - devices, elapsed)
    )


def test_mosquitto_killed_three_times(tmp_path, mosquitto):
    _run(tmp_path, mosquitto, devices=10, per_device=200, kills=3, seed=81, budget_s=60)


@pytest.mark.slow
def test_mosquitto_killed_ten_times_in_twenty_thousand(tmp_path, mosquitto):
    _run(tmp_path, mosquitto, devices=20, per_device=1000, kills=10, seed=810, budget_s=300)
