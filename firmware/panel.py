# Driver for a 320x240 colour TFT (ST7789 or ILI9341) on a 4-wire SPI bus.
#
# The bus and pins are passed in (machine.SPI / machine.Pin on the board,
# simulator.board.spi_recorder in tests). `Panel` holds the drawing logic;
# a subclass only knows how to send a command byte and data bytes.
#
# There is no framebuffer: 320x240 RGB565 is 150 KB and the heap is 100 KB.
# Every primitive opens a window on the panel's own RAM (CASET/RASET), starts
# a memory write (RAMWR) and streams pixels from a small buffer. Pixels are
# RGB565 sent high byte first (COLMOD 0x55).
import time

import framebuf

from protocol.compat import const

_SWRESET = const(0x01)  # software reset
_SLPOUT = const(0x11)  # sleep out
_NORON = const(0x13)  # normal display mode on
_INVON = const(0x21)  # display inversion on (ST7789 IPS panels need it)
_DISPON = const(0x29)  # display on
_CASET = const(0x2A)  # column address set: x0, x1 as big-endian 16-bit
_RASET = const(0x2B)  # row address set: y0, y1 as big-endian 16-bit
_RAMWR = const(0x2C)  # memory write: pixel data follows
_MADCTL = const(0x36)  # memory data access control (rotation, RGB/BGR)
_COLMOD = const(0x3A)  # interface pixel format

_CHUNK = const(640)  # bytes of pixels built and sent at a time: one 320-pixel row


def rgb565(r, g, b):
    """A colour as the panel's 16-bit value."""
    return ((r & 0xF8) << 8) | ((g & 0xFC) << 3) | (b >> 3)


