# Host messages that carry bitmaps (S session, I idle), checked and taken
# apart without ever holding a bitmap in the heap.
#
# protocol.messages.decode would json.loads the whole message: each part's
# base64 (2.4 KB for a 300x48 item name) becomes a str, built by growing a
# buffer 16 bytes at a time. On a 100 KB heap that fragments the free space
# until a 1.5 KB allocation fails with 12 KB free. Here, instead:
#   1. the whole message is checked in the receive buffer (size, printable
#      bytes, nesting, HMAC over the signed bytes), as messages.decode does;
#   2. only the fields before `parts` (the last field) go through json;
#   3. each part's base64 is decoded straight from the receive buffer, 256
#      characters at a time, into a file on flash (PartStore); the field list
#      gets [name, width, height, (file, offset)] entries that
#      firmware/display.py reads back a few rows at a time when it draws.
# The wire format is unchanged (protocol/README.md).
import binascii
import json

from protocol import hmac_sha256
from protocol import wire as messages
from protocol.compat import const
from protocol.errors import BadSignature, Malformed, Oversized, WrongDevice

_SIG_TAIL = const(68)  # ,"<64 hex>"]
_B64_CHUNK = const(64)  # base64 characters decoded at a time (48 bytes: small
# allocations fit the holes of a fragmented heap)
_QUOTE = const(34)
_COMMA = const(44)


def kind_of(payload):
    """The message kind letter ("S", "A", ...) from the raw bytes, or None."""
    # Byte by byte: MicroPython's memoryview does not compare equal to bytes.
    if (
        len(payload) > 6
        and payload[0] == 91
        and payload[1] == 49
        and payload[2] == _COMMA
        and payload[3] == _QUOTE
        and payload[5] == _QUOTE
    ):
        return chr(payload[4])
    return None


def verify(payload, keys, device):
    """Check an S or I message in place (`payload`: a writable memoryview,
    the link's receive buffer; it is left as it came). Returns (fields,
    start, end): the fields with `parts` as [], and where the parts list lies
    in `payload`. Raises a ProtocolError subclass as messages.decode would."""
    size = len(payload)
    if size > messages.MAX_HOST_MESSAGE:
        raise Oversized("host message of %d bytes" % size)
    if (
        size < _SIG_TAIL + 2
        or payload[size - 2] != _QUOTE
        or payload[size - 1] != 93
        or payload[size - _SIG_TAIL] != _COMMA
        or payload[size - _SIG_TAIL + 1] != _QUOTE
    ):
        raise Malformed("no signature")
    messages._check_bytes(payload)  # printable ASCII, lists at most MAX_DEPTH deep
    try:
        signature = binascii.unhexlify(payload[size - _SIG_TAIL + 2 : size - 2])
    except ValueError:
        raise Malformed("signature is not hex")
    body = memoryview(payload)[: size - _SIG_TAIL]
    for key in keys:
        if hmac_sha256.equal(hmac_sha256.digest(key, body, b"]"), signature):
            break
    else:
        raise BadSignature("signature does not match the device key")
    kind = kind_of(payload)
    if kind != messages.SESSION and kind != messages.IDLE:
        raise Malformed("not a message with parts")
    start = _last_field(payload, size - _SIG_TAIL)
    # The fields before `parts`, parsed in the buffer itself (no copy): the
    # signature is checked, so "[]]" may stand in for the parts a moment.
    saved = bytes(payload[start : start + 3])
    payload[start : start + 3] = b"[]]"
    try:
        fields = json.loads(payload[: start + 3])
    except ValueError:
        raise Malformed("body is not JSON")
    finally:
        payload[start : start + 3] = saved
    messages._check_shape(fields)
    if fields[2] != device:
        raise WrongDevice("payload names %s" % fields[2])
    if payload[start] != 91 or payload[size - _SIG_TAIL - 1] != 93:  # [ ]
        raise Malformed("parts is not a list")
    return fields, start, size - _SIG_TAIL


def _last_field(payload, end):
    """Index of the last top-level element of the JSON array payload[:end]."""
    depth = 0
    in_string = escaped = False
    last = -1
    for i in range(end):
        byte = payload[i]
        if in_string:
            if escaped:
                escaped = False
            elif byte == 92:  # backslash
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte == 91:
            depth += 1
        elif byte == 93:
            depth -= 1
        elif byte == _COMMA and depth == 1:
            last = i
    if last < 0:
        raise Malformed("no fields in the list")
    return last + 1


IDLE_BASE = const(0)  # where the idle message's bitmaps start in the parts file
SESSION_BASE = const(8192)  # and the session's (a message's parts are < 4 KB)


class PartStore:
    """The bitmaps of one message kind, in a region of one file on flash.

    The file is opened once, at boot, while the heap is whole (an open
    littlefs file takes ~300 contiguous bytes, which a fragmented heap may
    not have later) and each message rewrites its region in place: parts are
    only read for the message on screen, and after a reboot a new message
    comes before any is drawn, so a power cut mid-write loses nothing. A part
    that is not well-formed [name, w, h, base64] or decodes short is left
    out, and the display falls back to text for it."""

    def __init__(self, file, base):
        self.file = file
        self.base = base

    def store(self, payload, start, end):
        parts = []
        f = self.file
        f.seek(self.base)
        offset = self.base
        at = start + 1
        while at < end and payload[at] == 91:  # [
            part, at = _part(payload, at, end)
            if part is None:
                break
            name, w, h, b64_start, b64_end = part
            need = ((w + 7) >> 3) * h
            got = _decode_into(f, payload, b64_start, b64_end, need)
            if got >= need:
                parts.append([name, w, h, (f, offset)])
            offset += got
            if at < end and payload[at] == _COMMA:
                at += 1
        f.flush()
        return parts


def _part(payload, at, end):
    """Parse ["name",W,H,"base64"] at payload[at]; ((fields), next index) or (None, at)."""
    if payload[at + 1] != _QUOTE:
        return None, at
    i = at + 2
    while i < end and payload[i] != _QUOTE and payload[i] != 92:
        i += 1
    if i >= end or payload[i] != _QUOTE:
        return None, at
    name = bytes(payload[at + 2 : i]).decode()
    numbers = []
    i += 1
    for _ in range(2):
        if payload[i] != _COMMA:
            return None, at
        i += 1
        j = i
        while j < end and 48 <= payload[j] <= 57:
            j += 1
        if j == i or j - i > 4:
            return None, at
        numbers.append(int(bytes(payload[i:j])))
        i = j
    if payload[i] != _COMMA or payload[i + 1] != _QUOTE:
        return None, at
    b64_start = i + 2
    j = b64_start
    while j < end and payload[j] != _QUOTE:
        j += 1
    if j + 1 >= end or payload[j + 1] != 93 or not numbers[0] or not numbers[1]:
        return None, at
    return (name, numbers[0], numbers[1], b64_start, j), j + 2


def _decode_into(f, payload, start, end, need):
    """Decode base64 payload[start:end] into file f; the bytes written (at most need)."""
    view = memoryview(payload)
    written = 0
    at = start
    while at < end and written < need:
        stop = min(end, at + _B64_CHUNK)
        try:
            data = binascii.a2b_base64(view[at:stop])
        except ValueError:
            break
        if len(data) > need - written:
            data = data[: need - written]
        f.write(data)
        written += len(data)
        at = stop
    return written
