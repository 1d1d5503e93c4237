# Message kinds, their ordered field tuples, and signing / checking: the
# part of protocol.messages that the device imports (the host imports
# protocol.messages, which adds its own helpers to these; every name here is
# a few dozen bytes of a device's heap, so host-only ones live there).
#
# A message on the wire is the canonical encoding (protocol/canonical.py) of
# its field tuple with the HMAC-SHA256 signature appended as a last hex string:
#
#     body = [1,"R","w01-a",7,"s-123",5,[],1,"0042",1795248000,true]
#     wire = [1,"R","w01-a",7,"s-123",5,[],1,"0042",1795248000,true,"<64 hex>"]
#
# The signature covers `body` byte for byte. See protocol/README.md.
import binascii
import json

from protocol import canonical, hmac_sha256
from protocol.compat import const
from protocol.errors import (
    BadSignature,
    LevelOutOfRange,
    Malformed,
    Oversized,
    UnsupportedVersion,
    WrongDevice,
)

VERSION = 1

RATING = "R"  # device -> host: one citizen's press
ACK = "A"  # host -> device: the rating with this seq is committed
SESSION = "S"  # host -> device: a finished service to be rated
IDLE = "I"  # host -> device: who is on duty at the window, or paused
STATUS = "H"  # device -> host: heartbeat; also the last-will "offline"

# Size limits, checked before anything is parsed.
MAX_DEVICE_MESSAGE = 1024  # rating and status, device -> host
MAX_HOST_MESSAGE = 4096  # session and idle carry 1-bit bitmaps (1.2-3.3 KB as rendered)

MAX_DEPTH = 4  # list nesting: message > parts > one part > spare level

_SIG_TAIL = const(68)  # len(',"') + 64 hex digits + len('"]')

# Each kind's fields in wire order, as names and as one type code per field:
# s str, n str or None, i int, b bool, l list, I list of int. The first two
# are always "v" (i) and "kind" (s), the third is always the device id.
# Plain strings rather than a table of tuples: on the device they stay in
# ROM, where a dict of tuples would cost ~5 KB of the 100 KB heap.
_NAMES = {
    RATING: "v kind device seq session level reasons cases staff time synced",
    ACK: "v kind device seq result host_time",
    SESSION: "v kind device session item_code item_name staff_id staff_name staff_no"
    " cases ttl qr host_time parts",
    IDLE: "v kind device window staff_id staff_name staff_no serving host_time parts",
    STATUS: "v kind device state fw outbox heap synced uptime next_seq reset boots",
}
_TYPES = {
    RATING: "issiniIinib",
    ACK: "issisi",
    SESSION: "issssssssiisil",
    IDLE: "isssnnnbil",
    STATUS: "issssiibiiii",
}
_STATUS_V0 = const(10)  # a status from firmware before reset/boots: still taken

# Status states.
ONLINE = "online"
OFFLINE = "offline"

# Levels follow the upstream `satisfaction` field: 5 = 非常满意 ... 1 = 非常不满意.
LEVEL_MAX = 5
BAD_LEVEL_MAX = 2  # 1 and 2 are 差评 and ask for a reason
REASON_CODES = (1, 2, 3, 4, 5, 6)  # 差评 reasons, on the reason screen (protocol.messages)


def _type_ok(code, value):
    if code == "s":
        return isinstance(value, str)
    if code == "n":
        return value is None or isinstance(value, str)
    if code == "i":
        return isinstance(value, int) and not isinstance(value, bool)
    if code == "b":
        return isinstance(value, bool)
    if code == "l":
        return isinstance(value, list)
    if code == "I":
        if not isinstance(value, list):
            return False
        for item in value:
            if not isinstance(item, int) or isinstance(item, bool):
                return False
        return True
    return False


def _check_shape(fields):
    if not isinstance(fields, list) or len(fields) < 3:
        raise Malformed("not a message tuple")
    if fields[0] != VERSION:
        raise UnsupportedVersion("protocol version %r" % (fields[0],))
    kind = fields[1]
    codes = _TYPES.get(kind) if isinstance(kind, str) else None
    if codes is None:
        raise Malformed("unknown kind %r" % (kind,))
    if kind == STATUS and len(fields) == _STATUS_V0:
        codes = codes[:_STATUS_V0]
    if len(fields) != len(codes):
        raise Malformed("kind %s needs %d fields" % (kind, len(codes)))
    for i in range(len(codes)):
        if not _type_ok(codes[i], fields[i]):
            raise Malformed("field %s has the wrong type" % _NAMES[kind].split()[i])


def _check_values(fields):
    kind = fields[1]
    if kind == RATING:
        level = fields[5]
        if level < 1 or level > LEVEL_MAX:
            raise LevelOutOfRange("level %d is out of range" % level)
        if fields[3] < 1 or fields[7] < 1:
            raise Malformed("seq and cases start at 1")
        for code in fields[6]:
            if code not in REASON_CODES:
                raise Malformed("reason code %d" % code)
    elif kind == ACK and fields[3] < 1:
        raise Malformed("seq starts at 1")


