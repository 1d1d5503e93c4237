# MQTT 3.1.1 control packets: build what the device sends, read and parse what
# it receives. The socket and its lifecycle belong to firmware/link.py, which
# reads whole packets; the functions here check and parse them. Pure Python
# that runs on MicroPython and CPython (tests check both).
from protocol.compat import const

# First byte of each control packet (type << 4 | flags). Those only this
# module needs are private consts: no name left on the device (its qstr pool).
_CONNECT = const(0x10)  # CONNECT, client -> broker
CONNACK = const(0x20)  # CONNACK, broker -> client
PUBLISH = const(0x30)  # PUBLISH, low nibble = DUP, QoS (2 bits), RETAIN
PUBACK = const(0x40)  # PUBACK, QoS1 acknowledgement
_SUBSCRIBE = const(0x82)  # SUBSCRIBE, flags 0b0010 are mandatory
SUBACK = const(0x90)  # SUBACK, one return code per topic filter
_PINGREQ = const(0xC0)  # PINGREQ
PINGRESP = const(0xD0)  # PINGRESP
_DISCONNECT = const(0xE0)  # DISCONNECT, clean close: the broker drops the will

PINGREQ_PACKET = b"\xc0\x00"  # PINGREQ, remaining length 0
DISCONNECT_PACKET = b"\xe0\x00"  # DISCONNECT, remaining length 0

SUBACK_FAILURE = const(0x80)  # SUBACK return code: subscription refused

_MAX_LENGTH = const(268435455)  # largest remaining length four varint bytes carry
MAX_PAYLOAD = const(16384)  # largest inbound payload by default (a session with bitmaps)
TOPIC_ROOM = const(128)  # an inbound PUBLISH body's room for topic and packet id


class Oversized(ValueError):
    """An inbound PUBLISH over the limits; never allocated."""


# CONNACK return codes 1..5 (MQTT 3.1.1 section 3.2.2.3), "|" between
# them: one string stays in ROM, a dict of strings would sit in the heap.
_REFUSALS = const(
    "unacceptable protocol version|client id rejected|server unavailable"
    "|bad user name or password|not authorised"
)


def refusal(code):
    """What a CONNACK return code means, for the log."""
    names = _REFUSALS.split("|")
    return names[code - 1] if 0 < code <= len(names) else "?"


def encode_length(n):
    """Remaining length as the 1-4 byte varint of the fixed header."""
    if n < 0 or n > _MAX_LENGTH:
        raise ValueError("remaining length %d out of range" % n)
    out = bytearray()
    while True:
        digit = n & 0x7F
        n >>= 7
        if n:
            out.append(digit | 0x80)  # continuation bit
        else:
            out.append(digit)
            return out


def decode_length(buf, offset=0):
    """Read a remaining-length varint from buf; return (value, next_offset)."""
    value = 0
    shift = 0
    while True:
        if offset >= len(buf):
            raise ValueError("truncated remaining length")
        digit = buf[offset]
        offset += 1
        value |= (digit & 0x7F) << shift
        if not digit & 0x80:
            return value, offset
        shift += 7
        if shift > 21:
            raise ValueError("remaining length longer than 4 bytes")


def _add_u16(out, n):
    out.append(n >> 8)
    out.append(n & 0xFF)


def _add_field(out, data):
    """A UTF-8 string or binary field: two length bytes, then the bytes."""
    if isinstance(data, str):
        data = data.encode()
    if len(data) > 0xFFFF:
        raise ValueError("field longer than 65535 bytes")
    _add_u16(out, len(data))
    out.extend(data)


def _frame(first, body):
    out = bytearray()
    out.append(first)
    out.extend(encode_length(len(body)))
    out.extend(body)
    return out


def connect(client_id, keepalive, clean_session=True, user=None, password=None, will=None):
    """CONNECT; will is (topic, payload_bytes, qos, retain) or None."""
    flags = 0
    if clean_session:
        flags |= 0x02  # Clean Session
    if will:
        topic, message, qos, retain = will
        if qos not in (0, 1, 2):
            raise ValueError("will qos must be 0, 1 or 2")
        flags |= 0x04 | (qos << 3)  # Will Flag, Will QoS
        if retain:
            flags |= 0x20  # Will Retain
    if password is not None:
        if user is None:
            raise ValueError("a password needs a user name")
        flags |= 0x40  # Password Flag
    if user is not None:
        flags |= 0x80  # User Name Flag
    body = bytearray(b"\x00\x04MQTT")  # protocol name
    body.append(0x04)  # protocol level 4 = MQTT 3.1.1
    body.append(flags)
    _add_u16(body, keepalive)
    _add_field(body, client_id)
    if will:
        _add_field(body, will[0])
        _add_field(body, will[1])
    if user is not None:
        _add_field(body, user)
    if password is not None:
        _add_field(body, password)
    return _frame(_CONNECT, body)


def publish_header(topic, payload_len, qos=0, retain=False, pid=0, dup=False):
    """Fixed header + topic + packet id; the caller writes the payload after it,
    so a large payload is never copied."""
    if qos not in (0, 1):
        raise ValueError("qos must be 0 or 1")
    first = PUBLISH | (qos << 1)
    if retain:
        first |= 0x01  # RETAIN
    if dup:
        first |= 0x08  # DUP
    var = bytearray()
    _add_field(var, topic)
    if qos:
        _add_u16(var, pid)
    out = bytearray()
    out.append(first)
    out.extend(encode_length(len(var) + payload_len))
    out.extend(var)
    return out


def subscribe(pid, topics):
    """SUBSCRIBE for a list of (topic_filter, qos)."""
    body = bytearray()
    _add_u16(body, pid)
    for topic, qos in topics:
        _add_field(body, topic)
        body.append(qos)
    return _frame(_SUBSCRIBE, body)


def puback(pid):
    return bytes((PUBACK, 0x02, pid >> 8, pid & 0xFF))  # PUBACK, length 2, packet id


def parse_connack(body):
    """Return (session_present, return_code)."""
    if len(body) != 2:
        raise ValueError("CONNACK body must be 2 bytes")
    return bool(body[0] & 0x01), body[1]


def parse_pid(body):
    """Packet id at the start of PUBACK / SUBACK bodies."""
    if len(body) < 2:
        raise ValueError("packet id missing")
    return (body[0] << 8) | body[1]


def check_publish(kind, n, limit):
    """An inbound PUBLISH whose first byte is `kind` and remaining length `n`:
    refuse it from the header alone, before any body byte is read (Oversized
    when `n` is over `limit`, ValueError for QoS 2)."""
    if n > limit:
        raise Oversized("PUBLISH of %d bytes is over the limit" % n)
    qos = (kind >> 1) & 0x03
    if qos > 1:
        raise ValueError("QoS %d PUBLISH was never subscribed for" % qos)


def parse_publish(kind, body):
    """A whole PUBLISH body: (packet_id, topic, payload), the payload a
    memoryview into `body` (no copy)."""
    qos = (kind >> 1) & 0x03
    if len(body) < 2:
        raise ValueError("topic length missing")
    used = 2 + ((body[0] << 8) | body[1])
    if used + 2 * qos > len(body):
        raise ValueError("topic longer than the packet")
    topic = bytes(body[2:used]).decode()
    pid = 0
    if qos:
        pid = (body[used] << 8) | body[used + 1]
        used += 2
    return pid, topic, memoryview(body)[used:]
