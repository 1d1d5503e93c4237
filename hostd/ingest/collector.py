"""The collector: receive, verify, store and acknowledge ratings over MQTT.

For each message on hcp/v1/<hall>/+/rating and .../status (QoS1):
topic -> size -> the device's rate limit (a flood is refused before any
crypto, and reported to on_flood) -> device keys (KeyCache) ->
protocol.messages.decode (shape, device/topic match, signature, values; the
common rating takes protocol/host/fast_decode.py's fast path, which accepts only
what messages.decode accepts) -> Store. A rating is acked to the
device on hcp/v1/<hall>/<device>/ack only after its row is committed:
"stored" for a new row, "duplicate" for a byte-identical resend. A different
message under a used seq is refused as "replayed". Every refusal is counted
by reason and logged once per (device, reason); nothing a device sends can
stop the collector.

MQTT acknowledgement: paho sends the PUBACK for an incoming QoS1 message when
on_message returns. We use manual_ack=True and send the PUBACK (client.ack)
from the store callback, after the COMMIT. So on_message only queues the
write and returns at once, the broker keeps delivering, and many ratings
share one COMMIT (group commit) -- while a message whose write never
committed (crash, stop) is never PUBACKed, and the broker redelivers it.
MQTT v5 lets us ask for a large Receive Maximum, so the broker keeps enough
unacked messages flowing to fill a batch; shared subscriptions
($share/<group>/...) also need v5. paho decodes v5 properties of every
packet; hostd/ingest/paho_speedups.py makes that cheap.
"""

import functools
import logging
import socket
import ssl
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from prometheus_client import Histogram

from hostd.devices.registry import KeyCache
from hostd.ingest import paho_speedups, ratelimit
from hostd.ingest.counters import INTERNAL_ERROR, UNKNOWN_DEVICE, RejectionCounters
from hostd.ingest.ratelimit import RATE_LIMITED
from hostd.recording import device_ratings
from hostd.recording.device_ratings import REPLAYED, STORED
from protocol import messages, topics
from protocol.errors import BadSignature, Malformed, Oversized, ProtocolError
from protocol.host import fast_decode
from protocol.host.signing import HostMac, ack_wire

log = logging.getLogger("hostd.collector")
RETAINED = "retained"  # rejection reason: a device's retained message, cleared
RETAINED_CLEARED = "retained_cleared"  # the empty message of that clearing, delivered back


def no_delay(client):
    """TCP_NODELAY on a paho client's socket. An ack is a PUBLISH written
    right after a PUBACK; with Nagle's algorithm it waits for the broker's
    delayed TCP ACK of the PUBACK (40 ms on Linux) before it leaves."""
    sock = client.socket()
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (AttributeError, OSError):  # not TCP (a websocket or TLS wrapper without it)
        pass


QOS = 1
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)  # seconds
SESSION_EXPIRY_S = 7 * 86400  # a named collector's queued messages survive a restart
_EXPECTED_KIND = {topics.RATING: messages.RATING, topics.STATUS: messages.STATUS}


