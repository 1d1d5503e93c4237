# MQTT topics: hcp/v1/<hall>/<device>/<leaf>.
from protocol.compat import const
from protocol.errors import Malformed

PREFIX = "hcp/v1/"
RATING = "rating"  # device -> host, QoS1
ACK = "ack"  # host -> device
SESSION = "session"  # host -> device, QoS1 (session and idle messages)
STATUS = "status"  # device -> host heartbeat; last will marks offline
LEAVES = (RATING, ACK, SESSION, STATUS)

MAX_ID = 32
_ID_CHARS = const(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def valid_id(text):
    """Hall and device ids: 1-32 of [A-Za-z0-9_-], so never a topic wildcard."""
    if not isinstance(text, str) or not 0 < len(text) <= MAX_ID:
        return False
    # Bytes, not `for ch in text`: on MicroPython that interns each
    # character as a qstr, heap the device never gets back.
    for code in text.encode():
        if code not in _ID_CHARS:
            return False
    return True


def topic(hall, device, leaf):
    if not valid_id(hall) or not valid_id(device) or leaf not in LEAVES:
        raise ValueError("bad topic parts %r %r %r" % (hall, device, leaf))
    return PREFIX + hall + "/" + device + "/" + leaf


def parse(name):
    """Split a topic into (hall, device, leaf); raise Malformed otherwise."""
    if not isinstance(name, str) or not name.startswith(PREFIX):
        raise Malformed("topic outside %s" % PREFIX)
    parts = name[len(PREFIX) :].split("/")
    if len(parts) != 3 or parts[2] not in LEAVES:
        raise Malformed("bad topic %s" % name)
    if not valid_id(parts[0]) or not valid_id(parts[1]):
        raise Malformed("bad topic %s" % name)
    return parts[0], parts[1], parts[2]


def subscription(leaf, hall="+"):
    """A host-side filter for one leaf across devices (and halls)."""
    return PREFIX + hall + "/+/" + leaf
