# `machine` for the virtual board: the parts of MicroPython's module the firmware uses.
import time

import vboard


class Pin:
    IN = 0
    OUT = 1
    PULL_UP = 1

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        if id not in vboard.levels:
            vboard.levels[id] = 1 if pull == Pin.PULL_UP else 0
        if value is not None:
            vboard.levels[id] = value

    def value(self, level=None):
        if level is None:
            vboard.service()
            level = vboard.levels[self.id]
            held = vboard._release_at.get(self.id) if level == 0 else None
            if held is not None:  # the finger sees the firmware read its button down
                held[2] = time.ticks_ms()
                if held[1] is None:
                    held[1] = held[2]
            return level
        vboard.levels[self.id] = 1 if level else 0
        return None

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def __call__(self, level=None):
        return self.value(level)


class SPI:
    def __init__(self, id, *args, **kwargs):  # baudrate, sck, mosi ...: the bus is virtual
        self.id = id

    def write(self, data):
        vboard.spi_write(data)


def reset_cause():
    return vboard.reset_cause  # the ESP32 port's codes: 1 power-on ... 3 watchdog ... 5 soft


class WDT:
    """The hardware watchdog: once started it cannot be stopped; making it
    again sets another timeout (as on the ESP32 port). The supervisor resets
    the board when a feed is late."""

    def __init__(self, id=0, timeout=5000):
        state = vboard.state
        state[6] = timeout
        state[7] = time.ticks_ms()
        vboard.event("watchdog %d" % timeout)

    def feed(self):
        state = vboard.state
        now = time.ticks_ms()
        if time.ticks_diff(now, state[7]) >= state[6] // 4:
            state[7] = now
            vboard.event("feed")


def reset():
    vboard.hard_reset()


def soft_reset():
    raise SystemExit(0)


def __getattr__(name):
    # machine.I2S, from its own module on first use: a device with its voice
    # off never loads it, so its names never enter the qstr pool (vboard).
    if name == "I2S":
        # A name over 10 characters in a string is not interned: the module's
        # name costs the pool nothing until the voice loads it.
        return __import__("virtual_i2s").I2S
    raise AttributeError(name)
