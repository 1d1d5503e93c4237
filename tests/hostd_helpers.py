"""CPython test peers for hostd: a fake device that signs with its real key.

`SigningDevice` is a paho-mqtt client that builds ratings and heartbeats with
protocol.messages.sign (the same code the firmware runs), publishes them on
its own topics, and collects the host's acks, verifying each with its key.
"""

import itertools
import queue
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from hostd.broker import files as broker_files
from protocol import messages, topics
from protocol.errors import ProtocolError

_ids = itertools.count(1)


def rating_fields(
    device, seq, level=5, session="s-1", reasons=(), cases=1, staff="0042", device_time=None, synced=True
):
    return [
        messages.VERSION,
        messages.RATING,
        device,
        seq,
        session,
        level,
        list(reasons),
        cases,
        staff,
        int(time.time()) if device_time is None else device_time,
        synced,
    ]


def status_fields(
    device, state=messages.ONLINE, fw="1.0.0", outbox=0, heap=60000, synced=True, uptime=10, next_seq=1
):
    return [messages.VERSION, messages.STATUS, device, state, fw, outbox, heap, synced, uptime, next_seq]


class SigningDevice:
    """A device stand-in on the real broker, publishing signed messages."""

    def __init__(
        self, port, hall, device_id, key, host="127.0.0.1", will=False, username=None, password=None
    ):
        self.hall, self.device_id, self.key = hall, device_id, key
        self.acks = queue.Queue()  # verified ack field lists
        self.bad_acks = []  # acks that failed verification (should stay empty)
        self.ack_arrival = {}  # seq -> time.monotonic() when its ack arrived
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="dev-%s-%d" % (device_id, next(_ids))
        )
        if will:
            offline = messages.sign(key, status_fields(device_id, messages.OFFLINE))
            self.client.will_set(self.topic(topics.STATUS), offline, qos=1)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.on_message = self._on_message
        if username is not None:  # a broker with logins (hostd's own Mosquitto)
            self.client.username_pw_set(username, password)
        self.client.connect(host, port, keepalive=5)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise TimeoutError("fake device %s could not subscribe to its acks" % device_id)

    def topic(self, leaf, device=None):
        return topics.topic(self.hall, device or self.device_id, leaf)

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        client.subscribe(self.topic(topics.ACK), qos=1)

    def _on_message(self, client, userdata, msg):
        try:
            fields = messages.decode(msg.payload, [self.key], self.device_id, messages.MAX_HOST_MESSAGE)
        except ProtocolError as exc:
            self.bad_acks.append((msg.payload, exc))
            return
        self.ack_arrival[fields[3]] = time.monotonic()
        self.acks.put(fields)

    # -- sending --------------------------------------------------------
    def sign(self, fields, key=None):
        return messages.sign(key or self.key, fields)

    def publish(self, payload, leaf=topics.RATING, device=None, qos=1):
        """Publish raw bytes on this device's (or another device's) topic."""
        info = self.client.publish(self.topic(leaf, device), payload, qos=qos)
        info.wait_for_publish(10)
        return payload

    def rate(self, seq, level=5, **kw):
        """Sign and publish one rating; return its wire bytes."""
        return self.publish(self.sign(rating_fields(self.device_id, seq, level, **kw)))

    def heartbeat(self, **kw):
        return self.publish(self.sign(status_fields(self.device_id, **kw)), topics.STATUS)

    def wait_ack(self, timeout=10.0):
        """The next verified ack as a dict; raise TimeoutError if none comes."""
        try:
            return messages.as_dict(self.acks.get(timeout=timeout))
        except queue.Empty:
            raise TimeoutError("no ack for device %s within %ss" % (self.device_id, timeout))

    def no_ack(self, wait=0.5):
        """True when no ack arrives within `wait` seconds."""
        try:
            self.acks.get(timeout=wait)
        except queue.Empty:
            return True
        return False

    def drop(self):
        """Vanish without DISCONNECT so the broker publishes the last will."""
        self.client.loop_stop()
        self.client.socket().close()

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def wait_for(predicate, timeout=10.0, interval=0.02):
    """Poll `predicate` until it is truthy; return its value or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met within %ss" % timeout)
        time.sleep(interval)


# -- end to end: `hostd run` as a process, and the host's pushes -------------
# (tests/test_e2e.py, tests/test_crash.py). Sessions and idle screens are not
# sent by hostd yet, so tests sign and publish them as the hostd broker user.


def session_fields(
    device,
    session_id,
    item_code="A001",
    item_name="户口迁移",
    staff_id="s1",
    staff_name="张三",
    staff_no="0042",
    cases=1,
    ttl=120,
    qr="https://example.org/q",
    host_time=None,
):
    return [
        messages.VERSION,
        messages.SESSION,
        device,
        session_id,
        item_code,
        item_name,
        staff_id,
        staff_name,
        staff_no,
        cases,
        ttl,
        qr,
        int(time.time()) if host_time is None else host_time,
        [],
    ]


def idle_fields(
    device, window, staff_id="s1", staff_name="张三", staff_no="0042", serving=True, host_time=None
):
    return [
        messages.VERSION,
        messages.IDLE,
        device,
        window,
        staff_id,
        staff_name,
        staff_no,
        serving,
        int(time.time()) if host_time is None else host_time,
        [],
    ]


class HostPush:
    """Publishes signed session and idle messages as hostd's own broker user."""

    def __init__(self, home, port=None):
        from hostd.base.home import HOST_USER

        self.hall = home.config()["hall"]["id"]
        # hostd's own listener: the only one its login works on
        port = port or broker_files.host_port(home, home.config())
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-push-%d" % next(_ids))
        self.client.username_pw_set(HOST_USER, home.host_password())
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()

    def _push(self, key, fields):
        # Sessions and idle screens share the device's session topic.
        info = self.client.publish(
            topics.topic(self.hall, fields[2], topics.SESSION), messages.sign(key, fields), qos=1
        )
        info.wait_for_publish(10)
        if not info.is_published():
            raise TimeoutError("the broker did not take the push for %s" % fields[2])

    def session(self, key, device, session_id, **kw):
        self._push(key, session_fields(device, session_id, **kw))

    def idle(self, key, device, window, **kw):
        self._push(key, idle_fields(device, window, **kw))

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


