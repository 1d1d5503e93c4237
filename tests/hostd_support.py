"""Helpers for the hostd tests: homes on free ports, MQTT clients, raw CONNECTs."""

import queue
import socket
import struct
import threading
import time

import paho.mqtt.client as mqtt
from click.testing import CliRunner

from conftest import free_ports
from hostd.base.home import Home
from hostd.cli import cli
from protocol import messages


def make_home(path, hall="h1"):
    """`hostd init` on loopback with free broker and web ports; return the Home."""
    broker_port, web_port = free_ports(2)
    result = CliRunner().invoke(
        cli,
        [
            "--home",
            str(path),
            "init",
            "--hall",
            hall,
            "--listen",
            "127.0.0.1",
            "--broker-port",
            str(broker_port),
            "--web-port",
            str(web_port),
        ],
    )
    assert result.exit_code == 0, result.output
    return Home(path)


def hostd(home, *args):
    """Run a CLI command in-process; return the click Result."""
    return CliRunner().invoke(cli, ["--home", str(home.path), *args])


class Client:
    """A paho client that records its CONNACK and the messages it receives."""

    def __init__(
        self, port, user, password, client_id=None, protocol=mqtt.MQTTv311, tls_ca=None, host="127.0.0.1"
    ):
        self.messages = queue.Queue()
        self.reason = None
        self.disconnected = threading.Event()
        self._connack = threading.Event()
        self._subscribed = threading.Event()
        cid = client_id if client_id is not None else "t-%s-%f" % (user, time.time())
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cid, protocol=protocol)
        self.client.username_pw_set(user, password)
        if tls_ca:
            self.client.tls_set(ca_certs=tls_ca)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *a: self.disconnected.set()
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, m.payload))
        self.client.reconnect_delay_set(5, 5)
        self.client.connect(host, port, keepalive=30)
        self.client.loop_start()
        self._connack.wait(5)

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        self.reason = reason_code
        self._connack.set()

    @property
    def accepted(self):
        return self.reason is not None and not self.reason.is_failure

    def subscribe(self, topic, qos=1):
        self._subscribed.clear()
        self.client.subscribe(topic, qos)
        assert self._subscribed.wait(5), "no SUBACK for %s" % topic

    def publish(self, topic, payload, qos=1):
        info = self.client.publish(topic, payload, qos)
        info.wait_for_publish(5)
        return info

    def expect(self, timeout=5.0):
        """The next message (topic, payload), or None after `timeout`."""
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def _remaining_length(n):
    out = b""
    while True:
        byte, n = n % 128, n // 128
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def _str16(data):
    return struct.pack("!H", len(data)) + data


def raw_connect(port, client_id, user, password):
    """Send one MQTT 3.1.1 CONNECT with this exact client id (bytes).

    Returns "accepted", "refused <code>", or "closed" (the broker dropped the
    connection without a CONNACK)."""
    flags = 0xC2  # username, password, clean session
    body = (
        _str16(b"MQTT")
        + bytes([4, flags])
        + struct.pack("!H", 30)
        + _str16(client_id)
        + _str16(user.encode())
        + _str16(password.encode())
    )
    packet = bytes([0x10]) + _remaining_length(len(body)) + body  # 0x10: CONNECT
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        try:
            s.sendall(packet)
            data = s.recv(4)
        except OSError:
            return "closed"
    if len(data) < 4 or data[0] != 0x20:  # 0x20: CONNACK
        return "closed"
    return "accepted" if data[3] == 0 else "refused %d" % data[3]


def signed_rating(key, device, seq, level=5, session=None):
    now = int(time.time())
    return messages.sign(
        key,
        [
            messages.VERSION,
            messages.RATING,
            device,
            seq,
            session,
            level,
            [] if level > 2 else [1],
            1,
            None,
            now,
            True,
        ],
    )
