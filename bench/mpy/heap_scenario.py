# The firmware's whole path but the socket, for heap figures on any MicroPython
# port (bench/heap32.py runs it on the 64-bit unix port and the 32-bit
# WebAssembly port, byte for byte the same script and firmware).
#
# In the current directory: firmware.romfs (the firmware's ROMFS image, as
# `hostd device provision` deploys it), config.json (a provisioned device's),
# idle.wire, session.wire and ack.wire (hostd's signed messages for this
# device; the ack is for seq 1). The image is read into one bytes object and
# mounted (vfs.VfsRom) as a board mounts its ROMFS partition: the bytecode
# runs in place from it, and the figures start after it. The firmware's own
# modules do the work: boot imports in
# firmware/main.py's order, an App with its Evaluator, Display (on a panel
# whose bus costs nothing), Outbox and Buttons; only the MQTT link is a
# loopback (the WebAssembly port has no sockets). Then: the idle screen, a
# session, button 1 (非常满意), the rating published, the host's ack, the
# outbox empty. Prints one JSON line: live heap bytes (after gc.collect())
# at each step, from a start taken before anything is imported.
import binascii  # noqa: F401  the port's own modules, loaded before the start:
import gc  # WebAssembly port some are Python (json), which would count them
import hashlib  # noqa: F401  against the firmware
import json
import os
import struct  # noqa: F401
import sys
import time

import framebuf  # noqa: F401  on an ESP32 they are C and cost no heap; on the
import micropython
import vfs

_HERE = os.getcwd().strip("/")  # where the inputs are; the firmware works on /flash
with open("firmware.romfs", "rb") as _f:
    _IMAGE = _f.read()
vfs.mount(vfs.VfsRom(_IMAGE), "/rom")
sys.path.insert(0, "/rom")


class RamFile:
    """A file of RamFlash: what the firmware writes lives in one bytearray."""

    def __init__(self, data, append):
        self.data = data
        self.pos = len(data) if append else 0

    def read(self, n=-1):
        end = len(self.data) if n < 0 else min(len(self.data), self.pos + n)
        out = bytes(self.data[self.pos : end])
        self.pos = end
        return out

    def readinto(self, buf):
        n = min(len(buf), len(self.data) - self.pos)
        buf[:n] = self.data[self.pos : self.pos + n]
        self.pos += n
        return n

    def write(self, buf):
        end = self.pos + len(buf)
        if end > len(self.data):
            self.data.extend(bytes(end - len(self.data)))
        self.data[self.pos : end] = buf
        self.pos = end
        return len(buf)

    def seek(self, offset, whence=0):
        self.pos = offset if whence == 0 else (self.pos + offset if whence == 1 else len(self.data) + offset)
        return self.pos

    def tell(self):
        return self.pos

    def flush(self):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


