"""hostd/ingest/paho_speedups.py: paho's Properties with shared tables behaves as
paho's own, and paho decodes real v5 packets with it."""

import threading

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt import _packet
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.exception import MQTTException
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hostd.ingest import paho_speedups

TYPES = [
    PacketTypes.CONNECT,
    PacketTypes.CONNACK,
    PacketTypes.PUBLISH,
    PacketTypes.PUBACK,
    PacketTypes.SUBSCRIBE,
    PacketTypes.DISCONNECT,
    PacketTypes.WILLMESSAGE,
]


@pytest.fixture(scope="module")
def fast():
    cls = paho_speedups.install()
    assert cls is not None, "paho is not the version hostd/ingest/paho_speedups.py expects"
    assert _packet.Properties is cls and issubclass(cls, Properties)
    return cls


def both(packet_type, fast):
    return Properties(packet_type), fast(packet_type)


def test_the_same_tables(fast):
    for t in TYPES:
        slow, quick = both(t, fast)
        assert (quick.packetType, quick.types, quick.names, quick.properties) == (
            slow.packetType,
            slow.types,
            slow.names,
            slow.properties,
        )


def test_the_same_packing_unpacking_and_validation(fast):
    values = {
        PacketTypes.PUBLISH: [
            ("MessageExpiryInterval", 30),
            ("ContentType", "a/b"),
            ("UserProperty", ("k", "v")),
            ("UserProperty", ("k2", "v2")),
            ("SubscriptionIdentifier", 7),
            ("CorrelationData", b"\x01"),
        ],
        PacketTypes.CONNECT: [("ReceiveMaximum", 1024), ("SessionExpiryInterval", 60)],
        PacketTypes.PUBACK: [("ReasonString", "quota")],
    }
    for t, pairs in values.items():
        slow, quick = both(t, fast)
        for name, value in pairs:
            setattr(slow, name, value)
            setattr(quick, name, value)
        assert quick.pack() == slow.pack()
        assert (str(quick), quick.json(), quick.isEmpty()) == (str(slow), slow.json(), False)
        again_slow, again_quick = both(t, fast)
        again_slow.unpack(slow.pack())
        again_quick.unpack(slow.pack())
        assert again_quick.json() == again_slow.json() == slow.json()
        quick.clear()
        slow.clear()
        assert quick.isEmpty() and slow.isEmpty() and quick.pack() == slow.pack() == b"\x00"
    for obj in both(PacketTypes.PUBLISH, fast):
        with pytest.raises(MQTTException):
            obj.ReceiveMaximum = 10  # a CONNECT property, not a PUBLISH one
        with pytest.raises(MQTTException):
            obj.NoSuchThing = 1
    for obj in both(PacketTypes.PUBLISH, fast):  # a property twice: refused by both
        with pytest.raises(MQTTException):
            obj.unpack(b"\x0a" + b"\x02\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x02")


def test_a_real_v5_round_trip_through_mosquitto(fast, mosquitto):
    got, ready = [], threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.on_connect = lambda c, *a: c.subscribe("t/#", qos=1)
    client.on_subscribe = lambda *a: ready.set()
    done = threading.Event()

    def on_message(c, userdata, msg):
        got.append(msg)
        done.set()

    client.on_message = on_message
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()
    try:
        assert ready.wait(10)
        props = Properties(PacketTypes.PUBLISH)
        props.UserProperty = ("hall", "h1")
        props.MessageExpiryInterval = 60
        info = client.publish("t/x", b"payload", qos=1, properties=props)
        info.wait_for_publish(10)
        assert info.is_published()  # the broker's PUBACK was decoded
        assert done.wait(10)
    finally:
        client.disconnect()
        client.loop_stop()
    msg = got[0]
    assert isinstance(msg.properties, fast)
    assert (msg.payload, msg.properties.UserProperty) == (b"payload", [("hall", "h1")])
    assert 0 < msg.properties.MessageExpiryInterval <= 60
