"""The IMA ADPCM encoder for the voice clips (host only; the device decodes
with protocol/adpcm.py, whose step() this encoder runs as well, so both
sides reconstruct the very same samples), and the clip header."""

import struct

from protocol import adpcm

STEPS = struct.unpack("<89H", adpcm._STEPS)  # the standard step sizes
HEADER = adpcm._HEADER


def encode(samples):
    """16-bit samples (a sequence of ints) -> the 4-bit code stream, two codes
    a byte, the first in the low nibble; an odd count ends with code 0."""
    state = [0, 0]
    out = bytearray((len(samples) + 1) // 2)
    for i, target in enumerate(samples):
        size = STEPS[state[1]]
        delta = target - state[0]
        code = 8 if delta < 0 else 0
        delta = abs(delta)
        if delta >= size:
            code |= 4
            delta -= size
        if delta >= size >> 1:
            code |= 2
            delta -= size >> 1
        if delta >= size >> 2:
            code |= 1
        adpcm.step(code, state)  # the decoder's reconstruction: the next prediction
        out[i // 2] |= code << (4 * (i % 2))
    return bytes(out)


def clip(samples, rate):
    """A clip file: the header (protocol/adpcm.py), then the codes."""
    return adpcm._MAGIC + struct.pack("<IHH", len(samples), rate, 0) + encode(samples)


def read_header(data):
    """(sample count, rate) of a clip file; ValueError if it is not one."""
    if len(data) < HEADER or data[:4] != adpcm._MAGIC:
        raise ValueError("not an IMA1 voice clip")
    count, rate, _ = struct.unpack_from("<IHH", data, 4)
    if len(data) - HEADER < (count + 1) // 2:
        raise ValueError("clip truncated: %d samples declared" % count)
    return count, rate
