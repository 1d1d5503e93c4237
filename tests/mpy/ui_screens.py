# Draw every screen through the real panel driver into SPI recordings.
# Usage: micropython ui_screens.py OUT_DIR PARTS_JSON
# Writes OUT_DIR/<n>-<screen>.spi (one recording per step, to be decoded in
# order) and prints one JSON line per step.
import json
import sys

import heap_margin
from spi_recorder import DummyPin, RecordingSPI

from firmware import display as layout
from firmware.display import Display
from firmware.panel import ST7789, rgb565

out_dir, parts_path = sys.argv[1], sys.argv[2]
with open(parts_path) as f:
    parts = json.load(f)  # {"session": [...], "idle": [...]}

dc = DummyPin()
cs = DummyPin(1)
spi = RecordingSPI(open(out_dir + "/00-init.spi", "wb"), dc, cs)
panel = ST7789(spi, dc, cs, DummyPin(1), sleep_ms=lambda ms: None)
display = Display(panel)
step = [0]
# The layout the tests expect; display.py keeps these as const() (no heap),
# so they are spelled out here and the colours checked against rgb565.
WHITE, BLACK = rgb565(255, 255, 255), rgb565(0, 0, 0)
assert [c[0] for c in layout.OPTION_COLOURS] == [
    rgb565(0, 100, 0),
    rgb565(0, 135, 0),
    rgb565(255, 190, 0),
    rgb565(200, 60, 0),
    rgb565(160, 0, 0),
]
print(
    json.dumps(
        {
            "option_colours": layout.OPTION_COLOURS,
            "white": WHITE,
            "black": BLACK,
            "red": rgb565(170, 0, 0),
            "reason_bg": rgb565(0, 60, 140),
            "marker": layout.MARKER,
            "tile_y": 192,
            "tile_h": 48,
            "column": 64,
            "qr_box": [204, 52, 114, 99],
            "count_y": 100,
        }
    )
)


def shot(name, draw):
    step[0] += 1
    spi.stream.close()
    spi.stream = open("%s/%02d-%s.spi" % (out_dir, step[0], name), "wb")
    before = display.missing
    draw()
    heap_margin.note()
    spi.stream.close()
    print(
        json.dumps(
            {"step": step[0], "name": name, "screen": display.screen, "missing": display.missing - before}
        )
    )


s = parts["session"]
i = parts["idle"]
shot("idle", lambda: display.show_idle("W01", "0042", True, i))
shot("idle_offline", lambda: (display.set_online(False), display.show_idle("W01", "0042", True, i, True)))
shot("online_again", lambda: display.set_online(True))
shot("paused", lambda: display.show_idle("W01", None, False, i))
shot("idle_fallback", lambda: display.show_idle("W01", "0042", True, []))
shot("session", lambda: display.show_session("ITEM-001", "0042", s))
shot("session_fallback", lambda: display.show_session("ITEM-001", "0042", []))
shot("reason", lambda: display.show_reason(s, 0, 30))
shot("reason_count", lambda: display.countdown(9))
shot("reason_more", lambda: display.show_reason(s, 1, 30))
shot("reason_noqr", lambda: display.show_reason([], 0, 5))
for level in (0, 5, 4, 3, 2, 1):
    shot("thanks%d" % level, lambda: display.show_thanks(level))  # noqa: B023 (drawn at once)
shot("session_again", lambda: display.show_session("ITEM-001", "0042", s))
shot("full", lambda: display.set_full(True))
shot("full_offline", lambda: display.set_online(False))
shot("not_full", lambda: display.set_full(False))
shot("revoked", lambda: display.show_revoked())
shot(
    "bad_parts",
    lambda: display.show_session(
        "ITEM-002", "7", [["item", 300, 48, "!!notbase64"], ["qr", 120, 120, "AAAA"], "junk"]
    ),
)
heap_margin.report()
