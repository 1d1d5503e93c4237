# The virtual board's state, shared by the `machine` and `network` shims.
#
# Runs on MicroPython. Button levels change on commands read without
# blocking from a control stream ("press N", N = 1..5 from the left); SPI
# bytes go to a sink (the panel stream the host side decodes into pixels).
import os
import select
import time

from micropython import const

BUTTON_PINS = (32, 33, 25, 26, 27)  # as wired in firmware/main.py
_DC_PIN = const(2)
_CS_PIN = const(5)
_PRESS_MS = const(120)  # how long a virtual finger holds a button down, at least
_SEEN_MS = const(40)  # ... and until the firmware has read it down twice this far apart
_GIVE_UP_MS = const(9000)  # a firmware that reads no button (stopped, hung): let go anyway
_POLL_EVERY_MS = const(5)

levels = {}  # pin -> level driven by the board (inputs) or the firmware (outputs)
# pin -> [ticks when the finger may let go, ticks of the firmware's first and
# last read of it down (None until read)]. A finger holds a button until the
# firmware has seen it (two reads past the debounce), as a person does: a
# press is never lost to a loop that ran late on a loaded machine.
_release_at = {}
_control = None
_poller = None
_last_poll = 0
_line = b""
spi_sink = None  # the file the panel's SPI records go to (record_panel), or None
commands = []  # control lines the board did not handle itself, for tests
fault = False  # set by a "fault" control line: service() raises once
reset_kind = None  # "hard" once machine.reset() was called
_events = None  # where the console tells the supervisor what happens (a pipe)

# Few names here: on an ESP32 these are C, their names in ROM, but here every
# global and attribute is an entry in the same qstr pool as the firmware's
# (bench/firmware.py counts it). So state sits in lists, read by index.

# machine.reset_cause()'s code for this boot, as the supervisor powered us up.
reset_cause = int(os.getenv("VBOARD_RESET") or "1")

# `state`, by index:
# 0-5  the hall's access point and this board's station (network.WLAN): the
#      station's status (the ESP32 port's codes), status polls left until a
#      join settles, the password the join used, whether the AP is up, the
#      AP's password (None: any), joins started. The supervisor sets the AP at
#      power-on (VBOARD_WIFI_AP "up"/"down", VBOARD_WIFI_PASSWORD); control
#      lines "wifi up", "wifi down", "wifi password P" ("-": any) change it. A
#      join takes 30 of the station's own status polls (network.py): virtual
#      time that passes only while the firmware keeps polling, so a firmware
#      that waited for Wi-Fi without running its loop would never join.
# 6-7  the watchdog (machine.WDT): timeout in ms (0: not started), ticks of
#      the last feed told. The supervisor keeps the time and resets the board
#      when a feed is late; a feed is told at most every quarter timeout.
# 8    the station's status polls so far: the board's virtual time (one poll a
#      turn of the firmware's loop, ~10 ms), told to the supervisor every 500.
# 9    SPI writes to the panel so far (a screen drawn is many), told with the
#      first Wi-Fi join: the screen must come before any network step.
state = [
    1000,
    0,
    None,
    (os.getenv("VBOARD_WIFI_AP") or "up") == "up",
    os.getenv("VBOARD_WIFI_PASSWORD"),
    0,
    0,
    0,
    0,
    0,
]


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
    if levels.get(_CS_PIN, 0):
        return
    state[9] += 1
    if spi_sink is None:
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


def press(button, limit=_PRESS_MS):
    """Hold the button down for `limit` ms at least."""
    pin = BUTTON_PINS[button - 1]
    levels[pin] = 0  # active low
    _release_at[pin] = [time.ticks_add(time.ticks_ms(), limit), None, None]


def _handle(line):
    global fault
    words = line.split()
    if 2 <= len(words) <= 3 and words[0] == "press" and words[1] in ("1", "2", "3", "4", "5"):
        press(int(words[1]), int(words[2]) if len(words) == 3 else _PRESS_MS)  # "press N [ms held]"
    elif words == ["fault"]:
        fault = True  # the next button read fails, as a board out of memory would
    elif line == "freeze":
        fault = 2  # the next button read never returns, as a hung driver's
    elif line == "wifi up" or line == "wifi down":
        state[3] = line == "wifi up"
    elif line.startswith("wifi password "):
        state[4] = None if words[2] == "-" else words[2]
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
    while fault == 2:
        time.sleep_ms(50)  # frozen: only the watchdog (or a Ctrl-C) gets the board out
    if fault:
        fault = False
        raise MemoryError("fault injected by the virtual board")
    now = time.ticks_ms()
    for pin in list(_release_at):
        held = _release_at[pin]
        late = time.ticks_diff(now, held[0])
        if late >= _GIVE_UP_MS or (
            late >= 0 and held[1] is not None and time.ticks_diff(held[2], held[1]) >= _SEEN_MS
        ):
            levels[pin] = 1
            del _release_at[pin]
    if _control is not None and time.ticks_diff(now, _last_poll) >= _POLL_EVERY_MS:
        _last_poll = now
        _read_control()
