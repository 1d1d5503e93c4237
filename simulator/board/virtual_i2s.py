# machine.I2S for the virtual board (simulator/board/machine.py loads it on
# first use, with the voice): an I2S amplifier that plays into a WAV file.
import os
import struct


class I2S:
    """The I2S amplifier: what the firmware writes goes into a WAV file
    (VBOARD_AUDIO, set by the supervisor; its header is kept whole after
    every write, so the file can be read at any time). The ESP32 port's
    non-blocking mode: the irq handler runs when a write has been taken, here
    at once (the virtual speaker never falls behind). Few names: see vboard."""

    TX = 5  # the ESP32 port's value
    MONO = 0

    def __init__(self, id, sck=None, ws=None, sd=None, mode=5, bits=16, format=0, rate=8000, ibuf=4096):
        where = os.getenv("VBOARD_AUDIO")
        # [file or None, bytes written, rate, the irq handler]
        self.s = [open(where, "wb") if where else None, 0, rate, None]
        self.write(b"")

    def irq(self, handler):
        self.s[3] = handler

    def write(self, buf):
        s = self.s
        f = s[0]
        if f is not None:
            f.seek(44 + s[1])
            f.write(buf)
            s[1] += len(buf)
            f.seek(0)  # the RIFF and data sizes, kept right
            f.write(struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + s[1], b"WAVE", b"fmt ", 16, 1, 1,
                                s[2], 2 * s[2], 2, 16, b"data", s[1]))  # fmt: skip
            f.flush()
        if s[3] is not None and buf:
            s[3](self)
        return len(buf)
