"""Write tests/vectors/messages.json, the wire vectors both runtimes check.

Deterministic: fixed keys, fixed values, no clock, no randomness. Run it
again after a deliberate protocol change and commit the result:

    .venv/bin/python tools/make_vectors.py

Expected bytes come from an encoder independent of protocol/canonical.py
(CPython's json.dumps with ensure_ascii, and the stdlib hmac); the script
refuses to write if protocol.messages.sign disagrees with it.

File format: a JSON array with one vector object per line, so CPython can
json.load it whole and MicroPython can read it line by line. `wire` holds the
message bytes as a string of code points 0-255 (latin-1; non-ASCII bytes
appear as \\u00XX escapes). Keys are hex.
"""

import binascii
import hashlib
import hmac
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from protocol import messages  # noqa: E402

OUT = ROOT / "tests" / "vectors" / "messages.json"

KEY = bytes(range(32))  # device w01-a
NEW_KEY = hashlib.sha256(b"hcp vectors: rotated key").digest()
OTHER_KEY = hashlib.sha256(b"hcp vectors: another device").digest()
DEVICE = "w01-a"
DEV_MAX = messages.MAX_DEVICE_MESSAGE
HOST_MAX = messages.MAX_HOST_MESSAGE

# A 240x32 1-bit bitmap (960 bytes) with a fixed pattern, as base64.
BITMAP = bytes(((i * 37) ^ (i >> 5)) & 0xFF for i in range(240 * 32 // 8))
BITMAP_B64 = binascii.b2a_base64(BITMAP).decode().strip()

T = 1795248000  # 2026-11-21 08:00:00 UTC

RATING_GOOD = [1, "R", DEVICE, 7, "s-123", 5, [], 1, "0042", T, True]
RATING_BAD = [1, "R", DEVICE, 8, None, 2, [1, 3], 3, None, T + 61, False]
SESSION = [
    1,
    "S",
    DEVICE,
    "s-124",
    "110101-001",
    "不动产登记（转移）𠮷",
    "u-0042",
    "张三",
    "0042",
    2,
    120,
    "https://hcp.example/r/s-124",
    T,
    [["item", 240, 32, BITMAP_B64], ["staff", 8, 1, "AA=="]],
]

VALID = [
    ("rating good", KEY, [KEY], RATING_GOOD, DEV_MAX),
    ("rating bad with reasons, no session, no staff, clock not synced", KEY, [KEY], RATING_BAD, DEV_MAX),
    (
        "rating level 1 reason other, large seq and time",
        KEY,
        [KEY],
        [1, "R", DEVICE, 2147483653, None, 1, [5], 1, "0042", 4102444800, True],
        DEV_MAX,
    ),
    (
        "rating level 3 signed by the new key during rotation overlap",
        NEW_KEY,
        [KEY, NEW_KEY],
        [1, "R", DEVICE, 9, "s-125", 3, [], 1, "0042", T + 70, True],
        DEV_MAX,
    ),
    ("ack stored", KEY, [KEY], [1, "A", DEVICE, 7, "stored", T + 1], DEV_MAX),
    ("ack duplicate", KEY, [KEY], [1, "A", DEVICE, 7, "duplicate", T + 9], DEV_MAX),
    ("session with Chinese text, a non-BMP char and a bitmap part", KEY, [KEY], SESSION, HOST_MAX),
    (
        "session with quotes and backslashes, empty parts",
        KEY,
        [KEY],
        [1, "S", DEVICE, "s-126", "X-1", 'say "hi" \\ bye', "u-1", "李四", "0007", 1, 60, "", T, []],
        HOST_MAX,
    ),
    (
        "idle paused, nobody on duty",
        KEY,
        [KEY],
        [1, "I", DEVICE, "w01", None, None, None, False, T, []],
        HOST_MAX,
    ),
    (
        "idle serving with staff",
        KEY,
        [KEY],
        [1, "I", DEVICE, "w01", "u-0042", "王五", "0042", True, T, [["staff", 64, 16, "AAAA"]]],
        HOST_MAX,
    ),
    (
        "status online heartbeat",
        KEY,
        [KEY],
        [1, "H", DEVICE, "online", "0.1.0", 0, 41200, True, 3600, 10],
        DEV_MAX,
    ),
    (
        "status offline (last will)",
        KEY,
        [KEY],
        [1, "H", DEVICE, "offline", "0.1.0", 3, 0, False, 0, 10],
        DEV_MAX,
    ),
]


def reference_body(fields):
    """Canonical body by an independent route (valid for our vectors, which
    hold no control characters: json.dumps writes \\n where we write \\u000a)."""
    return json.dumps(fields, ensure_ascii=True, separators=(",", ":")).encode()


def mac_hex(key, body):
    return hmac.new(key, body, hashlib.sha256).hexdigest().encode()


def with_sig(body, key=KEY):
    """Append the signature of `body` exactly as the spec says."""
    return body[:-1] + b',"' + mac_hex(key, body) + b'"]'


def signed(fields, key=KEY):
    return with_sig(reference_body(fields), key)


def changed(fields, index, value):
    out = list(fields)
    out[index] = value
    return out


def invalid_cases():
    good = signed(RATING_GOOD)
    body = reference_body(RATING_GOOD)
    ack = [1, "A", DEVICE, 7, "stored", T + 1]
    idle = [1, "I", DEVICE, "w01", None, None, None, False, T]
    flipped = bytearray(good)
    flipped[-10] = ord("0") if flipped[-10] != ord("0") else ord("1")
    return [
        # (name, wire, keys, topic device, max_size, reason)
        ("empty payload", b"", [KEY], DEVICE, DEV_MAX, "malformed"),
        (
            "malformed JSON under a valid signature",
            with_sig(b'[1,"R","w01-a",7,,5]'),
            [KEY],
            DEVICE,
            DEV_MAX,
            "malformed",
        ),
        ("truncated in the middle", good[:60], [KEY], DEVICE, DEV_MAX, "malformed"),
        ("body without signature", body, [KEY], DEVICE, DEV_MAX, "malformed"),
        ("signature one hex digit short", good[:-3] + b'"]', [KEY], DEVICE, DEV_MAX, "malformed"),
        (
            "signature in upper-case hex",
            good[:-66] + good[-66:-2].upper() + b'"]',
            [KEY],
            DEVICE,
            DEV_MAX,
            "malformed",
        ),
        (
            "oversized device message",
            signed(changed(RATING_GOOD, 8, "9" * 1000)),
            [KEY],
            DEVICE,
            DEV_MAX,
            "oversized",
        ),
        ("session above the device-message limit", signed(SESSION), [KEY], DEVICE, DEV_MAX, "oversized"),
        (
            "spaces after commas (signed as sent)",
            with_sig(json.dumps(RATING_GOOD).encode()),
            [KEY],
            DEVICE,
            DEV_MAX,
            "malformed",
        ),
        (
            "needless escape \\u0052 for R (signed as sent)",
            with_sig(body.replace(b'"R"', b'"\\u0052"')),
            [KEY],
            DEVICE,
            DEV_MAX,
            "malformed",
        ),
        ("one signature hex digit changed", bytes(flipped), [KEY], DEVICE, DEV_MAX, "bad_signature"),
        ("signed by another key", signed(RATING_GOOD, OTHER_KEY), [KEY], DEVICE, DEV_MAX, "bad_signature"),
        ("no key accepted (rotation finished)", good, [NEW_KEY], DEVICE, DEV_MAX, "bad_signature"),
        ("device in payload is not the topic's device", good, [KEY], "w02-b", DEV_MAX, "wrong_device"),
        ("level 0", signed(changed(RATING_GOOD, 5, 0)), [KEY], DEVICE, DEV_MAX, "level_out_of_range"),
        ("level 6", signed(changed(RATING_GOOD, 5, 6)), [KEY], DEVICE, DEV_MAX, "level_out_of_range"),
        ("seq 0", signed(changed(RATING_GOOD, 3, 0)), [KEY], DEVICE, DEV_MAX, "malformed"),
        ("unknown reason code 9", signed(changed(RATING_GOOD, 6, [9])), [KEY], DEVICE, DEV_MAX, "malformed"),
        ("unknown kind X", signed(changed(RATING_GOOD, 1, "X")), [KEY], DEVICE, DEV_MAX, "malformed"),
        (
            "protocol version 2",
            signed(changed(RATING_GOOD, 0, 2)),
            [KEY],
            DEVICE,
            DEV_MAX,
            "unsupported_version",
        ),
        (
            "protocol version as a string",
            signed(changed(ack, 0, "1")),
            [KEY],
            DEVICE,
            DEV_MAX,
            "unsupported_version",
        ),
        (
            "bool where int expected (cases)",
            signed(changed(RATING_GOOD, 7, True)),
            [KEY],
            DEVICE,
            DEV_MAX,
            "malformed",
        ),
        (
            "int where bool expected (synced)",
            signed(changed(RATING_GOOD, 10, 1)),
            [KEY],
            DEVICE,
            DEV_MAX,
            "malformed",
        ),
        ("one field missing", signed(RATING_GOOD[:-1]), [KEY], DEVICE, DEV_MAX, "malformed"),
        (
            "float inside parts",
            with_sig(reference_body(idle + [[1.5]])),
            [KEY],
            DEVICE,
            HOST_MAX,
            "malformed",
        ),
        (
            "object inside parts",
            with_sig(reference_body(idle + [[{}]])),
            [KEY],
            DEVICE,
            HOST_MAX,
            "malformed",
        ),
        (
            "lists nested too deep",
            with_sig(reference_body(idle)[:-1] + b"," + b"[" * 40 + b"]" * 41),
            [KEY],
            DEVICE,
            HOST_MAX,
            "malformed",
        ),
        (
            "raw UTF-8 instead of \\u escapes (signed as sent)",
            with_sig(body.replace(b'"0042"', '"张"'.encode())),
            [KEY],
            DEVICE,
            DEV_MAX,
            "malformed",
        ),
        (
            "invalid UTF-8 byte 0xff",
            good.replace(b'"0042"', b'"00\xff2"'),
            [KEY],
            DEVICE,
            DEV_MAX,
            "malformed",
        ),
        (
            "raw newline inside a string",
            good.replace(b'"0042"', b'"00\n2"'),
            [KEY],
            DEVICE,
            DEV_MAX,
            "malformed",
        ),
    ]


def vector_line(obj):
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":"))


def build():
    lines = []
    for name, key, keys, fields, max_size in VALID:
        wire = signed(fields, key)
        ours = messages.sign(key, fields)
        if ours != wire:
            raise SystemExit("protocol.messages.sign disagrees on %r:\n%r\n%r" % (name, ours, wire))
        lines.append(
            vector_line(
                {
                    "name": name,
                    "valid": True,
                    "key": key.hex(),
                    "keys": [k.hex() for k in keys],
                    "device": DEVICE,
                    "max_size": max_size,
                    "fields": fields,
                    "wire": wire.decode("latin-1"),
                }
            )
        )
    for name, wire, keys, device, max_size, reason in invalid_cases():
        lines.append(
            vector_line(
                {
                    "name": name,
                    "valid": False,
                    "keys": [k.hex() for k in keys],
                    "device": device,
                    "max_size": max_size,
                    "reason": reason,
                    "wire": wire.decode("latin-1"),
                }
            )
        )
    return "[\n" + ",\n".join(lines) + "\n]\n"


def main():
    text = build()
    OUT.write_text(text, encoding="ascii")
    print("%s: %d vectors, %d bytes" % (OUT.relative_to(ROOT), text.count("\n") - 2, len(text)))


if __name__ == "__main__":
    main()
