"""Chaos: one device floods the host; the others must not notice much.

The broker is hostd's own Mosquitto with the files hostd writes
(hostd/broker/files.py: logins, ACL, max_packet_size, max_queued_messages), run by
hostd/broker/mosquitto.py Supervisor; the collector gets hostd's flood guard
(hostd/broker/quarantine.py flood_guard: a device refused ratelimit.FLOOD_REFUSALS times within
FLOOD_WINDOW_S loses its publish rights in the ACL for a while). The
flooding device (its real key, valid signed ratings) sends 10,000 QoS1
messages/s from its own process (tests/chaos/flood.py), plus 1 MB payloads
(the broker closes its connection: max_packet_size) and 5 KB ones (the
collector refuses them as oversized). Ten normal devices rate at 10/s each,
five without the flood (normal latency), five during it. Checked: the flood
device's stored ratings stay within its per-device budget
(hostd/ingest/ratelimit.py RATE_PER_S, BURST), its rejections are counted by
reason, it was quarantined at the broker, the normal devices' median
press-to-ack latency from 1 s after the cut-off stays under twice normal
(asserted in the slow run; the short run in `make test` prints it, as the
whole flood's figures), and their ratings all arrive once
(0 lost, 0 duplicated).
"""

import json
import subprocess
import sys
import time

import pytest
from chaos.fleet import OutboxDevice, check_against_logs, percentile
from hostd_support import make_home

from conftest import ROOT, mosquitto_binary
from hostd.broker import files as broker_files
from hostd.broker import mosquitto, quarantine
from hostd.db.store import Store
from hostd.devices import registry
from hostd.ingest.collector import Collector
from hostd.ingest.ratelimit import BURST as DEVICE_BURST
from hostd.ingest.ratelimit import RATE_LIMITED
from hostd.ingest.ratelimit import RATE_PER_S as DEVICE_RATE_PER_S
from protocol.credentials import mqtt_password

HALL = "h1"


class OwnBroker:
    """hostd's own Mosquitto and a collector on it, as `hostd run` sets them up."""

    def __init__(self, path, devices, quarantine_s):
        self.home = make_home(path, hall=HALL)
        self.db_path = str(self.home.db_path)
        self.store = Store(self.db_path)
        self.keys = {
            d: registry.add_device(self.store, d, "A%02d" % i, HALL) for i, d in enumerate(devices, 1)
        }
        with self.store.read() as db:
            broker_files.sync_files(self.home, db)
        self.sup = mosquitto.Supervisor(self.home, self.home.config(), mosquitto_binary()).start()
        self.port = self.sup.port
        self.flooded = []
        guard = quarantine.flood_guard(self.home, self.store, quarantine_s)
        self.collector = Collector(
            self.store,
            "127.0.0.1",
            self.sup.host_port,
            username="hostd",
            password=self.home.host_password(),
            client_id="hostd-" + HALL,
            on_flood=lambda d: (self.flooded.append((d, time.monotonic())), guard(d)),
        )
        assert self.collector.start(10)

    def close(self):
        self.collector.stop()
        self.store.close()
        self.sup.stop()


def _phase(host, port, names, tag, rate, seconds):
    """Devices rating at `rate` for `seconds`; (devices, latencies in ms)."""
    fleet = [
        OutboxDevice(
            port,
            HALL,
            n,
            host.keys[n],
            int(rate * seconds),
            window=20,
            resend_s=5.0,
            rate=rate,
            keepalive=30,
            password=mqtt_password(host.keys[n]),
        ).start()
        for n in names
    ]
    try:
        for d in fleet:
            assert d.done.wait(seconds + 60), "%s %s: %d of %d acked" % (
                tag,
                d.device,
                len(d.acked()),
                d.total,
            )
    finally:
        for d in fleet:
            d.close()
    return fleet, [x for d in fleet for x in d.latencies_ms()]