class Panel:
    # The bring-up, as bytes: a table of tuples would be ~1 KB of heap on
    # the device, bytes stay in ROM. Per command: the command, the number of
    # data bytes, the data, the delay after it in ms (one byte). A generic
    # MIPI DCS bring-up; subclasses give the table their controller needs.
    INIT = (
        b"\x01\x00\x96"  # SWRESET, 150 ms
        b"\x11\x00\x78"  # SLPOUT, 120 ms
        b"\x3a\x01\x55\x00"  # COLMOD: 16 bits per pixel
        b"\x36\x01\x60\x00"  # MADCTL: MX | MV, landscape
        b"\x29\x00\x0a"
    )  # DISPON, 10 ms

    def __init__(self, width, height, sleep_ms=None):
        self.width = width
        self.height = height
        self.sleep_ms = sleep_ms or time.sleep_ms
        self._window = bytearray(4)
        self._buf = bytearray(_CHUNK)  # the one pixel buffer every primitive streams from
        self._view = memoryview(self._buf)
        self._palette = framebuf.FrameBuffer(bytearray(4), 2, 1, framebuf.RGB565)

    def write_cmd(self, cmd):
        raise NotImplementedError

    def write_data(self, buf):
        raise NotImplementedError

    def init_display(self):
        init = self.INIT
        i = 0
        while i < len(init):
            n = init[i + 1]
            self.write_cmd(init[i])
            if n:
                self.write_data(init[i + 2 : i + 2 + n])
            if init[i + 2 + n]:
                self.sleep_ms(init[i + 2 + n])
            i += n + 3

    def _set_window(self, x, y, w, h):
        buf = self._window
        x1 = x + w - 1
        y1 = y + h - 1
        buf[0] = x >> 8
        buf[1] = x & 0xFF
        buf[2] = x1 >> 8
        buf[3] = x1 & 0xFF
        self.write_cmd(_CASET)
        self.write_data(buf)
        buf[0] = y >> 8
        buf[1] = y & 0xFF
        buf[2] = y1 >> 8
        buf[3] = y1 & 0xFF
        self.write_cmd(_RASET)
        self.write_data(buf)
        self.write_cmd(_RAMWR)

    def fill_rect(self, x, y, w, h, color):
        if x < 0:
            w += x
            x = 0
        if y < 0:
            h += y
            y = 0
        w = min(w, self.width - x)
        h = min(h, self.height - y)
        if w <= 0 or h <= 0:
            return
        self._set_window(x, y, w, h)
        total = w * h * 2
        size = min(total, _CHUNK)
        # framebuf stores RGB565 in memory order; the panel wants high byte first.
        framebuf.FrameBuffer(self._buf, size >> 1, 1, framebuf.RGB565).fill(_swap(color))
        block = self._view[:size]
        while total >= size:
            self.write_data(block)
            total -= size
        if total:
            self.write_data(block[:total])

    def fill(self, color):
        self.fill_rect(0, 0, self.width, self.height, color)

    def blit_mono(self, buf, x, y, w, h, fg, bg, stride=None):
        """Draw a MONO_HLSB bitmap (bit 7 = leftmost pixel): 1 -> fg, 0 -> bg.

        `stride` is the source's bytes per row when only the left `w` columns
        of a wider bitmap are drawn. Parts off the screen are clipped. The
        expansion to RGB565 is framebuf's palette blit (C), a chunk of rows
        at a time into the panel's one small buffer.
        """
        if stride is None:
            stride = (w + 7) >> 3
        if x < 0 or y < 0:
            return  # layout code never places a bitmap off the top or left
        w = min(w, self.width - x)
        h_src = min(h, len(buf) // stride)
        h = min(h, self.height - y, h_src)
        if w <= 0 or h <= 0:
            return
        if isinstance(buf, bytes):
            buf = bytearray(buf)  # framebuf wants a writable buffer
        source = framebuf.FrameBuffer(buf, stride * 8, h_src, framebuf.MONO_HLSB)
        palette = self._palette
        palette.pixel(0, 0, _swap(bg))
        palette.pixel(1, 0, _swap(fg))
        rows = max(1, _CHUNK // (w * 2))
        if rows * w * 2 > _CHUNK:
            return  # wider than the chunk buffer: never on a 320-pixel panel
        rows = min(rows, h)
        chunk = framebuf.FrameBuffer(self._buf, w, rows, framebuf.RGB565)
        block = self._view[: w * rows * 2]
        self._set_window(x, y, w, h)
        row = 0
        while row < h:
            chunk.blit(source, 0, -row, -1, palette)
            n = h - row
            self.write_data(block if n >= rows else block[: w * n * 2])
            row += rows


def _swap(color):
    return ((color & 0xFF) << 8) | (color >> 8)


class ST7789(Panel):
    """ST7789 in landscape, 320x240, RGB565."""

    INIT = (
        b"\x01\x00\x96"  # SWRESET, 150 ms
        b"\x11\x00\x0a"  # SLPOUT, 10 ms
        b"\x3a\x01\x55\x00"  # COLMOD: 16 bits per pixel on the interface and in RAM
        b"\x36\x01\x60\x00"  # MADCTL: MX | MV, landscape, RGB order
        b"\x21\x00\x00"  # INVON (ST7789 IPS panels need it)
        b"\x13\x00\x00"  # NORON
        b"\x29\x00\x0a"
    )  # DISPON, 10 ms

    def __init__(self, spi, dc, cs=None, rst=None, width=320, height=240, sleep_ms=None):
        self.spi = spi
        self.dc = dc
        self.cs = cs
        self.rst = rst
        self._cmd = bytearray(1)
        super().__init__(width, height, sleep_ms)
        if cs is not None:
            cs.value(1)
        if rst is not None:
            rst.value(1)
            self.sleep_ms(1)
            rst.value(0)  # hardware reset pulse
            self.sleep_ms(10)
            rst.value(1)
            self.sleep_ms(120)
        self.init_display()

    def write_cmd(self, cmd):
        self._cmd[0] = cmd
        self.dc.value(0)  # D/C low: command
        if self.cs is not None:
            self.cs.value(0)
        self.spi.write(self._cmd)
        if self.cs is not None:
            self.cs.value(1)

    def write_data(self, buf):
        self.dc.value(1)  # D/C high: data
        if self.cs is not None:
            self.cs.value(0)
        self.spi.write(buf)
        if self.cs is not None:
            self.cs.value(1)


class ILI9341(ST7789):
    """ILI9341 in landscape, 320x240, RGB565 (same bus protocol)."""

    INIT = (
        b"\x01\x00\x96"  # SWRESET, 150 ms
        b"\x11\x00\x78"  # SLPOUT, 120 ms
        b"\x3a\x01\x55\x00"  # COLMOD: 16 bits per pixel
        b"\x36\x01\x28\x00"  # MADCTL: MV | BGR, landscape; ILI9341 panels are BGR
        b"\x13\x00\x00"  # NORON
        b"\x29\x00\x0a"
    )  # DISPON, 10 ms
