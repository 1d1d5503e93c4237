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

from protocol import messages, topics
from protocol.errors import ProtocolError

_ids = itertools.count(1)


def rating_fields(device, seq, level=5, session="s-1", reasons=(), cases=1, staff="0042",
                  device_time=None, synced=True):
    return [messages.VERSION, messages.RATING, device, seq, session, level, list(reasons),
            cases, staff, int(time.time()) if device_time is None else device_time, synced]


def status_fields(device, state=messages.ONLINE, fw="1.0.0", outbox=0, heap=60000,
                  synced=True, uptime=10, next_seq=1):
    return [messages.VERSION, messages.STATUS, device, state, fw, outbox, heap, synced,
            uptime, next_seq]


class SigningDevice:
    """A device stand-in on the real broker, publishing signed messages."""

    def __init__(self, port, hall, device_id, key, host="127.0.0.1", will=False):
        self.hall, self.device_id, self.key = hall, device_id, key
        self.acks = queue.Queue()  # verified ack field lists
        self.bad_acks = []  # acks that failed verification (should stay empty)
        self.ack_arrival = {}  # seq -> time.monotonic() when its ack arrived
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                  client_id="dev-%s-%d" % (device_id, next(_ids)))
        if will:
            offline = messages.sign(key, status_fields(device_id, messages.OFFLINE))
            self.client.will_set(self.topic(topics.STATUS), offline, qos=1)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.on_message = self._on_message
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
            fields = messages.decode(msg.payload, [self.key], self.device_id,
                                     messages.MAX_HOST_MESSAGE)
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