class RamFlash:
    """The board's flash as a Python VFS in RAM, the same on every port: the
    WebAssembly port's own files keep ~100 B of heap per write, which an
    ESP32's littlefs does not. What it holds is taken off every figure."""

    def __init__(self):
        self.files = {}
        self.dirs = {""}

    def mount(self, readonly, mkfs):
        pass

    def umount(self):
        pass

    def held(self):
        return sum((len(d) + 15) // 16 * 16 for d in self.files.values())

    def open(self, path, mode):
        path = path.strip("/")
        if "w" in mode:
            self.files[path] = bytearray()
        elif path not in self.files:
            if "a" not in mode:
                raise OSError(2)
            self.files[path] = bytearray()
        return RamFile(self.files[path], "a" in mode)

    def ilistdir(self, path):
        prefix = path.strip("/")
        prefix = prefix + "/" if prefix else ""
        for name in list(self.files):
            if name.startswith(prefix) and "/" not in name[len(prefix) :]:
                yield (name[len(prefix) :], 0x8000, 0, len(self.files[name]))
        for name in list(self.dirs):
            if name and name.startswith(prefix) and "/" not in name[len(prefix) :]:
                yield (name[len(prefix) :], 0x4000, 0, 0)

    def mkdir(self, path):
        if path.strip("/") in self.dirs:
            raise OSError(17)
        self.dirs.add(path.strip("/"))

    def remove(self, path):
        del self.files[path.strip("/")]

    def rename(self, old, new):
        self.files[new.strip("/")] = self.files.pop(old.strip("/"))

    def stat(self, path):
        path = path.strip("/")
        if path in self.dirs:
            return (0x4000, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        if path in self.files:
            return (0x8000, 0, 0, 0, 0, 0, len(self.files[path]), 0, 0, 0)
        raise OSError(2)

    def statvfs(self, path):
        return (4096, 4096, 256, 200, 200, 0, 0, 0, 0, 255)

    def chdir(self, path):
        pass

    def getcwd(self):
        return ""


_FLASH = RamFlash()
vfs.mount(_FLASH, "/flash")
os.chdir("/flash")
_BASE = 0
_STEPS = {}


def start():
    global _BASE
    gc.collect()
    _BASE = gc.mem_alloc()
    micropython.mem_info()  # the heap's total at the start


def mark(name):
    gc.collect()
    _STEPS[name] = gc.mem_alloc() - _BASE - _FLASH.held()


def boot():
    for name in (
        "protocol.compat",
        "protocol.errors",
        "protocol.hmac_sha256",
        "protocol.canonical",
        "protocol.wire",
        "firmware.hostmsg",
        "firmware.app",
        "firmware.panel",
        "firmware.glyphs",
        "firmware.display",
        "firmware.outbox",
        "firmware.evaluator",
        "firmware.buttons",
        "firmware.clock",
    ):
        __import__(name)
        gc.collect()


class Pin:
    def __init__(self, level=1):
        self.level = level

    def value(self, level=None):
        if level is None:
            return self.level
        self.level = level

    def __call__(self, level=None):
        return self.value(level)

    def on(self):
        self.level = 1

    def off(self):
        self.level = 0


class Bus:
    def write(self, data):
        pass


class LoopLink:
    """firmware/link.py's interface, with the host on the other end of a list."""

    def __init__(self, host, port, client_id, **kw):
        self.on_message = kw["on_message"]
        self.on_connect = kw["on_connect"]
        self.rx = kw["rx"]
        self.connected = False
        self.refusal = 0
        self.inbox = []
        self.sent = []

    def subscribe(self, topic, qos=1):
        pass

    def publish(self, topic, payload, qos=1, retain=False):
        if not self.connected:
            return 0
        self.sent.append(topic)
        return len(self.sent)

    def set_network(self, up):
        pass

    def step(self, timeout_ms):
        if not self.connected:
            self.connected = True
            self.on_connect()
        while self.inbox:
            data = self.inbox.pop(0)
            self.rx[: len(data)] = data
            self.on_message("t", memoryview(self.rx)[: len(data)])


def read(name):
    with open("/" + _HERE + "/" + name, "rb") as f:
        return f.read()


def turn(app, link, ms=20):
    now = time.ticks_ms()
    app._ui("")
    app._sender(now)
    app._heartbeat(now)
    link.step(10)
    time.sleep_ms(ms)


_AT = {}  # what the phases share


def phase_boot():
    boot()
    from firmware import config as config_file

    _AT["cfg"] = config_file.load("/" + _HERE + "/config.json")


def phase_built():
    from firmware.app import App
    from firmware.buttons import Buttons
    from firmware.clock import Clock
    from firmware.display import Display
    from firmware.evaluator import Evaluator
    from firmware.outbox import Outbox
    from firmware.panel import ST7789

    cfg = _AT["cfg"]
    rx, tx = bytearray(4096 + 128), bytearray(1024 + 128)
    display = Display(ST7789(Bus(), Pin(), Pin(), Pin(), sleep_ms=lambda ms: None))
    pins = _AT["pins"] = [Pin() for _ in range(5)]
    ticks_ms, ticks_diff = time.ticks_ms, time.ticks_diff
    buttons = Buttons(pins, ticks_ms)
    clock = Clock(ticks_ms, 0)
    outbox = _AT["outbox"] = Outbox("outbox", 100)
    evaluator = Evaluator(cfg, display, outbox, clock, ticks_ms)
    parts = open("parts.bin", "w+b")
    _AT["app"] = App(
        cfg, evaluator, outbox, buttons, clock, ticks_ms, ticks_diff, LoopLink, None, rx, parts, tx, (1, 1)
    )


def _turns(n, until=None):
    app = _AT["app"]
    for _ in range(n):
        turn(app, app.link)
        if until is not None and until():
            return


def phase_idle():
    _AT["app"].link.inbox.append(read("idle.wire"))
    _turns(3)


def phase_session():
    _AT["app"].link.inbox.append(read("session.wire"))
    _turns(3)


def phase_press():
    app, outbox, pin = _AT["app"], _AT["outbox"], _AT["pins"][0]
    pin.level = 0  # 非常满意, held down past the debounce
    _turns(4)
    pin.level = 1
    _turns(50, lambda: outbox.depth() and app.inflight)
    _STEPS["published"] = outbox.depth()


def phase_rated():
    _AT["app"].link.inbox.append(read("ack.wire"))
    _turns(3)


PHASES = (
    ("boot", phase_boot),
    ("built", phase_built),
    ("idle", phase_idle),
    ("session", phase_session),
    ("pressed", phase_press),
    ("rated", phase_rated),
)


def report():
    _STEPS["outbox_after_ack"] = _AT["outbox"].depth()
    _STEPS["rejected"] = _AT["app"].rejected
    print(json.dumps(_STEPS))
    micropython.mem_info()  # "GC: total: N": a port whose heap grows shows it grew


# The WebAssembly port collects garbage only between top-level calls, so its
# runner (bench/wasm/run.mjs) sets STEPWISE and calls start(), each phase,
# its mark and report() one by one; any other port runs them all here.
if not globals().get("STEPWISE"):
    start()
    for _name, _phase in PHASES:
        _phase()
        mark(_name)
    report()
