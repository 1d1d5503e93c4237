# A virtual SPI bus and pins that record what a display driver sends.
#
# Runs on MicroPython (and CPython). Each SPI write becomes one record in a
# byte stream that simulator/panel_decode.py turns back into a picture:
#
#     record = dc (1 byte: 0 command, 1 data)
#            + length (2 bytes, big-endian, 1..65535)
#            + that many bytes as written on MOSI
#
# Writes longer than 65535 bytes are split into several records. The stream
# has no header, so records can go to a file, a pipe or a socket as they come.


class DummyPin:
    """An output or input pin: `pin.value()`, `pin.value(v)`, `pin(v)`."""

    def __init__(self, value=0):
        self._value = value

    def value(self, v=None):
        if v is None:
            return self._value
        self._value = 1 if v else 0

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self._value = 1

    def off(self):
        self._value = 0


class RecordingSPI:
    """`spi.write(buf)` appends a record to `stream`, tagged with the D/C pin.

    `stream` is anything with write(bytes) (an open file in "wb" mode).
    `cs`, when given, is honoured: bytes sent while it is high are not for us.
    """

    def __init__(self, stream, dc, cs=None):
        self.stream = stream
        self.dc = dc
        self.cs = cs
        self._head = bytearray(3)
        self.records = 0
        self.bytes = 0

    def write(self, buf):
        if self.cs is not None and self.cs.value():
            return
        view = memoryview(buf)
        start = 0
        size = len(view)
        while start < size:
            n = min(size - start, 65535)
            head = self._head
            head[0] = 1 if self.dc.value() else 0
            head[1] = n >> 8
            head[2] = n & 0xFF
            self.stream.write(head)
            self.stream.write(view[start : start + n])
            start += n
            self.records += 1
        self.bytes += size

    def init(self, *args, **kwargs):
        pass

    def deinit(self):
        pass


def open_panel_bus(path):
    """A recording SPI bus writing to the file at `path`, with its D/C and CS pins."""
    dc = DummyPin()
    cs = DummyPin(1)
    stream = open(path, "wb")
    return RecordingSPI(stream, dc, cs), dc, cs
