# firmware/hostmsg.py on MicroPython: signed S/I messages checked and taken
# apart in their receive buffer, bitmaps to flash, then drawn.
#   micropython hostmsg_check.py FLASH.img CASES.json OUT.spi
# CASES.json: {"key": hex, "device": id, "cases": [{"name", "wire"}]} (wire as
# latin-1 text). Prints one JSON line per case: the fields (parts replaced by
# [name, w, h, sha256 of the stored bytes]) or the rejection reason. The last
# case that is an idle message is handed to the real Evaluator and Display,
# whose panel stream goes to OUT.spi.
import binascii
import hashlib
import json
import sys

import heap_margin
from blockdev import mount
from spi_recorder import DummyPin, RecordingSPI

from firmware import hostmsg
from firmware.clock import Clock
from firmware.display import Display
from firmware.evaluator import Evaluator
from firmware.outbox import Outbox
from firmware.panel import ST7789
from protocol.errors import ProtocolError

mount(sys.argv[1], "/flash", block_count=64)
with open(sys.argv[2]) as f:
    spec = json.load(f)
key = binascii.unhexlify(spec["key"])
device = spec["device"]
parts_file = open("/flash/parts.bin", "w+b")
stores = {
    "S": hostmsg.PartStore(parts_file, hostmsg.SESSION_BASE),
    "I": hostmsg.PartStore(parts_file, hostmsg.IDLE_BASE),
}
rx = bytearray(6144)
idle = None
for case in spec["cases"]:
    wire = bytes([ord(c) for c in case["wire"]])
    n = len(wire)
    rx[:n] = wire
    view = memoryview(rx)[:n]
    out = {"name": case["name"], "kind": hostmsg.kind_of(view)}
    try:
        fields, start, end = hostmsg.verify(view, (key,), device)
    except ProtocolError as e:
        out["reason"] = e.reason
        print(json.dumps(out))
        continue
    out["intact"] = bytes(view) == wire  # the buffer is left as it came
    parts = stores[fields[1]].store(view, start, end)
    digests = []
    for name, w, h, ref in parts:
        parts_file.seek(ref[1])
        data = parts_file.read(((w + 7) >> 3) * h)
        digests.append([name, w, h, binascii.hexlify(hashlib.sha256(data).digest()).decode()])
    fields[-1] = parts
    if fields[1] == "I":
        idle = fields
    shown = list(fields)
    shown[-1] = digests
    out["fields"] = shown
    print(json.dumps(out))


class Config:
    device_id = device
    window = "W01"
    key = key
    response_interval_ms = 3000
    session_ttl_s = 120
    thanks_ms = 3000


if idle is not None:
    dc = DummyPin()
    spi = RecordingSPI(open(sys.argv[3], "wb"), dc)
    display = Display(ST7789(spi, dc, sleep_ms=lambda ms: None))
    ticks = lambda: 0  # noqa: E731
    evaluator = Evaluator(Config(), display, Outbox("/flash/outbox"), Clock(ticks), ticks)
    evaluator.set_online(True)
    evaluator.on_idle(idle)
    spi.stream.close()
    print(
        json.dumps(
            {
                "screen": display.screen,
                "serving": evaluator.serving,
                "failed": display.failed,
                "missing": display.missing,
            }
        )
    )
    heap_margin.note()
heap_margin.report()