class HostdProcess:
    """`hostd --home H run` as a real process; its log goes to a file in the home."""

    def __init__(self, home, *args, env=None):
        import os
        import subprocess
        import sys

        self.home = home
        self.log_path = home.path / ("hostd-run-%d-%d.log" % (time.time(), next(_ids)))
        self._log = open(self.log_path, "ab")
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hostd.cli", "--home", str(home.path), "run", *args],
            stdout=self._log,
            stderr=self._log,
            env={**os.environ, **(env or {})},
        )
        self.wait_for("hostd ready")
        self.start_s = time.monotonic() - started

    def text(self):
        return self.log_path.read_text(errors="replace")

    def wait_for(self, words, timeout=30):
        deadline = time.monotonic() + timeout
        while words not in self.text():
            if self.proc.poll() is not None:
                raise RuntimeError("hostd exited %s:\n%s" % (self.proc.returncode, self.text()))
            if time.monotonic() > deadline:
                raise TimeoutError("no %r from hostd in %ss:\n%s" % (words, timeout, self.text()))
            time.sleep(0.05)

    def stop(self, signum=15):
        """Send `signum` (SIGTERM by default, 9 for a crash); return the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
            try:
                self.proc.wait(30)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


def db_rows(home, sql, args=()):
    """Rows of `sql` on the home's hostd.db through a fresh read connection."""
    return sql_rows(home.db_path, sql, args)


def sql_rows(path, sql="SELECT device_id, seq, level FROM ratings ORDER BY device_id, seq", args=()):
    """Rows of `sql` on the database at `path`, read with a separate plain
    connection: only committed data is visible."""
    import sqlite3

    conn = sqlite3.connect(path, timeout=30)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()
