# IMA ADPCM (the Interactive Multimedia Association's 4-bit code): the voice
# clips' format, decoded on the device a chunk at a time.
#
# A clip file (hostd/devices/voice.py writes them) is a 12-byte header,
#   b"IMA1" | sample count (u32 LE) | sample rate (u16 LE) | 2 bytes reserved
# then one stream of 4-bit codes, the low nibble of a byte first, that starts
# from predictor 0 and step index 0 (no block headers: a clip is played from
# its start). Each code moves the predicted sample by a step that grows and
# shrinks with the signal, so 4 bits a sample keep speech clear: 4 KB a
# second at 8 kHz, a quarter of 16-bit PCM.
from protocol.compat import const

# Private consts, as the device reads them: no names in its qstr pool.
_MAGIC = const(b"IMA1")
_HEADER = const(12)

# The standard tables (IMA Digital Audio Focus and Technical Working Groups,
# "Recommended Practices for Enhancing Digital Audio Compatibility in
# Multimedia Systems", 1992): the 89 step sizes, 7, 8, 9 ... 29794, 32767, as
# little-endian 16-bit words (tests/test_voice.py holds them written out), and
# how each code moves the step index. Bytes, not a tuple: 178 bytes the device
# reads in place, where a tuple of 89 ints is a ~730-byte object on its heap.
_STEPS = const(
    (
        b"\x07\x00\x08\x00\t\x00\n\x00\x0b\x00\x0c\x00\r\x00\x0e\x00"
        b"\x10\x00\x11\x00\x13\x00\x15\x00\x17\x00\x19\x00\x1c\x00\x1f\x00"
        b'"\x00%\x00)\x00-\x002\x007\x00<\x00B\x00'
        b"I\x00P\x00X\x00a\x00k\x00v\x00\x82\x00\x8f\x00"
        b"\x9d\x00\xad\x00\xbe\x00\xd1\x00\xe6\x00\xfd\x00\x17\x013\x01"
        b"Q\x01s\x01\x98\x01\xc1\x01\xee\x01 \x02V\x02\x92\x02"
        b"\xd4\x02\x1c\x03l\x03\xc3\x03$\x04\x8e\x04\x02\x05\x83\x05"
        b"\x10\x06\xab\x06V\x07\x12\x08\xe0\x08\xc3\t\xbd\n\xd0\x0b"
        b"\xff\x0cL\x0e\xba\x0fL\x11\x07\x13\xee\x14\x06\x17T\x19"
        b"\xdc\x1b\xa5\x1e\xb6!\x15%\xca(\xdf,[1K6"
        b"\xb9;\xb2ADH~OqW/`\xceibt"
        b"\xff\x7f"
    )
)
_MOVES = const((-1, -1, -1, -1, 2, 4, 6, 8))


def step(code, state):
    """Apply one 4-bit code to state [predictor, index]; returns the sample."""
    i = 2 * state[1]
    size = _STEPS[i] | _STEPS[i + 1] << 8
    diff = size >> 3
    if code & 4:
        diff += size
    if code & 2:
        diff += size >> 1
    if code & 1:
        diff += size >> 2
    sample = state[0] - diff if code & 8 else state[0] + diff
    if sample > 32767:
        sample = 32767
    elif sample < -32768:
        sample = -32768
    index = state[1] + _MOVES[code & 7]
    state[0] = sample
    state[1] = 0 if index < 0 else (88 if index > 88 else index)
    return sample


def decode(src, count, buf, state, scale=0):
    """Decode the first `count` bytes of `src` (two samples a byte) into `buf`
    as 16-bit little-endian samples (4 bytes a source byte), each divided by
    2**scale (the volume). `state` is [predictor, index], carried from one
    chunk to the next. Returns the bytes written to `buf`."""
    j = 0
    for i in range(count):
        byte = src[i]
        sample = step(byte & 15, state) >> scale
        buf[j] = sample & 255
        buf[j + 1] = (sample >> 8) & 255
        sample = step(byte >> 4, state) >> scale
        buf[j + 2] = sample & 255
        buf[j + 3] = (sample >> 8) & 255
        j += 4
    return j
