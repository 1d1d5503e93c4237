"""Client ids against the broker config hostd writes (hostd/broker/files.py).

Devices connect to the broker port, where `use_username_as_clientid true`
makes a client's id its login: whatever id a client sends (`#`, `+`,
another device's id, hostd's own), the broker names it after the user it
logged in as. An empty id is refused (allow_zero_length_clientid false), a
64 KB one exceeds max_packet_size and the connection is closed. So no login
can take over another's session: a second connection only ever replaces
the same device's own. hostd's collector connects to a second listener on
127.0.0.1 (broker/host_port), where its fixed id keeps its persistent
session and where no device can reach it from the hall network.
"""

import time

import pytest
from broker_hall import hall  # noqa: F401 (fixture)
from hostd_support import raw_connect

from conftest import mosquitto_binary
from hostd.broker import files as broker
from protocol.credentials import mqtt_password

pytestmark = pytest.mark.skipif(mosquitto_binary() is None, reason="mosquitto not installed")


def test_odd_client_ids(hall):
    password = mqtt_password(hall.keys["d1"])
    for odd in (b"#", b"+"):
        assert raw_connect(hall.sup.port, odd, "d1", password) == "accepted"
    time.sleep(0.3)
    log = hall.log()
    assert " as # (" not in log and " as + (" not in log  # the broker calls them d1
    assert log.count(" as d1 (") >= 2
    assert raw_connect(hall.sup.port, b"", "d1", password) == "refused 2"
    assert raw_connect(hall.sup.port, b"x" * 65535, "d1", password) == "closed"
    assert raw_connect(hall.sup.port, b"#", "d1", "wrong") == "refused 5"


def test_no_takeover_of_another_device(hall):
    d1 = hall.connect("d1", client_id="d1")
    assert d1.accepted
    d1.subscribe("hcp/v1/h1/d1/ack")
    thief = hall.connect("d2", client_id="d1")  # d2's login, d1's client id
    assert thief.accepted
    assert not d1.disconnected.wait(1.0), "d2 took over d1's connection"
    host = hall.connect("hostd")
    host.publish("hcp/v1/h1/d1/ack", b"for d1")
    assert d1.expect() == ("hcp/v1/h1/d1/ack", b"for d1")
    assert thief.expect(timeout=0.5) is None


def test_no_takeover_of_the_collector(hall):
    port = broker.host_port(hall.home, hall.home.config())
    assert port == hall.sup.host_port
    assert "listener %d 127.0.0.1" % port in (hall.home.broker / "mosquitto.conf").read_text()
    collector = hall.connect("hostd", client_id="hostd-h1", port=port)
    assert collector.accepted
    collector.subscribe("hcp/v1/+/+/rating")
    thief = hall.connect("d1", client_id="hostd-h1")
    assert thief.accepted
    assert not collector.disconnected.wait(1.0), "a device took over hostd's session"
    hall.connect("d2").publish("hcp/v1/h1/d2/rating", b"still ours")
    assert collector.expect() == ("hcp/v1/h1/d2/rating", b"still ours")


def test_a_device_replaces_only_its_own_session(hall):
    first = hall.connect("d1", client_id="anything")
    assert first.accepted
    second = hall.connect("d1", client_id="something-else")  # the same login again
    assert second.accepted
    assert first.disconnected.wait(5)  # same login, same client id: the newer one wins
