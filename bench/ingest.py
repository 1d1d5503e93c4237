"""Ingest benchmark: signed ratings verified + committed + acked per second,
next to raw paho-mqtt QoS1 messages per second through the same Mosquitto.

Both runs use the same broker, message count, message size and publisher
shape: `devices` paho clients spread over `processes` worker processes,
each client keeping up to `window` messages in flight.
  - ingest: a message leaves the window when the host's signed ack arrives
    (verified with the device key), i.e. after the row is committed;
  - raw: a message leaves the window when the broker's PUBACK arrives, and
    one plain paho subscriber (auto-ack) counts the deliveries.

Usage: python -m bench.ingest [devices] [per_device] [window]
"""
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from hostd import registry
from hostd.collector import Collector
from hostd.store import Store
from protocol import messages, topics

HALL = "bench"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_mosquitto(workdir):
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = _free_port()
    conf = os.path.join(workdir, "mosquitto.conf")
    with open(conf, "w") as f:
        f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"
                "max_queued_messages 100000\n" % port)
    proc = subprocess.Popen([binary, "-c", conf], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, port
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("mosquitto did not start on port %d" % port)
            time.sleep(0.05)


def _rating(device, seq):
    return [messages.VERSION, messages.RATING, device, seq, "s-%d" % seq, 1 + seq % 5, [],
            1, "0042", 1795248000 + seq, True]


class _Publisher:
    """One device: keeps `window` messages in flight until `count` are done."""

    def __init__(self, port, device, key, count, window, raw, finished):
        self.device, self.key, self.count, self.window, self.raw = device, key, count, window, raw
        self.finished = finished
        self.next_seq = 1
        self.done = 0
        self.lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                  client_id="bench-%s-%s" % ("raw" if raw else "dev", device))
        self.client.max_inflight_messages_set(window)
        self.subscribed = threading.Event()
        if raw:
            self.client.on_publish = self._on_publish
            self.client.on_connect = lambda *a: self.subscribed.set()
        else:
            self.client.on_connect = lambda c, *a: c.subscribe(
                topics.topic(HALL, device, topics.ACK), qos=1)
            self.client.on_subscribe = lambda *a: self.subscribed.set()
            self.client.on_message = self._on_ack
        self.client.connect("127.0.0.1", port, keepalive=60)
        self.client.loop_start()

    def payload(self, seq):
        return messages.sign(self.key, _rating(self.device, seq))

    def fill(self):
        while True:
            with self.lock:
                in_flight = self.next_seq - 1 - self.done
                if self.next_seq > self.count or in_flight >= self.window:
                    return
                seq = self.next_seq
                self.next_seq += 1
            self.client.publish(self._topic(), self.payload(seq), qos=1)

    def _topic(self):
        return topics.topic(HALL, self.device, topics.RATING)

    def _finish_one(self):
        with self.lock:
            self.done += 1
            complete = self.done == self.count
        if complete:
            self.finished.set()
        else:
            self.fill()

    def _on_ack(self, client, userdata, msg):
        fields = messages.decode(msg.payload, [self.key], self.device, messages.MAX_HOST_MESSAGE)
        if fields[4] == messages.STORED:
            self._finish_one()

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        self._finish_one()


def _worker(port, devices, count, window, raw, start, results):
    finished = []
    pubs = []
    for device, key in devices:
        event = threading.Event()
        finished.append(event)
        pubs.append(_Publisher(port, device, key, count, window, raw, event))
    for p in pubs:
        p.subscribed.wait(10)
    start.wait()
    for p in pubs:
        p.fill()
    for event in finished:
        event.wait(600)
    results.put(time.time())
    for p in pubs:
        p.client.disconnect()
        p.client.loop_stop()


def _run_publishers(port, devices, count, window, processes, raw, before_start=None):
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    groups = [devices[i::processes] for i in range(processes)]
    procs = [ctx.Process(target=_worker, args=(port, g, count, window, raw, start, results))
             for g in groups if g]
    for p in procs:
        p.start()
    time.sleep(1.5)  # let every worker connect and subscribe
    if before_start:
        before_start()
    t0 = time.time()
    start.set()
    ends = [results.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(30)
    return t0, max(ends)


def _raw_run(port, devices, count, window, processes):
    total = len(devices) * count
    got = [0]
    last = [0.0]
    all_in = threading.Event()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-raw-sub")
    subscribed = threading.Event()

    def on_message(client, userdata, msg):
        got[0] += 1
        if got[0] == total:
            last[0] = time.time()
            all_in.set()

    sub.on_connect = lambda c, *a: c.subscribe(topics.subscription(topics.RATING, HALL), qos=1)
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.on_message = on_message
    sub.connect("127.0.0.1", port)
    sub.loop_start()
    subscribed.wait(10)
    t0, _ = _run_publishers(port, devices, count, window, processes, raw=True)
    all_in.wait(600)
    sub.disconnect()
    sub.loop_stop()
    return total / (last[0] - t0), got[0]


def run(devices=20, per_device=500, window=10, processes=2):
    """Measure both paths; return a dict of numbers."""
    workdir = tempfile.mkdtemp(prefix="hostd-bench-")
    broker, port = start_mosquitto(workdir)
    store = Store(os.path.join(workdir, "hostd.db"))
    try:
        fleet = [("b%03d" % i, registry.add_device(store, "b%03d" % i, "A1", HALL))
                 for i in range(devices)]
        collector = Collector(store, "127.0.0.1", port, client_id="hostd-bench")
        if not collector.start(10):
            raise RuntimeError("collector could not subscribe")
        commits0, ops0 = store.commits, store.ops
        t0, t1 = _run_publishers(port, fleet, per_device, window, processes, raw=False)
        total = devices * per_device
        stats = collector.stats
        with store.read() as db:
            rows = db.execute("SELECT COUNT(*) FROM ratings").fetchone()[0]
        commits, ops = store.commits - commits0, store.ops - ops0
        collector.stop()
        raw_rate, raw_got = _raw_run(port, fleet, per_device, window, processes)
        return {
            "devices": devices, "per_device": per_device, "window": window,
            "message_bytes": len(messages.sign(fleet[0][1], _rating(fleet[0][0], 1))),
            "ingest_ratings_per_s": round(total / (t1 - t0), 1),
            "ingest_seconds": round(t1 - t0, 2),
            "rows": rows, "acked": stats["acked"], "rejected": stats["rejected"],
            "commits": commits, "ops_per_commit": round(ops / max(commits, 1), 1),
            "largest_batch": store.largest_batch,
            "raw_qos1_msgs_per_s": round(raw_rate, 1), "raw_received": raw_got,
        }
    finally:
        store.close()
        broker.kill()
        broker.wait()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:4]]
    print(json.dumps(run(*args), indent=2))
