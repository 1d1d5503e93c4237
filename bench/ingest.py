"""Ingest benchmark: ratings verified + committed + acked per second by hostd,
against raw paho-mqtt QoS1 round trips through the same Mosquitto, same run.

Both paths have the same shape, so their ratio is hostd's own cost:
  - `devices` paho clients (MQTT 3.1.1, like the firmware) in `processes`
    worker processes; each keeps up to `window` QoS1 publishes in flight and
    counts a message done when its reply arrives on .../<device>/ack and
    verifies (messages.decode with the device key). The signed ratings are
    made before the clock starts; a device signs at press time, not here.
  - ingest: the reply is the collector's ack, sent after the COMMIT
    (store: WAL, synchronous=FULL, group commit);
  - raw baseline: one plain paho subscriber (MQTT v5, the same Receive
    Maximum as the collector, auto-ack) answers each message at once with a
    pre-signed ack of the same size on the same topic. It runs on paho as
    shipped: the Collector's paho speedup (hostd/ingest/paho_speedups.py, shared
    Properties tables) is switched off for the raw rounds.
messages/s = messages / (start signal -> last reply received). Rounds
alternate raw and ingest; each figure is the median of its rounds.
`paho_oneway_per_s` is the old definition, for the record: publishers count
the broker's PUBACK, one subscriber counts deliveries.
`ingest_cpu_us_per_rating` / `baseline_cpu_us_per_message`: CPU time of this
process (hostd's collector and writer, or the echo host) per message; on a
shared 2-core machine the rates swing with other load, this much less.

Usage: python -m bench.ingest [devices] [per_device] [window] [rounds]
"""

import json
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt import _packet
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from bench.common import figure, start_mosquitto, stop
from hostd.db.store import Store
from hostd.devices import registry
from hostd.ingest import paho_speedups
from hostd.ingest.collector import Collector, no_delay
from protocol import messages, topics
from protocol.host.signing import HostMac

HALL = "bench"
RECEIVE_MAXIMUM = 1024  # as hostd.ingest.collector.Collector's default


def rating(device, seq):
    return [
        messages.VERSION,
        messages.RATING,
        device,
        seq,
        "s-%d" % seq,
        1 + seq % 5,
        [],
        1,
        "0042",
        1795248000 + seq,
        True,
    ]


def signed_ratings(device, key, count, first=1):
    mac = HostMac()
    return [messages.sign(key, rating(device, seq), mac) for seq in range(first, first + count)]


class _Publisher:
    """One device: keeps `window` messages in flight until all are done."""

    def __init__(self, port, device, key, payloads, window, mode, finished):
        self.device, self.key, self.payloads, self.window = device, key, payloads, window
        self.mode, self.finished = mode, finished
        self.mac = HostMac()
        self.sent = 0
        self.done = 0
        self.bad = 0
        self.lock = threading.Lock()
        self.topic = topics.topic(HALL, device, topics.RATING)
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="bench-%s-%s-%d" % (mode, device, os.getpid())
        )
        self.client.max_inflight_messages_set(window)
        self.ready = threading.Event()
        if mode == "oneway":
            self.client.on_publish = lambda *a: self._finish_one()
            self.client.on_connect = lambda *a: self.ready.set()
        else:
            self.client.on_connect = lambda c, *a: c.subscribe(topics.topic(HALL, device, topics.ACK), qos=1)
            self.client.on_subscribe = lambda *a: self.ready.set()
            self.client.on_message = self._on_reply
        self.client.connect("127.0.0.1", port, keepalive=60)
        self.client.loop_start()

    def fill(self):
        while True:
            with self.lock:
                if self.sent >= len(self.payloads) or self.sent - self.done >= self.window:
                    return
                payload = self.payloads[self.sent]
                self.sent += 1
            self.client.publish(self.topic, payload, qos=1)

    def _finish_one(self):
        with self.lock:
            self.done += 1
            complete = self.done == len(self.payloads)
        if complete:
            self.finished.set()
        else:
            self.fill()

    def _on_reply(self, client, userdata, msg):
        try:
            fields = messages.decode(
                msg.payload, [self.key], self.device, messages.MAX_HOST_MESSAGE, mac=self.mac
            )
        except Exception:  # a bad reply is counted, and the message stays in flight
            fields = None
        if fields is None or fields[4] != messages.STORED:
            self.bad += 1
            return
        self._finish_one()


def _worker(port, devices, per_device, first_seq, window, mode, start, results):
    finished, pubs = [], []
    for device, key in devices:
        event = threading.Event()
        finished.append(event)
        payloads = signed_ratings(device, key, per_device, first_seq)
        pubs.append(_Publisher(port, device, key, payloads, window, mode, event))
    for p in pubs:
        p.ready.wait(10)
    results.put(("ready", None))
    start.wait()
    for p in pubs:
        p.fill()
    complete = all(event.wait(300) for event in finished)
    results.put(("done", (time.time(), complete, sum(p.bad for p in pubs))))
    for p in pubs:
        p.client.disconnect()
        p.client.loop_stop()


