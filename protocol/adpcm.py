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
# Multimedia Systems", 1992): 89 step sizes, and how each code moves the index.
_STEPS = const(
    (
        7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 19, 21, 23, 25, 28, 31, 34, 37, 41, 45,
        50, 55, 60, 66, 73, 80, 88, 97, 107, 118, 130, 143, 157, 173, 190, 209, 230,
        253, 279, 307, 337, 371, 408, 449, 494, 544, 598, 658, 724, 796, 876, 963,
        1060, 1166, 1282, 1411, 1552, 1707, 1878, 2066, 2272, 2499, 2749, 3024, 3327,
        3660, 4026, 4428, 4871, 5358, 5894, 6484, 7132, 7845, 8630, 9493, 10442,
        11487, 12635, 13899, 15289, 16818, 18500, 20350, 22385, 24623, 27086, 29794,
        32767,
    )
)  # fmt: skip
_MOVES = const((-1, -1, -1, -1, 2, 4, 6, 8))


def step(code, state):
    """Apply one 4-bit code to state [predictor, index]; returns the sample."""
    size = _STEPS[state[1]]
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


def is_clip(header):
    """Whether these first bytes of a file are a clip's header."""
    return len(header) == _HEADER and header[:4] == _MAGIC
