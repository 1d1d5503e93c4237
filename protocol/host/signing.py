"""Signing on the host: HMAC-SHA256 with cached keyed states, and the ack
encoded directly (CPython only; see protocol/host/__init__.py)."""

import binascii
import hashlib

from protocol import messages


class HostMac:
    """HMAC-SHA256 for protocol.messages.decode/sign (`mac=`), on hashlib
    with the keyed inner and outer SHA-256 states cached per key (RFC 2104):
    several times faster than protocol.hmac_sha256, which MicroPython needs,
    and than copying an hmac.HMAC object (tests/test_collector.py checks it
    against hmac)."""

    def __init__(self):
        self._keyed = {}

    def __call__(self, key, message, tail=b""):
        keyed = self._keyed.get(key)
        if keyed is None:
            if len(self._keyed) > 4096:  # keys rotate; never grow without bound
                self._keyed.clear()
            block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
            keyed = self._keyed[key] = (
                hashlib.sha256(bytes(b ^ 0x36 for b in block)),
                hashlib.sha256(bytes(b ^ 0x5C for b in block)),
            )
        inner = keyed[0].copy()
        inner.update(message)
        if tail:
            inner.update(tail)
        outer = keyed[1].copy()
        outer.update(inner.digest())
        return outer.digest()


_ACK_HEAD = b'[%d,"%s",' % (messages.VERSION, messages.ACK.encode())


def ack_wire(key, device, seq, result, host_time, mac):
    """messages.sign(key, [VERSION, ACK, device, seq, result, host_time], mac),
    byte for byte, without the generic encoder: the ack is on the writer's
    hot path, and its strings need no escaping (a device id is letters,
    digits, '-' and '_', checked by topics.parse; result is a fixed word)."""
    body = b'%s"%s",%d,"%s",%d' % (_ACK_HEAD, device.encode(), seq, result.encode(), host_time)
    return body + b',"' + binascii.hexlify(mac(key, body, b"]")) + b'"]'
