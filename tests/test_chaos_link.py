"""Chaos: a lossy link between the devices and the broker.

Every device reaches Mosquitto through tests/chaos/proxy.py LossyProxy:
0-20 ms delay on every chunk, connection resets, silent black holes that
end in a reset 3 s later, and 10% of new connections refused. The devices
(OutboxDevice, 5 s keepalive, resend after 2 s) stream at a fixed rate for
the whole run; the collector sits on the broker's side of the link. Checked
against the devices' own logs: 0 lost, 0 duplicated, nothing altered, and
the press-to-ack latency (first send to first verified ack) is reported.
"""

import time

import pytest
from chaos.fleet import OutboxDevice, check_against_logs, percentile
from chaos.host import HALL, Host
from chaos.proxy import LossyProxy


def _run(tmp_path, mosquitto, devices, rate, seconds, seed):
    names = ["l%02d" % i for i in range(devices)]
    host = Host(tmp_path / "hostd.db", mosquitto.port, names)
    host.start()
    proxy = LossyProxy(mosquitto.port, seed=seed).start()
    per_device = int(rate * seconds)
    fleet = [
        OutboxDevice(
            proxy.port, HALL, n, host.keys[n], per_device, window=20, resend_s=2.0, rate=rate
        ).start()
        for n in names
    ]
    started = time.monotonic()
    try:
        for d in fleet:
            assert d.done.wait(seconds * 2 + 60), "%s: %d of %d acked, %d resends" % (
                d.device,
                len(d.acked()),
                d.total,
                d.resends,
            )
        elapsed = time.monotonic() - started
    finally:
        for d in fleet:
            d.close()
        proxy.stop()
        host.close()
    state = check_against_logs(host.db_path, fleet)
    total = devices * per_device
    assert state["lost"] == [] and state["missing"] == [] and state["altered"] == []
    assert state["duplicated"] == 0 and state["rows"] == total
    assert state["integrity"] == "ok"
    assert all(d.bad_acks == 0 for d in fleet)
    counts = proxy.counts
    assert counts["resets"] + counts["stalls"] > 0 and counts["refused"] > 0, counts
    latencies = [x for d in fleet for x in d.latencies_ms()]
    resends = sum(d.resends for d in fleet)
    print(
        "lossy link: %d devices x %d ratings at %d/s each for %.0f s; proxy %s; %d resends,"
        " %d reconnects; 0 lost, 0 duplicated; latency ms p50 %.1f p99 %.1f max %.1f"
        % (
            devices,
            per_device,
            rate,
            elapsed,
            counts,
            resends,
            sum(d.connects for d in fleet) - devices,
            percentile(latencies, 50),
            percentile(latencies, 99),
            max(latencies),
        )
    )


def test_lossy_link_thirty_seconds(tmp_path, mosquitto):
    _run(tmp_path, mosquitto, devices=10, rate=10, seconds=30, seed=82)


@pytest.mark.slow
def test_lossy_link_ten_minutes(tmp_path, mosquitto):
    _run(tmp_path, mosquitto, devices=20, rate=10, seconds=600, seed=820)
