"""Tampered copies of signed messages, for the security tests."""

import os
import random

from protocol import messages


def rating(device, seq):
    return [
        messages.VERSION,
        messages.RATING,
        device,
        seq,
        "s-%d" % seq,
        1 + seq % 5,
        [1] if seq % 5 < 2 else [],
        1 + seq % 3,
        "0042",
        1795248000 + seq,
        seq % 2 == 0,
    ]


def flips(payload, rng):
    """Every byte of `payload` changed in turn (XOR with a random non-zero mask)."""
    for i in range(len(payload)):
        out = bytearray(payload)
        out[i] ^= rng.randrange(1, 256)
        yield i, bytes(out)


def truncations(payload):
    """The signature cut short: 1..64 hex digits dropped, with and without the closing '"]'."""
    for cut in range(1, 65):
        yield payload[: -2 - cut] + b'"]'
        yield payload[: -2 - cut]


def wrong_key(fields, mac):
    return messages.sign(os.urandom(32), fields, mac)


def seeded(seed):
    return random.Random(seed)
