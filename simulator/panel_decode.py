"""Turn the SPI stream a TFT driver sends back into the picture on its panel.

Runs on the host (CPython + Pillow). The stream is the record format written
by simulator/board/spi_recorder.py: 1 byte D/C (0 command, 1 data), 2 bytes
big-endian length, then the bytes. The decoder plays the panel controller's
part for the commands firmware/panel.py uses:

    CASET 0x2A  column window x0..x1 (two big-endian 16-bit values)
    RASET 0x2B  row window y0..y1
    RAMWR 0x2C  RGB565 pixels (high byte first) fill the window row by row

It assumes the driver's landscape setup (MADCTL MX|MV), so x and y are screen
coordinates. Other commands are counted in `commands` and otherwise ignored.

Usage: python -m simulator.panel_decode stream.spi screen.png
"""

import struct
import sys

from PIL import Image

CASET = 0x2A
RASET = 0x2B
RAMWR = 0x2C


def records(data):
    """Yield (dc, bytes) for each complete record in `data`."""
    pos = 0
    size = len(data)
    while pos + 3 <= size:
        dc = data[pos]
        (length,) = struct.unpack_from(">H", data, pos + 1)
        if pos + 3 + length > size:
            break
        yield dc, bytes(data[pos + 3 : pos + 3 + length])
        pos += 3 + length


class PanelDecoder:
    def __init__(self, width=320, height=240):
        self.width = width
        self.height = height
        self.pixels = bytearray(width * height * 2)  # RGB565, big-endian
        self.commands = {}  # command byte -> how many times it was sent
        self.pixels_written = 0
        self._cmd = None
        self._params = bytearray()
        self._x0 = self._x1 = self._y0 = self._y1 = 0
        self._x = self._y = 0
        self._odd = None  # a pixel's high byte waiting for its low byte
        self._pending = bytearray()  # a partial record from feed_stream

    def feed_stream(self, chunk):
        """Feed raw stream bytes as they arrive (records may be split)."""
        self._pending.extend(chunk)
        used = 0
        for dc, data in records(self._pending):
            self.feed(dc, data)
            used += 3 + len(data)
        del self._pending[:used]

    def feed(self, dc, data):
        if not dc:
            for cmd in data:
                self._command(cmd)
            return
        if self._cmd == RAMWR:
            self._write_pixels(data)
        elif self._cmd in (CASET, RASET):
            self._params.extend(data)
            if len(self._params) >= 4:
                a, b = struct.unpack_from(">HH", self._params)
                if self._cmd == CASET:
                    self._x0, self._x1 = a, b
                else:
                    self._y0, self._y1 = a, b

    def _command(self, cmd):
        self.commands[cmd] = self.commands.get(cmd, 0) + 1
        self._cmd = cmd
        self._params = bytearray()
        self._odd = None
        if cmd == RAMWR:
            self._x, self._y = self._x0, self._y0

    def _write_pixels(self, data):
        if self._odd is not None:
            data = bytes([self._odd]) + data
            self._odd = None
        if len(data) & 1:
            self._odd = data[-1]
            data = data[:-1]
        pos = 0
        n = len(data)
        width = self.width
        while pos < n:
            # Copy the rest of the current window row in one slice.
            run = min(self._x1 - self._x + 1, (n - pos) // 2)
            if run <= 0:
                break
            if self._y < self.height and self._x < width:
                visible = min(run, width - self._x)
                at = (self._y * width + self._x) * 2
                self.pixels[at : at + visible * 2] = data[pos : pos + visible * 2]
            self.pixels_written += run
            pos += run * 2
            self._x += run
            if self._x > self._x1:
                self._x = self._x0
                self._y += 1
                if self._y > self._y1:
                    self._y = self._y0

    def rgb(self, x, y):
        """The (r, g, b) of one pixel, each 0..255."""
        at = (y * self.width + x) * 2
        v = (self.pixels[at] << 8) | self.pixels[at + 1]
        return rgb565_to_rgb(v)

    def raw(self, x, y):
        at = (y * self.width + x) * 2
        return (self.pixels[at] << 8) | self.pixels[at + 1]

    def image(self):
        out = bytearray(self.width * self.height * 3)
        px = self.pixels
        for i in range(self.width * self.height):
            v = (px[2 * i] << 8) | px[2 * i + 1]
            r, g, b = rgb565_to_rgb(v)
            out[3 * i] = r
            out[3 * i + 1] = g
            out[3 * i + 2] = b
        return Image.frombytes("RGB", (self.width, self.height), bytes(out))


def rgb565_to_rgb(v):
    r = (v >> 11) & 0x1F
    g = (v >> 5) & 0x3F
    b = v & 0x1F
    return (r * 255 + 15) // 31, (g * 255 + 31) // 63, (b * 255 + 15) // 31


def decode(data, width=320, height=240):
    """A PanelDecoder holding the picture the whole stream `data` draws."""
    panel = PanelDecoder(width, height)
    for dc, chunk in records(data):
        panel.feed(dc, chunk)
    return panel


def decode_file(path, width=320, height=240):
    with open(path, "rb") as f:
        return decode(f.read(), width, height)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m simulator.panel_decode STREAM.spi SCREEN.png", file=sys.stderr)
        return 2
    try:
        panel = decode_file(argv[0])
    except OSError as exc:
        print(f"cannot read {argv[0]}: {exc.strerror}; is the path right?", file=sys.stderr)
        return 1
    panel.image().save(argv[1])
    print(argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
