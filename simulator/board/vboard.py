# The virtual board's state, shared by the `machine` and `network` shims.
#
# Runs on MicroPython. Button levels change on commands read without
# blocking from a control stream ("press N", N = 1..5 from the left); SPI
# bytes go to a sink (the panel stream the host side decodes into pixels).
import select
import time

from micropython import const

BUTTON_PINS = (32, 33, 25, 26, 27)  # as wired in firmware/main.py
_DC_PIN = const(2)
_CS_PIN = const(5)
_PRESS_MS = const(120)  # how long a virtual finger holds a button down
_POLL_EVERY_MS = const(5)

levels = {}  # pin -> level driven by the board (inputs) or the firmware (outputs)
_release_at = {}  # pin -> ticks when the virtual finger lets go
_control = None
_poller = None
_last_poll = 0
_line = b""
spi_sink = None  # the file the panel's SPI records go to (record_panel), or None
wifi_up = True
commands = []  # control lines the board did not handle itself, for tests
fault = False  # set by a "fault" control line: service() raises once
reset_kind = None  # "hard" once machine.reset() was called
_events = None  # where the console tells the supervisor what happens (a pipe)


def record_panel(where):
    """Send the panel's SPI stream to a file path or an open file descriptor,
    in simulator/board/spi_recorder.py's record format (written here, not by
    that module: the recorder must cost the device as little heap as the
    real bus, which is C code)."""
    global spi_sink
    spi_sink = open(where, "wb")


_head = bytearray(3)


def spi_write(buf):
    """One SPI write as one record: D/C level, 2-byte length, the bytes.
    Bytes sent while CS is high are not for the panel."""
    if spi_sink is None or levels.get(_CS_PIN, 0):
        return
    view = memoryview(buf)
    start = 0
    size = len(view)
    while start < size:
        n = min(size - start, 65535)
        _head[0] = 1 if levels.get(_DC_PIN, 0) else 0
        _head[1] = n >> 8
        _head[2] = n & 0xFF
        spi_sink.write(_head)
        spi_sink.write(view[start : start + n] if start or n < size else buf)
        start += n


def attach_events(stream):
    global _events
    _events = stream


def event(word):
    """Tell the supervisor: ready, firmware, repl, reset soft|raw|hard."""
    if _events is not None:
        _events.write(word.encode() + b"\n")


def hard_reset():
    """machine.reset(): the process ends and the supervisor powers the board up again."""
    global reset_kind
    reset_kind = "hard"
    raise SystemExit(12)


def attach_control(stream):
    global _control, _poller
    _control = stream
    _poller = select.poll()
    _poller.register(stream, select.POLLIN)


def press(button):
    pin = BUTTON_PINS[button - 1]
    levels[pin] = 0  # active low
    _release_at[pin] = time.ticks_add(time.ticks_ms(), _PRESS_MS)


def _handle(line):
    global fault
    words = line.split()
    if len(words) == 2 and words[0] == "press" and words[1] in ("1", "2", "3", "4", "5"):
        press(int(words[1]))
    elif words == ["fault"]:
        fault = True  # the next button read fails, as a board out of memory would
    elif words:
        commands.append(line)


def _read_control():
    global _line
    while _poller.poll(0):
        chunk = _control.read(1)
        if not chunk:
            _poller.unregister(_control)
            return
        if isinstance(chunk, str):
            chunk = chunk.encode()
        if chunk == b"\n":
            _handle(_line.decode())
            _line = b""
        else:
            _line += chunk


def service():
    """Called on every input read: releases buttons and reads control input.
    After a "fault" control line, the next call raises MemoryError once
    (tests of the firmware's recovery: firmware/main.py)."""
    global _last_poll, fault
    if fault:
        fault = False
        raise MemoryError("fault injected by the virtual board")
    now = time.ticks_ms()
    for pin in list(_release_at):
        if time.ticks_diff(now, _release_at[pin]) >= 0:
            levels[pin] = 1
            del _release_at[pin]
    if _control is not None and time.ticks_diff(now, _last_poll) >= _POLL_EVERY_MS:
        _last_poll = now
        _read_control()
