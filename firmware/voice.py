# Voice prompts (语音邀请, 000 二(一)): IMA ADPCM clips on flash, which
# hostd renders and provisions (hostd/devices/voice.py), played through the
# I2S amplifier a chunk per turn of the UI loop.
#
# The loop never waits on the speaker. The I2S runs in its non-blocking mode:
# write() hands a chunk over and returns, and the I2S's callback only marks it
# taken; the next turn decodes the next chunk. The buttons are polled on every
# turn all the same, so playback never holds a press back.
#
# Names are few on purpose (README, "Device heap"): each new one is an entry
# in the device's qstr pool, so attributes reuse names MicroPython has.
import builtins

from protocol import adpcm
from protocol.compat import const

_CHUNK = const(128)  # clip bytes a turn: 256 samples, 32 ms at 8 kHz
_HEADER = const(12)  # protocol/adpcm.py's clip header: its magic, then the counts
_MAGIC = const(b"IMA1")
_I2S_ID = const(0)
_RATE = const(8000)  # the clips' (hostd/devices/voice.py)


def open(I2S, pins, level):  # noqa: A001 - voice.open(): a name MicroPython has
    """The Voice on the board's I2S amplifier. firmware/main.py hands over
    machine.I2S (None: the board has none, and the Voice is silent) and the
    (BCLK, LRCLK, DIN) pins: the wiring stays there, while the I2S set-up,
    whose names would cost every device qstrs, loads only with this module."""
    try:
        out = I2S(
            _I2S_ID,
            sck=pins[0],
            ws=pins[1],
            sd=pins[2],
            mode=I2S.TX,
            bits=16,
            format=I2S.MONO,
            rate=_RATE,
            ibuf=4096,
        )
    except (TypeError, OSError, ValueError) as e:  # TypeError: I2S is None
        print("voice: no I2S (%s)" % e)
        out = None
    return Voice(out, level)


class Voice:
    def __init__(self, out, level):
        """`out`: a machine.I2S for 16-bit mono at the clips' rate, or None (no
        speaker, or the voice turned off: play() does nothing). `level` 1-5,
        the volume: each step down halves the amplitude."""
        self.out = out
        self.scale = 5 - level  # samples are divided by 2**scale
        self.file = None  # the clip playing
        self.state = [0, 0]  # the decoder's [predictor, index]
        self.buf = bytearray(4 * _CHUNK)  # 16-bit samples for the I2S
        # The clip's bytes are read into the buffer's last quarter and decoded
        # in place from its start, so no second buffer is needed: code byte i
        # waits at 3 * _CHUNK + i, and is read before its samples go to
        # [4i, 4i + 4); the samples before it end at 4i - 1, below it for
        # every i < _CHUNK.
        self.src = memoryview(self.buf)[3 * _CHUNK :]
        self.ready = True  # the I2S has taken the last chunk
        if out is not None:
            out.irq(self)  # the I2S calls the Voice when it has taken a chunk

    def __call__(self, _):
        self.ready = True

    def start(self, index):
        """Start clip `index` (hostd/devices/voice.py lists them), stopping the
        one playing. A missing or damaged clip stays silent."""
        self.stop()
        if self.out is None:
            return
        try:
            f = builtins.open("voice" + str(index), "rb")  # voice0 ... voice4
        except OSError:
            return
        if f.read(_HEADER)[:4] != _MAGIC:
            f.close()
            return
        self.file = f
        self.state[0] = self.state[1] = 0

    def stop(self):
        if self.file is not None:
            self.file.close()
            self.file = None

    def tick(self):
        """Hand the I2S its next chunk once it has taken the last one."""
        f = self.file
        if f is None or not self.ready:
            return
        n = f.readinto(self.src)
        if not n:
            self.stop()
            return
        size = adpcm.decode(self.src, n, self.buf, self.state, self.scale)
        self.ready = False
        self.out.write(self.buf if size == len(self.buf) else memoryview(self.buf)[:size])
