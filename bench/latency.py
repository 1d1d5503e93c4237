"""Press-to-ack latency at a steady rating rate, against the raw paho round trip.

`devices` CPython devices (paho, MQTT 3.1.1, like the firmware) in
`processes` worker processes press at `rate` ratings/s in all, spread evenly
over the devices. A press signs the rating (protocol.messages.sign, as the
device does) and publishes it QoS1; the latency is from the press to the
moment the device has a verified ack for it (messages.decode with its key).
  - ingest: hostd's Collector verifies, commits (WAL, synchronous=FULL) and
    acks;
  - raw baseline: the bench's echo subscriber (bench/ingest.py EchoHost)
    answers at once with a pre-signed ack: the broker round trip alone.
Both use the same devices, rate and broker, in the same run.

Usage: python -m bench.latency [devices] [rate] [seconds]
"""

import collections
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.common import figure, percentile, start_mosquitto, stop
from bench.ingest import HALL, EchoHost, rating
from hostd.db.store import Store
from hostd.devices import registry
from hostd.ingest.collector import Collector
from protocol import messages, topics


class _Device:
    def __init__(self, port, device, key, mode, first_seq):
        self.device, self.key, self.mode = device, key, mode
        self.seq = first_seq
        self.sent = {}  # seq -> press time (ingest: acks name their seq)
        self.fifo = collections.deque()  # press times (raw: replies come in order)
        self.latencies = []
        self.bad = 0
        self.lock = threading.Lock()
        self.topic = topics.topic(HALL, device, topics.RATING)
        self.ready = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="lat-%s-%s-%d" % (mode, device, os.getpid())
        )
        self.client.on_connect = lambda c, *a: c.subscribe(topics.topic(HALL, device, topics.ACK), 1)
        self.client.on_subscribe = lambda *a: self.ready.set()
        self.client.on_message = self._on_ack
        self.client.connect("127.0.0.1", port, keepalive=60)
        self.client.loop_start()

    def press(self):
        t = time.perf_counter()
        with self.lock:
            seq = self.seq
            self.seq += 1
        wire = messages.sign(self.key, rating(self.device, seq))
        with self.lock:
            self.sent[seq] = t
            self.fifo.append(t)
        self.client.publish(self.topic, wire, qos=1)

    def _on_ack(self, client, userdata, msg):
        now = time.perf_counter()
        try:
            fields = messages.decode(msg.payload, [self.key], self.device, messages.MAX_HOST_MESSAGE)
        except Exception:
            fields = None
        if fields is None or fields[4] != messages.STORED:
            self.bad += 1
            return
        with self.lock:
            if self.mode == "raw":
                t = self.fifo.popleft() if self.fifo else None
            else:
                t = self.sent.pop(fields[3], None)
        if t is not None:
            self.latencies.append((now - t) * 1000.0)


def _worker(port, devices, rate, seconds, mode, first_seq, start, results):
    fleet = [_Device(port, d, k, mode, first_seq) for d, k in devices]
    for dev in fleet:
        dev.ready.wait(10)
    results.put(("ready", None))
    start.wait()
    interval = 1.0 / rate
    t0 = time.perf_counter()
    n = 0
    while True:
        due = t0 + n * interval
        if due - t0 >= seconds:
            break
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        fleet[n % len(fleet)].press()
        n += 1
    deadline = time.perf_counter() + 10
    while time.perf_counter() < deadline and sum(len(d.latencies) for d in fleet) < n:
        time.sleep(0.05)
    lat = [x for d in fleet for x in d.latencies]
    results.put(("done", (n, lat, sum(d.bad for d in fleet))))
    for dev in fleet:
        dev.client.disconnect()
        dev.client.loop_stop()


def _run_devices(port, fleet, rate, seconds, processes, mode, first_seq):
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    groups = [g for g in (fleet[i::processes] for i in range(processes)) if g]
    procs = [
        ctx.Process(
            target=_worker,
            daemon=True,
            args=(port, g, rate * len(g) / len(fleet), seconds, mode, first_seq, start, results),
        )
        for g in groups
    ]
    for p in procs:
        p.start()
    try:
        for _ in procs:
            results.get(timeout=120)
        start.set()
        done = [results.get(timeout=seconds + 120)[1] for _ in procs]
    finally:
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.kill()
    sent = sum(n for n, _, _ in done)
    lat = [x for _, values, _ in done for x in values]
    return sent, lat, sum(bad for _, _, bad in done)


def _summary(sent, lat, bad):
    return {
        "sent": sent,
        "acked": len(lat),
        "bad": bad,
        "p50_ms": round(percentile(lat, 50), 2) if lat else None,
        "p99_ms": round(percentile(lat, 99), 2) if lat else None,
        "max_ms": round(max(lat), 2) if lat else None,
    }


def run(devices=100, rate=200.0, seconds=10.0, processes=2):
    workdir = tempfile.mkdtemp(prefix="hostd-latency-")
    broker, port = start_mosquitto(workdir)
    store = Store(os.path.join(workdir, "hostd.db"))
    try:
        fleet = [("l%03d" % i, registry.add_device(store, "l%03d" % i, "A1", HALL)) for i in range(devices)]
        echo = EchoHost(port, fleet)
        try:
            raw = _summary(*_run_devices(port, fleet, rate, seconds, processes, "raw", 1))
        finally:
            echo.stop()
        collector = Collector(store, "127.0.0.1", port)
        if not collector.start(10):
            raise RuntimeError("collector could not subscribe")
        try:
            ingest = _summary(*_run_devices(port, fleet, rate, seconds, processes, "ingest", 1))
        finally:
            collector.stop()
        with store.read() as db:
            rows = db.execute("SELECT COUNT(*) FROM ratings").fetchone()[0]
        return {
            "devices": devices,
            "rate_per_s": rate,
            "seconds": seconds,
            "ingest": ingest,
            "raw": raw,
            "rows": rows,
        }
    finally:
        store.close()
        stop(broker)
        shutil.rmtree(workdir, ignore_errors=True)


def figures(result):
    shape = "%d CPython devices, %g ratings/s in all for %g s, %d acked" % (
        result["devices"],
        result["rate_per_s"],
        result["seconds"],
        result["ingest"]["acked"],
    )
    how = (
        "press (sign + QoS1 publish) to verified ack received, through hostd's Collector "
        "(verify, commit with synchronous=FULL, signed ack); %s" % shape
    )
    raw_how = (
        "the same devices and rate; the reply is an immediate pre-signed ack from a raw "
        "paho subscriber (the broker round trip alone)"
    )
    return {
        "ack_latency_ms_p50": figure(result["ingest"]["p50_ms"], "ms", how, baseline="paho_roundtrip_ms_p50"),
        "ack_latency_ms_p99": figure(
            result["ingest"]["p99_ms"], "ms", how, baseline="paho_roundtrip_ms_p99", target="< 50"
        ),
        "paho_roundtrip_ms_p50": figure(result["raw"]["p50_ms"], "ms", raw_how),
        "paho_roundtrip_ms_p99": figure(result["raw"]["p99_ms"], "ms", raw_how),
    }


if __name__ == "__main__":
    args = [float(a) for a in sys.argv[1:4]]
    if args:
        args[0] = int(args[0])
    print(json.dumps(run(*args), indent=2))
