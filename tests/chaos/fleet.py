"""Devices that keep their own log of what they sent, for the chaos scenarios.

`OutboxDevice` behaves like the firmware outbox: each rating is signed once
(fixed bytes), kept until the host's signed ack for it verifies, and resent
with the same bytes while it waits, each wait twice the last (up to 8x
resend_s): fixed short resends on a slow host ask for more work than it
can do (every resend costs a duplicate check and an ack), and it never
catches up. Its log (`wire`, `acked`, `first_sent`,
`ack_at`) is what a scenario checks the host's database against:
lost = acked by the host but not a row; duplicated = a (device, seq) twice.
"""

import itertools
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from protocol import messages, topics
from protocol.errors import ProtocolError
from protocol.host.signing import HostMac

_ids = itertools.count(1)


def rating_fields(device, seq):
    return [
        messages.VERSION,
        messages.RATING,
        device,
        seq,
        None,
        1 + seq % 5,
        [1] if seq % 5 < 2 else [],
        1,
        "0042",
        1795248000 + seq,
        True,
    ]


class OutboxDevice:
    def __init__(
        self,
        port,
        hall,
        device,
        key,
        total,
        window=10,
        resend_s=2.0,
        rate=None,
        host="127.0.0.1",
        keepalive=5,
        password=None,
    ):
        self.hall, self.device, self.key, self.total = hall, device, key, total
        self.window, self.resend_s, self.rate = window, resend_s, rate
        self.mac = HostMac()
        self.wire = {}  # seq -> signed bytes (the device's log of what it sent)
        self.first_sent = {}  # seq -> monotonic time of the first publish
        self.ack_at = {}  # seq -> monotonic time the first verified ack arrived
        self.acks = 0  # verified acks received, resends' acks included
        self.bad_acks = 0
        self.resends = 0
        self.connects = 0
        self.paused = False  # stop taking new presses (the outbox keeps resending)
        self.done = threading.Event()
        self._lock = threading.Lock()
        self._stop = False
        self.ack_topic = topics.topic(hall, device, topics.ACK)
        self.rating_topic = topics.topic(hall, device, topics.RATING)
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="chaos-%s-%d" % (device, next(_ids)))
        self.client.max_inflight_messages_set(window)
        if password is not None:  # hostd's own Mosquitto: the device's login
            self.client.username_pw_set(device, password)
        self.client.reconnect_delay_set(0.1, 1)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.connect_async(host, port, keepalive=keepalive)
        self.client.loop_start()
        self._thread = threading.Thread(target=self._run, name="chaos " + device, daemon=True)

    def start(self):
        self._thread.start()
        return self

    # -- paho thread ------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if not reason_code.is_failure:
            self.connects += 1
            client.subscribe(self.ack_topic, qos=1)

    def _on_message(self, client, userdata, msg):
        try:
            fields = messages.decode(
                msg.payload, [self.key], self.device, messages.MAX_HOST_MESSAGE, mac=self.mac
            )
        except ProtocolError:
            self.bad_acks += 1
            return
        with self._lock:
            self.acks += 1
            self.ack_at.setdefault(fields[3], time.monotonic())

    # -- the device's loop ------------------------------------------------
    def acked(self):
        with self._lock:
            return set(self.ack_at)

    def acked_count(self):
        return len(self.ack_at)

    def pending(self):
        with self._lock:
            return len(self.wire) - len(self.ack_at)

    def latencies_ms(self):
        with self._lock:
            return [(self.ack_at[s] - self.first_sent[s]) * 1000 for s in self.ack_at]

    def _publish(self, seq):
        self.client.publish(self.rating_topic, self.wire[seq], qos=1)

    def _run(self):
        last_sent = {}
        waits = {}  # seq -> its current resend wait
        next_seq, started = 1, time.monotonic()
        while not self._stop:
            with self._lock:  # only the window's seqs: the log may hold thousands
                acked = [s for s in last_sent if s in self.ack_at]
            for seq in acked:
                del last_sent[seq]
                waits.pop(seq, None)
            if next_seq > self.total and not last_sent:
                self.done.set()
                return
            if self.client.is_connected():
                now = time.monotonic()
                for seq, at in list(last_sent.items()):
                    wait = waits.get(seq, self.resend_s)
                    if now - at >= wait:
                        self._publish(seq)
                        last_sent[seq] = now
                        waits[seq] = min(wait * 2, self.resend_s * 8)
                        self.resends += 1
                while (
                    not self.paused
                    and len(last_sent) < self.window
                    and next_seq <= self.total
                    and (self.rate is None or next_seq <= (now - started) * self.rate + 1)
                ):
                    self.wire[next_seq] = messages.sign(
                        self.key, rating_fields(self.device, next_seq), self.mac
                    )
                    self.first_sent[next_seq] = now
                    self._publish(next_seq)
                    last_sent[next_seq] = now
                    next_seq += 1
            time.sleep(0.005)

    def close(self):
        self._stop = True
        if self._thread.is_alive():
            self._thread.join(5)
        self.client.disconnect()
        self.client.loop_stop()


def check_against_logs(db_path, devices):
    """(lost, duplicated, missing) from the devices' logs and the database.

    lost: acked but not a row; duplicated: (device, seq) rows beyond the
    first; missing: sent but not a row (allowed while still unacked)."""
    import sqlite3

    conn = sqlite3.connect(str(db_path), timeout=30)
    try:
        rows = conn.execute("SELECT device_id, seq, wire FROM ratings").fetchall()
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()
    stored = {}
    duplicated = 0
    for device, seq, wire in rows:
        if (device, seq) in stored:
            duplicated += 1
        stored[(device, seq)] = bytes(wire)
    lost, missing, altered = [], [], []
    for d in devices:
        for seq, wire in d.wire.items():
            key = (d.device, seq)
            if key not in stored:
                (lost if seq in d.ack_at else missing).append(key)
            elif stored[key] != wire:
                altered.append(key)
    return {
        "lost": lost,
        "duplicated": duplicated,
        "missing": missing,
        "altered": altered,
        "rows": len(rows),
        "integrity": integrity,
    }


def percentile(values, p):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100.0 * len(ordered) + 0.5)) - 1))]