def run_publishers(port, devices, per_device, window, processes, mode, first_seq=1):
    """Start the workers, wait until all are connected, go; return (t0, t_end, bad)."""
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    groups = [g for g in (devices[i::processes] for i in range(processes)) if g]
    procs = [
        ctx.Process(
            target=_worker, daemon=True, args=(port, g, per_device, first_seq, window, mode, start, results)
        )
        for g in groups
    ]
    for p in procs:
        p.start()
    try:
        for _ in procs:
            kind, _value = results.get(timeout=120)
        t0 = time.time()
        start.set()
        ends = [results.get(timeout=600)[1] for _ in procs]
    finally:
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.kill()
    if not all(complete for _, complete, _ in ends):
        raise RuntimeError("%s run: not every message got its reply within 300 s" % mode)
    return t0, max(end for end, _, _ in ends), sum(bad for _, _, bad in ends)


class EchoHost:
    """The raw baseline's host: a paho subscriber that answers every rating
    at once with a pre-signed ack of the collector's size."""

    def __init__(self, port, fleet):
        self.replies = {}
        for device, key in fleet:
            ack = messages.sign(
                key, [messages.VERSION, messages.ACK, device, 1, messages.STORED, int(time.time())], HostMac()
            )
            self.replies[device] = (topics.topic(HALL, device, topics.ACK), ack)
        self.received = 0
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-echo", protocol=mqtt.MQTTv5)
        self.ready = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *a: self.ready.set()
        self.client.on_message = self._on_message
        props = Properties(PacketTypes.CONNECT)
        props.ReceiveMaximum = RECEIVE_MAXIMUM
        self.client.connect("127.0.0.1", port, properties=props)
        self.client.loop_start()
        if not self.ready.wait(10):
            raise RuntimeError("echo subscriber could not subscribe")

    def _on_connect(self, client, *args):
        no_delay(client)  # as the Collector does
        client.subscribe(topics.subscription(topics.RATING, HALL), qos=1)

    def _on_message(self, client, userdata, msg):
        self.received += 1
        device = msg.topic.split("/")[3]
        topic, ack = self.replies[device]
        client.publish(topic, ack, qos=1)

    def stop(self):
        self.client.disconnect()
        self.client.loop_stop()


class OnewayCounter:
    """The one-way definition's subscriber: counts deliveries."""

    def __init__(self, port, total):
        self.total, self.got, self.last = total, 0, None
        self.all_in = threading.Event()
        self.ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-oneway-sub")
        self.client.on_connect = lambda c, *a: c.subscribe(topics.subscription(topics.RATING, HALL), qos=1)
        self.client.on_subscribe = lambda *a: self.ready.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.ready.wait(10)

    def _on_message(self, client, userdata, msg):
        self.got += 1
        if self.got == self.total:
            self.last = time.time()
            self.all_in.set()

    def stop(self):
        self.client.disconnect()
        self.client.loop_stop()


def _ingest_round(store, port, fleet, per_device, window, processes, first_seq):
    # A clean session: the raw rounds' messages must not be queued for it.
    collector = Collector(store, "127.0.0.1", port)
    if not collector.start(10):
        raise RuntimeError("collector could not subscribe")
    try:
        commits0, ops0 = store.commits, store.ops
        cpu0 = _cpu()
        t0, t1, bad = run_publishers(port, fleet, per_device, window, processes, "ingest", first_seq)
        cpu = _cpu() - cpu0
        stats = collector.stats
    finally:
        collector.stop()
    count = len(fleet) * per_device
    return {
        "per_s": count / (t1 - t0),
        "seconds": t1 - t0,
        "bad": bad,
        "acked": stats["acked"],
        "rejected": stats["rejected"],
        "commits": store.commits - commits0,
        "ops": store.ops - ops0,
        "cpu_us": cpu / count * 1e6,
    }


def _raw_round(port, fleet, per_device, window, processes):
    paho_speedups.uninstall()  # the baseline is paho as shipped; a Collector installs them
    echo = EchoHost(port, fleet)
    try:
        cpu0 = _cpu()
        t0, t1, bad = run_publishers(port, fleet, per_device, window, processes, "raw")
        cpu = _cpu() - cpu0
    finally:
        echo.stop()
    count = len(fleet) * per_device
    return {
        "per_s": count / (t1 - t0),
        "received": echo.received,
        "bad": bad,
        "cpu_us": cpu / count * 1e6,
        "stock_paho": _packet.Properties is Properties,
    }


def _cpu():
    """CPU seconds of this process (collector or echo host, and the store's
    writer; the publishers run in worker processes). time.process_time()
    counts in nanoseconds; os.times() counted in 10 ms clock ticks, so a
    short round on a loaded machine could read 0."""
    return time.process_time()


