# The voice in the UI loop, on the unix port: the real Buttons, Evaluator,
# Display, Outbox and Voice, turned as firmware/app.py turns them (poll the
# buttons, act on a press, tick), 10 ms of fake time a turn. The I2S is a
# stand-in that appends what it is given to capture.pcm and counts the writes
# of each turn. The clips voice0..voice4 are in the working folder.
#
#   micropython ui_voice.py IMAGE
#
# Prints one JSON line: what happened on which turn.
import json
import sys

from blockdev import mount
from spi_recorder import DummyPin, RecordingSPI

from firmware.buttons import Buttons
from firmware.clock import Clock
from firmware.display import Display
from firmware.evaluator import Evaluator
from firmware.outbox import Outbox
from firmware.panel import ST7789
from firmware.voice import Voice

KEY = b"0123456789abcdef0123456789abcdef"


class Config:
    device_id = "dev-w01"
    hall = "hall-1"
    window = "W01"
    key = KEY
    response_interval_ms = 3000
    session_ttl_s = 120
    thanks_ms = 3000


class FakeI2S:
    def __init__(self):
        self.f = open("capture.pcm", "wb")
        self.writes = 0  # this turn's
        self.n = 0  # bytes in all
        self.handler = None

    def irq(self, handler):
        self.handler = handler

    def write(self, buf):
        self.f.write(buf)
        self.n += len(buf)
        self.writes += 1
        self.handler(self)  # taken at once, as the simulator's I2S does


class Sink:
    def write(self, buf):
        pass


mount(sys.argv[1], "/flash", block_count=64)
now = [100000]
ticks = lambda: now[0]  # noqa: E731
pins = [DummyPin(1) for _ in range(5)]
buttons = Buttons(pins, ticks)
dc = DummyPin()
display = Display(ST7789(RecordingSPI(Sink(), dc), dc, sleep_ms=lambda ms: None))
outbox = Outbox("/flash/outbox", 100)
i2s = FakeI2S()
voice = Voice(i2s, 5)
ev = Evaluator(Config(), display, outbox, Clock(ticks, 0, rtc=lambda: 1700000000), ticks, None, voice)
out = {"turns": [], "plays": []}
turn = [0]
_play = voice.start


def spy_play(number):
    out["plays"].append([number, i2s.n, turn[0]])  # the clip, where in capture.pcm, on which turn
    _play(number)


voice.start = spy_play


def session(sid):
    ev.on_session([1, "S", "dev-w01", sid, "A1", "", "staff-42", "", "0042", 1, 0, "https://q/" + sid, 0, []])


def loop(turns, down=None, up=None):
    """Turn the loop; pin `down` = (turn, button) goes down, `up` = turn it comes up."""
    for _ in range(turns):
        t = turn[0]
        if down and t == down[0]:
            pins[down[1]].value(0)
        if up is not None and down and t == up:
            pins[down[1]].value(1)
        i2s.writes = 0
        playing = voice.file is not None
        depth = outbox.depth()
        index = buttons.poll()
        if index is not None:
            did = ev.press(index)
            out["turns"].append(
                {"turn": t, "index": index, "did": did, "state": ev.state, "rated": outbox.depth() - depth,
                 "playing_before": playing}
            )  # fmt: skip
        ev.tick()
        out["max_writes"] = max(out.get("max_writes", 0), i2s.writes)
        now[0] += 10
        turn[0] += 1


session("s1")
out["playing_after_session"] = voice.file is not None
loop(5)
# The citizen presses 非常满意 (button 0) on turn 10 and lets go on turn 15.
start = turn[0]
loop(30, down=(start + 5, 0), up=start + 10)
loop(400)  # thanks plays out
out["idle_after"] = ev.state
# A new session, and a long press of button 2: the choices read aloud, nothing rated.
session("s2")
start = turn[0]
loop(300, down=(start + 2, 2), up=start + 250)
out["state_after_long"] = ev.state
out["depth"] = outbox.depth()
i2s.f.close()
out["bytes"] = i2s.n
print(json.dumps(out))
