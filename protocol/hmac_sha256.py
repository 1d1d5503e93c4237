# HMAC-SHA256 (RFC 2104) on hashlib.sha256 alone: MicroPython has no hmac module.
import hashlib

from protocol.compat import const

_BLOCK = const(64)


def _xor(key, pad):
    out = bytearray(_BLOCK)  # the key, zero-padded, XOR pad (0x36 inner, 0x5C outer)
    for i in range(_BLOCK):
        out[i] = pad
    for i in range(len(key)):
        out[i] ^= key[i]
    return out  # hashlib takes any buffer: no bytes() copy


def digest(key, message, tail=b""):
    """HMAC-SHA256 of `message` + `tail` under `key`. Returns 32 bytes.

    `message` may be any buffer (a memoryview slice avoids a copy of a large
    payload on the device); `tail` is appended without joining the two.
    """
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    inner = hashlib.sha256(_xor(key, 0x36))
    inner.update(message)
    if tail:
        inner.update(tail)
    outer = hashlib.sha256(_xor(key, 0x5C))
    outer.update(inner.digest())
    return outer.digest()


def equal(a, b):
    """Compare two byte strings in time that depends only on their lengths."""
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0
