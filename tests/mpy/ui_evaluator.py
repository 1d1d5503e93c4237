# Drive the real Evaluator (real Display, panel driver, Outbox on littlefs,
# Clock) with a fake ticks_ms and print one JSON line per operation.
#
#   micropython ui_evaluator.py IMAGE CAPACITY OP [OP ...]
#
# OPs: session:ID[:TTL[:CASES]]  idle:STAFF|none[:SERVING]  press:I  wait:MS
#      online:0|1  revoke  ack  sync:UNIX  cfg:NAME:INT  dump
# wait:MS advances the fake clock by MS in 10 ms steps, calling tick() each.
import json
import sys

import heap_margin
from blockdev import mount
from spi_recorder import DummyPin, RecordingSPI

from firmware.clock import Clock
from firmware.display import Display
from firmware.evaluator import Evaluator
from firmware.outbox import Outbox
from firmware.panel import ST7789
from protocol import messages

KEY = b"0123456789abcdef0123456789abcdef"
DEVICE = "dev-w01"
RTC_TIME = 1700000000


class Config:
    device_id = DEVICE
    hall = "hall-1"
    window = "W01"
    key = KEY
    response_interval_ms = 3000
    session_ttl_s = 120
    thanks_ms = 3000


class Ticks:
    def __init__(self):
        self.now = 100000

    def __call__(self):
        return self.now


class CountingStream:
    def __init__(self):
        self.bytes = 0

    def write(self, buf):
        self.bytes += len(buf)


def emit(**kw):
    print(json.dumps(kw))


image, capacity = sys.argv[1], int(sys.argv[2])
mount(image, "/flash", block_count=64)
outbox = Outbox("/flash/outbox", capacity)
ticks = Ticks()
dc = DummyPin()
stream = CountingStream()
panel = ST7789(RecordingSPI(stream, dc), dc, sleep_ms=lambda ms: None)
display = Display(panel)
clock = Clock(ticks, 0, rtc=lambda: RTC_TIME)
config = Config()
ev = Evaluator(config, display, outbox, clock, ticks)
_show_thanks = display.show_thanks
_countdown = display.countdown
_show_reason = display.show_reason
countdowns = []  # the seconds the reason screen showed, in order


def spy_countdown(left):
    countdowns.append(left)
    _countdown(left)


def spy_reason(parts, page, left):
    emit(event="reason", page=page, left=left)
    countdowns.append(left)
    _show_reason(parts, page, left)


display.countdown = spy_countdown
display.show_reason = spy_reason


def spy_thanks(level):
    # The rating must already be on flash when "thank you" appears.
    emit(event="thanks", level=level, depth=outbox.depth(), next_seq=outbox.next_seq)
    _show_thanks(level)


display.show_thanks = spy_thanks


def records():
    out = []
    for _seq, wire in outbox.peek(1000):
        out.append(messages.decode(wire, (KEY,), DEVICE))
    return out


def run(op):
    parts = op.split(":")
    name = parts[0]
    if name == "session":
        ttl = int(parts[2]) if len(parts) > 2 and parts[2] else 0
        cases = int(parts[3]) if len(parts) > 3 else 1
        ev.on_session(
            [
                1,
                "S",
                DEVICE,
                parts[1],
                "ITEM-001",
                "",
                "staff-42",
                "",
                "0042",
                cases,
                ttl,
                "https://q/" + parts[1],
                1795248000,
                [],
            ]
        )
    elif name == "idle":
        staff = None if parts[1] == "none" else parts[1]
        serving = parts[2] == "1" if len(parts) > 2 else staff is not None
        ev.on_idle([1, "I", DEVICE, "W01", staff, None, staff and "0099", serving, 1795248000, []])
    elif name == "press":
        before = stream.bytes
        did = ev.press(int(parts[1]))
        emit(
            op=op,
            did=did,
            state=ev.state,
            screen=display.screen,
            depth=outbox.depth(),
            drew=stream.bytes != before,
        )
        return
    elif name == "wait":
        end = ticks.now + int(parts[1])
        while ticks.now < end:
            ticks.now += 10
            ev.tick()
    elif name == "online":
        ev.set_online(parts[1] == "1")
    elif name == "revoke":
        ev.set_revoked()
    elif name == "unrevoke":
        ev.set_revoked(False)
    elif name == "ack":
        for seq, _ in outbox.peek(1000):
            outbox.ack(seq)
        ev.outbox_changed()
    elif name == "sync":
        clock.sync(int(parts[1]))
    elif name == "cfg":
        setattr(config, parts[1], int(parts[2]))
    elif name == "dump":
        emit(
            op=op,
            state=ev.state,
            screen=display.screen,
            full=outbox.full(),
            banner=display.full,
            countdown=[left for left in countdowns],
            revoked=ev.revoked,
            options=ev.takes_idle_ratings(),
            online=display.online,
            depth=outbox.depth(),
            refused=ev.refused,
            now=clock.now(),
            records=records(),
            missing=display.missing,
        )
        return
    else:
        raise ValueError("unknown op " + op)
    emit(op=op, state=ev.state, screen=display.screen, depth=outbox.depth())


for op in sys.argv[3:]:
    run(op)
    heap_margin.note()
heap_margin.report()