def _oneway_round(port, fleet, per_device, window, processes):
    counter = OnewayCounter(port, len(fleet) * per_device)
    try:
        t0, _, _ = run_publishers(port, fleet, per_device, window, processes, "oneway")
        counter.all_in.wait(120)
    finally:
        counter.stop()
    return len(fleet) * per_device / (counter.last - t0) if counter.last else None


def run(devices=20, per_device=500, window=10, processes=2, rounds=3):
    """Measure both paths in alternating rounds; return a dict of numbers."""
    workdir = tempfile.mkdtemp(prefix="hostd-bench-")
    broker, port = start_mosquitto(workdir)
    store = Store(os.path.join(workdir, "hostd.db"))
    try:
        fleet = [("b%03d" % i, registry.add_device(store, "b%03d" % i, "A1", HALL)) for i in range(devices)]
        ingest, raw = [], []
        for r in range(rounds):
            raw.append(_raw_round(port, fleet, per_device, window, processes))
            ingest.append(
                _ingest_round(store, port, fleet, per_device, window, processes, 1 + r * per_device)
            )
        oneway = _oneway_round(port, fleet, per_device, window, processes)
        with store.read() as db:
            rows = db.execute("SELECT COUNT(*) FROM ratings").fetchone()[0]
        ingest_rate = statistics.median(x["per_s"] for x in ingest)
        raw_rate = statistics.median(x["per_s"] for x in raw)
        commits = sum(x["commits"] for x in ingest)
        return {
            "devices": devices,
            "per_device": per_device,
            "window": window,
            "rounds": rounds,
            "message_bytes": len(signed_ratings(fleet[0][0], fleet[0][1], 1)[0]),
            "ingest_per_s": round(ingest_rate, 1),
            "paho_baseline_per_s": round(raw_rate, 1),
            "ingest_ratio": round(ingest_rate / raw_rate, 3),
            "ingest_rounds_per_s": [round(x["per_s"], 1) for x in ingest],
            "baseline_rounds_per_s": [round(x["per_s"], 1) for x in raw],
            "paho_oneway_per_s": round(oneway, 1) if oneway else None,
            # CPU per message on the host side: steadier than rates on a busy machine
            "ingest_cpu_us_per_rating": round(statistics.median(x["cpu_us"] for x in ingest), 1),
            "baseline_cpu_us_per_message": round(statistics.median(x["cpu_us"] for x in raw), 1),
            "rows": rows,
            "expected_rows": devices * per_device * rounds,
            "acked": sum(x["acked"] for x in ingest),
            "rejected": sum(x["rejected"] for x in ingest),
            "bad_replies": sum(x["bad"] for x in ingest + raw),
            "baseline_on_stock_paho": all(x["stock_paho"] for x in raw),
            "commits": commits,
            "ops_per_commit": round(sum(x["ops"] for x in ingest) / max(commits, 1), 1),
            "largest_batch": store.largest_batch,
        }
    finally:
        store.close()
        stop(broker)
        shutil.rmtree(workdir, ignore_errors=True)


def figures(result):
    shape = "%d devices x %d ratings, %d in flight each, median of %d rounds" % (
        result["devices"],
        result["per_device"],
        result["window"],
        result["rounds"],
    )
    return {
        "ingest_per_s": figure(
            result["ingest_per_s"],
            "ratings/s",
            "signed ratings published QoS1 through Mosquitto, verified, committed to SQLite "
            "(WAL, synchronous=FULL) and acked by hostd's Collector; counted when the signed ack "
            "arrives and verifies (%s)" % shape,
            baseline="paho_baseline_per_s",
            target=">= 0.6 x baseline",
        ),
        "paho_baseline_per_s": figure(
            result["paho_baseline_per_s"],
            "messages/s",
            "the same publishers and payloads, same broker, same run; a raw paho subscriber "
            "(MQTT v5, auto-ack) replies to each message at once with a pre-signed ack (%s)" % shape,
        ),
        "ingest_ratio": figure(
            result["ingest_ratio"], "x", "ingest_per_s / paho_baseline_per_s", target=">= 0.6"
        ),
        "ingest_cpu_us_per_rating": figure(
            result["ingest_cpu_us_per_rating"],
            "us",
            "CPU time (user + system) of hostd's process per rating in the ingest rounds: "
            "collector and store writer threads; less sensitive to other load than the rates",
            baseline="baseline_cpu_us_per_message",
        ),
        "baseline_cpu_us_per_message": figure(
            result["baseline_cpu_us_per_message"],
            "us",
            "the same for the raw baseline's echo host (paho only: receive, reply, PUBACK)",
        ),
        "paho_oneway_per_s": figure(
            result["paho_oneway_per_s"],
            "messages/s",
            "for the record: the same publishers counting the broker's PUBACK, one plain "
            "subscriber counting deliveries (no reply)",
        ),
    }


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:5]]
    print(json.dumps(run(*args), indent=2))