def _run(tmp_path, flood_rate, seconds, latency_target=True):
    names = ["n%02d" % i for i in range(10)]
    host = OwnBroker(tmp_path / "home", names + ["flood"], quarantine_s=seconds * 2)
    port = host.port
    try:
        quiet, normal = _phase(host, port, names[:5], "quiet", 10, seconds)
        flood_t0 = time.monotonic()
        flooder = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "tests" / "chaos" / "flood.py"),
                str(port),
                HALL,
                "flood",
                host.keys["flood"].hex(),
                str(flood_rate),
                str(seconds + 3),
                "5000",
                str(1 << 20),
                "5000",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        # the normal devices rate through the whole flood, its first seconds too
        loud, flooded = _phase(host, port, names[5:], "flooded", 10, seconds)
        assert [d for d, _ in host.flooded] == ["flood"], host.collector.counters
        cut = host.flooded[0][1]
        after = [
            (d.ack_at[s] - d.first_sent[s]) * 1000
            for d in loud
            for s in d.ack_at
            if d.first_sent[s] > cut + 1.0
        ]
        out, _ = flooder.communicate(timeout=60)
        counts = json.loads(out.strip().splitlines()[-1])
        time.sleep(0.5)
        rejected = host.collector.counters
        window_s = time.monotonic() - flood_t0  # the bucket refilled over this time at most
        acl = (host.home.broker / "acl").read_text()
    finally:
        host.close()
    state = check_against_logs(host.db_path, quiet + loud)
    assert state["lost"] == [] and state["missing"] == [] and state["duplicated"] == 0
    assert state["integrity"] == "ok"
    import sqlite3

    conn = sqlite3.connect(host.db_path)
    flood_rows = conn.execute("SELECT COUNT(*) FROM ratings WHERE device_id = 'flood'").fetchone()[0]
    conn.close()
    budget = DEVICE_BURST + DEVICE_RATE_PER_S * window_s
    assert counts["sent"] >= flood_rate * seconds * 0.8, counts  # it really flooded
    assert flood_rows <= budget, (flood_rows, budget)
    # What reached the collector was refused and counted; the rest the broker
    # dropped (connections closed on 1 MB packets, its queue limit for us).
    assert rejected.get(RATE_LIMITED, 0) > 0, rejected
    assert flood_rows + rejected.get(RATE_LIMITED, 0) <= counts["sent"] + counts["mid"]
    assert counts["reconnects"] > 0, counts  # 1 MB packets: the broker closed the connection
    assert "quarantined for flooding" in acl
    p50, p50f = percentile(normal, 50), percentile(flooded, 50)
    p99, p99f = percentile(normal, 99), percentile(flooded, 99)
    p50a, p99a = percentile(after, 50), percentile(after, 99)
    print(
        "flood: %s from one device (%.0f msg/s); %d of its ratings stored (budget %d), "
        "%d dropped by the broker,"
        " rejected %s; others' ack latency ms: normal p50 %.1f p99 %.1f, flooded p50 %.1f"
        " p99 %.1f (the whole flood); from 1 s after the cut-off at the broker (%.1f s after"
        " it began): p50 %.1f p99 %.1f"
        % (
            counts,
            counts["sent"] / counts["seconds"],
            flood_rows,
            budget,
            counts["sent"] + counts["mid"] - flood_rows - sum(rejected.values()),
            rejected,
            p50,
            p99,
            p50f,
            p99f,
            cut - flood_t0,
            p50a,
            p99a,
        )
    )
    if latency_target:  # a timing target: asserted in `make chaos`, on a quiet machine
        assert p50a < 2 * p50, (p50, p50a)


def test_device_limits():
    from hostd.ingest import ratelimit

    flooded = []
    limits = ratelimit.DeviceLimits(rate=10, burst=5, on_flood=flooded.append)
    assert [limits.admit("a", now=100.0) for _ in range(6)] == [True] * 5 + [False]
    assert limits.admit("b", now=100.0)  # each device has its own bucket
    assert [limits.admit("a", now=100.25) for _ in range(3)] == [True, True, False]  # 10/s
    for _ in range(ratelimit.FLOOD_REFUSALS):
        limits.admit("a", now=100.3)
    time.sleep(0.2)  # on_flood runs on a thread of its own
    assert flooded == ["a"]
    assert not limits.admit("a", now=100.3 + ratelimit.FLOOD_HOLD_S - 1)  # held
    assert limits.admit("a", now=100.3 + ratelimit.FLOOD_HOLD_S + 1)  # let back


def test_flood_ten_thousand_per_second(tmp_path):
    _run(tmp_path, flood_rate=10000, seconds=8, latency_target=False)


@pytest.mark.slow
def test_flood_for_a_minute(tmp_path):
    _run(tmp_path, flood_rate=10000, seconds=60)