class Collector:
    def __init__(
        self,
        store,
        host,
        port,
        username=None,
        password=None,
        hall="+",
        shared_group=None,
        tls=None,
        client_id=None,
        max_payload=messages.MAX_DEVICE_MESSAGE,
        after_store=None,
        receive_maximum=1024,
        keepalive=30,
        protocol=mqtt.MQTTv5,
        device_rate=(ratelimit.RATE_PER_S, ratelimit.BURST),
        on_flood=None,
    ):
        paho_speedups.install()
        self.store = store
        self.host, self.port, self.keepalive = host, port, keepalive
        self.hall = hall
        self.shared_group = shared_group
        self.max_payload = max_payload
        self.after_store = after_store  # op(db, rating, hall), in the rating's transaction
        self.keys = KeyCache(store)
        # device_rate: (messages per second, burst), or None for no limit
        self.limits = (
            ratelimit.DeviceLimits(*device_rate, on_flood=on_flood) if device_rate is not None else None
        )
        self.mac = HostMac()
        self.rejections = RejectionCounters(store)
        self._clearing = set()  # topics whose retained message hostd is clearing
        self._stats = {"received": 0, "stored": 0, "duplicate": 0, "acked": 0, "rejected": 0, "status": 0}
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._inflight = 0  # writes queued in the store, not yet committed
        self._ready = threading.Event()
        self._busy_since = None  # time.monotonic() when the message in hand arrived
        # Arrival to ack, per rating: /metrics (hostd/web/metrics.py) shows it.
        self.ack_latency = Histogram(
            "hostd_ack_latency_seconds",
            "Seconds from a rating's arrival to its ack (committed first)",
            buckets=ACK_BUCKETS,
            registry=None,
        )
        self._stopping = False
        self._persistent = client_id is not None

        # MQTTv311 serves brokers without v5 (the embedded amqtt fallback); there
        # the broker's own in-flight limit caps how many ratings share a commit.
        self._v5 = protocol == mqtt.MQTTv5
        if shared_group and not self._v5:
            raise ValueError("shared subscriptions ($share/...) need MQTT v5")
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or "",
            protocol=protocol,
            manual_ack=True,
            clean_session=None if self._v5 else not self._persistent,
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        if isinstance(tls, ssl.SSLContext):
            self.client.tls_set_context(tls)
        elif isinstance(tls, dict):
            self.client.tls_set(**tls)
        elif tls:
            self.client.tls_set()
        self._receive_maximum = receive_maximum
        self.client.reconnect_delay_set(1, 30)
        self.client.on_connect = self._on_connect
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_subscribe = self._on_subscribe
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    # -- public ---------------------------------------------------------
    @property
    def counters(self):
        """Rejections by reason since start (the table keeps them per device)."""
        return self.rejections.snapshot()

    @property
    def on_flood(self):
        """on_flood(device_id): called when a device floods (hostd/ingest/ratelimit.py)."""
        return self.limits.on_flood if self.limits is not None else None

    @on_flood.setter
    def on_flood(self, callback):
        if self.limits is not None:
            self.limits.on_flood = callback

    @property
    def stats(self):
        with self._lock:
            return dict(self._stats)

    @property
    def connected(self):
        return self._ready.is_set()

    def filters(self):
        prefix = "$share/%s/" % self.shared_group if self.shared_group else ""
        return [prefix + topics.subscription(leaf, self.hall) for leaf in (topics.RATING, topics.STATUS)]

    def start(self, timeout=10.0):
        """Connect (retrying in the background); True once subscribed."""
        if self._v5:
            props = Properties(PacketTypes.CONNECT)
            props.ReceiveMaximum = self._receive_maximum
            if self._persistent:
                props.SessionExpiryInterval = SESSION_EXPIRY_S
            self.client.connect_async(
                self.host, self.port, self.keepalive, clean_start=not self._persistent, properties=props
            )
        else:
            self.client.connect_async(self.host, self.port, self.keepalive)
        self.client.loop_start()
        return self._ready.wait(timeout)

    def stop(self, timeout=10.0):
        """Stop taking messages, let queued writes commit and ack, disconnect."""
        with self._lock:
            self._stopping = True
            self._idle.wait_for(lambda: self._inflight == 0, timeout)
        self.client.disconnect()
        self.client.loop_stop()
        self._ready.clear()
        self.keys.close()

    # -- paho callbacks (network thread) --------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.error(
                "MQTT broker %s:%s refused the collector: %s; check the hostd broker user and password",
                self.host,
                self.port,
                reason_code,
            )
            return
        log.info("collector connected to %s:%s", self.host, self.port)
        no_delay(client)
        client.subscribe([(name, QOS) for name in self.filters()])

    def _on_connect_fail(self, client, userdata):
        log.warning("cannot reach MQTT broker %s:%s; retrying (is it running?)", self.host, self.port)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        refused = [str(code) for code in reason_codes if code.is_failure]
        if refused:
            log.error(
                "broker refused subscriptions %s: %s; check the ACL for the hostd user",
                self.filters(),
                ", ".join(refused),
            )
            return
        self._ready.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self._ready.clear()
        if not self._stopping:
            log.warning("collector lost the broker (%s); reconnecting", reason_code)

    def busy_for(self):
        """Seconds the message being handled now has been in hand (0 when none):
        the service watchdog's measure of a stuck collector (hostd/service/notify.py)."""
        since = self._busy_since
        return 0.0 if since is None else time.monotonic() - since

    def _on_message(self, client, userdata, msg):
        if self._stopping:
            return  # not PUBACKed: the broker delivers it again later
        self._busy_since = time.monotonic()
        try:
            with self._lock:
                self._stats["received"] += 1
            self._handle(msg)
        except Exception as exc:  # never let one message stop the collector
            # Counted and logged under the device it came from: each device's
            # first internal error is logged with its traceback.
            self._reject(msg, _topic_device(msg.topic), INTERNAL_ERROR, repr(exc), exc_info=True)
        finally:
            self._busy_since = None

    # -- the pipeline ---------------------------------------------------
    def _handle(self, msg):
        try:
            hall, device, leaf = topics.parse(msg.topic)
        except Malformed as exc:
            self._reject(msg, None, Malformed.reason, exc)
            return None
        payload = msg.payload
        if leaf in _EXPECTED_KIND and getattr(msg, "retain", False) and payload:
            # A retained rating or status (the firmware never sets retain): the
            # broker would hand it to hostd again at every reconnect. Ignore
            # it and clear it (an ACL cannot strip the flag).
            self._reject(msg, device, RETAINED, "a retained message: ignored, and cleared on the broker")
            with self._lock:
                self._clearing.add(msg.topic)
            self.client.publish(msg.topic, b"", qos=QOS, retain=True)
            return device
        if not payload and msg.topic in self._clearing:
            with self._lock:
                self._clearing.discard(msg.topic)
            self._reject(msg, device, RETAINED_CLEARED, "the broker's copy of the clearing")
            return device
        if leaf not in _EXPECTED_KIND:
            self._reject(msg, device, Malformed.reason, "device published on %s" % leaf)
            return device
        if len(payload) > self.max_payload:
            self._reject(
                msg, device, Oversized.reason, "%d bytes, limit %d" % (len(payload), self.max_payload)
            )
            return device
        if self.limits is not None and not self.limits.admit(device):
            self._reject(msg, device, RATE_LIMITED, "over %g messages/s" % self.limits.rate)
            return device
        keys = self.keys.keys(device)
        if not keys:
            self._reject(msg, device, UNKNOWN_DEVICE, "not registered, or revoked")
            return device
        # The common rating takes the fast path; anything else, and anything
        # it would refuse, goes through messages.decode (protocol/host/fast_decode.py).
        fast = (
            fast_decode.decode(payload, keys, device, self.max_payload, self.mac)
            if leaf == topics.RATING
            else None
        )
        if fast is not None:
            fields, key = fast
        else:
            try:
                fields, key = self._verify(payload, keys, device)
                if fields[1] != _EXPECTED_KIND[leaf]:
                    raise Malformed("kind %s on the %s topic" % (fields[1], leaf))
            except ProtocolError as exc:
                self._reject(msg, device, exc.reason, exc)
                return device
        with self._lock:
            self._inflight += 1
        if leaf == topics.RATING:
            done = functools.partial(
                self._rating_committed,
                msg,
                hall,
                device,
                fields[3],
                (key,) if key == keys[0] else (key, keys[0]),
                self._busy_since,
            )
            device_ratings.store_rating(self.store, fields, payload, hall, done, self.after_store)
        else:
            done = functools.partial(self._status_committed, msg, device)
            device_ratings.update_status(self.store, fields, hall, done)
        return device

    def _verify(self, payload, keys, device):
        """Decode and return (fields, the key that verified it)."""
        if len(keys) == 1:
            return messages.decode(payload, keys, device, self.max_payload, mac=self.mac), keys[0]
        for key in keys[:-1]:  # rotation overlap: find which key signed it
            try:
                return messages.decode(payload, [key], device, self.max_payload, mac=self.mac), key
            except BadSignature:
                continue
        return (messages.decode(payload, keys[-1:], device, self.max_payload, mac=self.mac), keys[-1])

    def _reject(self, msg, device, reason, detail, exc_info=None):
        with self._lock:
            self._stats["rejected"] += 1
        self.rejections.record(device, reason, detail, exc_info=exc_info)
        self.client.ack(msg.mid, msg.qos)  # refused for good: no need to see it again

    # -- store callbacks (writer thread, after COMMIT) ------------------
    def _rating_committed(self, msg, hall, device, seq, ack_keys, arrived, result, error):
        try:
            if error is not None:
                self.rejections.record(
                    device,
                    INTERNAL_ERROR,
                    "store: %r" % (error,),
                    exc_info=(type(error), error, error.__traceback__),
                )
                self.client.ack(msg.mid, msg.qos)  # the device outbox still holds it
            elif result == REPLAYED:
                self._reject(msg, device, REPLAYED, "seq %d reused with different content" % seq)
            else:
                # During a key rotation a rating signed with the old key may
                # come from a device still holding it, or from the outbox of
                # one already given the new key: ack under both, and the
                # device keeps the ack its key verifies.
                sent = [self._send_ack(hall, device, seq, key, result) for key in ack_keys]
                if arrived is not None:  # from the rating's arrival to its ack sent
                    self.ack_latency.observe(time.monotonic() - arrived)
                with self._lock:
                    self._stats["stored" if result == STORED else "duplicate"] += 1
                    if sent[0]:
                        self._stats["acked"] += 1
                self.client.ack(msg.mid, msg.qos)
        finally:
            self._done()

    def _status_committed(self, msg, device, result, error):
        try:
            if error is not None:
                self.rejections.record(device, INTERNAL_ERROR, "store: %r" % (error,))
            else:
                with self._lock:
                    self._stats["status"] += 1
            self.client.ack(msg.mid, msg.qos)
        finally:
            self._done()

    def publish_signed(self, hall, device, leaf, fields, retain=False):
        """Sign `fields` with the device's current key and publish them on its
        `leaf` topic (topics.SESSION) at QoS1. Returns the wire bytes; raises
        LookupError for an unknown or revoked device."""
        keys = self.keys.keys(device)
        if not keys:
            raise LookupError("device %s is not registered, or revoked" % device)
        wire = messages.sign(keys[0], fields, self.mac)
        self.client.publish(topics.topic(hall, device, leaf), wire, qos=QOS, retain=retain)
        return wire

    def _send_ack(self, hall, device, seq, key, result):
        # host_time: the store's clock.now() when the rating's batch began
        ack = ack_wire(key, device, seq, result, self.store.batch_time, self.mac)
        info = self.client.publish(topics.topic(hall, device, topics.ACK), ack, qos=QOS)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    def _done(self):
        with self._lock:
            self._inflight -= 1
            if self._inflight == 0:
                self._idle.notify_all()


def _topic_device(topic):
    """The device a topic names, or None when it names none."""
    try:
        return topics.parse(topic)[1]
    except Malformed:
        return None