def _check_bytes(payload):
    # Printable ASCII only, and lists nested at most MAX_DEPTH deep (counted
    # outside strings) so that neither json.loads nor canonical.encode can run
    # out of stack or heap on the device.
    # Fast path (min/max/count run in C on both runtimes): printable ASCII
    # with no more brackets in all than MAX_DEPTH cannot nest too deep.
    if (
        not isinstance(payload, memoryview)
        and min(payload) >= 32
        and max(payload) <= 126
        and payload.count(b"[") + payload.count(b"{") <= MAX_DEPTH
    ):
        return
    depth = 0
    in_string = False
    escaped = False
    for byte in payload:
        if byte < 32 or byte > 126:
            raise Malformed("non-ASCII byte in message")
        if in_string:
            if escaped:
                escaped = False
            elif byte == 92:  # \
                escaped = True
            elif byte == 34:  # "
                in_string = False
        elif byte == 34:
            in_string = True
        elif byte == 91 or byte == 123:  # [ {
            depth += 1
            if depth > MAX_DEPTH:
                raise Malformed("nested deeper than %d" % MAX_DEPTH)
        elif byte == 93 or byte == 125:  # ] }
            depth -= 1


def _loads(payload):
    # The device decodes straight out of its link's receive buffer (a
    # memoryview, no copy); MicroPython's json takes one, CPython's does not.
    try:
        return json.loads(payload)
    except TypeError:
        return json.loads(bytes(payload))


def sign(key, fields, mac=hmac_sha256.digest):
    """Encode `fields` (a tuple in spec(kind) order) and append its signature.

    `mac(key, message, tail=b"")` computes HMAC-SHA256; the host may pass a
    faster one built on CPython's hmac module (see decode)."""
    _check_shape(list(fields))
    # One buffer, one copy at the end: on the device each `+` of bytes was
    # another ~200-byte allocation, at the moment a press is recorded.
    out = bytearray()
    canonical.encode(fields, out)
    signature = binascii.hexlify(mac(key, out))
    out[-1] = 44  # the closing "]" becomes ',"<signature>"]'
    out.append(34)
    out.extend(signature)
    out.extend(b'"]')
    return bytes(out)


def decode(
    payload, keys, device=None, max_size=MAX_DEVICE_MESSAGE, canonical_only=True, mac=hmac_sha256.digest
):
    """Check a wire message and return its fields as a list (no signature).

    `keys` is a sequence of acceptable keys (two during a rotation overlap).
    `device`, when given, is the device id the topic names. Raises a
    ProtocolError subclass saying why the message is refused.

    `canonical_only` refuses any byte form but the canonical one, so one
    rating has exactly one wire form (the host relies on that to tell a
    resend from a replay). The device passes False for host messages: the
    signature already pins their bytes, and re-encoding a 4 KB session
    message would not fit beside the UI in a 100 KB heap.

    `mac(key, message, tail)` computes HMAC-SHA256 of message + tail; the
    default is protocol.hmac_sha256.digest (pure hashlib, for MicroPython).
    The host passes one built on CPython's hmac module, which is faster.
    """
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise Malformed("payload is not bytes")
    size = len(payload)
    if size > max_size:
        raise Oversized("%d bytes, limit %d" % (size, max_size))
    if size < _SIG_TAIL + 2 or payload[-2:] != b'"]':
        raise Malformed("no signature")
    if payload[size - _SIG_TAIL : size - _SIG_TAIL + 2] != b',"':
        raise Malformed("no signature")
    _check_bytes(payload)
    hex_mac = bytes(payload[size - _SIG_TAIL + 2 : size - 2])
    try:
        fields = _loads(payload)  # the signature is the last element
        signature = binascii.unhexlify(hex_mac)
    except ValueError:
        raise Malformed("body is not JSON")
    if binascii.hexlify(signature) != hex_mac:
        raise Malformed("signature is not lowercase hex")
    if isinstance(fields, list) and fields:
        fields.pop()
    _check_shape(fields)
    body = memoryview(payload)[: size - _SIG_TAIL]  # the signed bytes, less the closing "]"
    if canonical_only:
        try:
            canonical_body = canonical.encode(fields)
        except ValueError:  # a float or an object somewhere inside a list
            raise Malformed("value that has no canonical form")
        if canonical_body[:-1] != body or canonical_body[-1:] != b"]":
            raise Malformed("not in canonical form")
    if device is not None and fields[2] != device:
        raise WrongDevice("payload names %s, topic names %s" % (fields[2], device))
    for key in keys:
        if hmac_sha256.equal(mac(key, body, b"]"), signature):
            break
    else:
        raise BadSignature("signature does not match the device key")
    _check_values(fields)
    return fields
