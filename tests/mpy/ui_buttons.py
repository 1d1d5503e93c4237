# Feed scripted pin levels to the real Buttons debouncer and print the presses.
#   micropython ui_buttons.py SPEC.json
# SPEC: {"end": MS, "debounce": MS, "start": [5 levels], "changes": [[t_ms, index, level], ...]}
# (a file: this MicroPython build aborts on a command-line argument of 256+ bytes)
# The UI loop is modelled by a poll every `period` ms (default 1).
# Prints one JSON line: {"presses": [[t_ms, index], ...]}
import json
import sys

from spi_recorder import DummyPin

from firmware.buttons import Buttons

with open(sys.argv[1]) as f:
    spec = json.load(f)
pins = [DummyPin(v) for v in spec.get("start", [1, 1, 1, 1, 1])]
now = [spec.get("t0", 0)]
buttons = Buttons(pins, lambda: now[0], spec.get("debounce", 30))
changes = sorted(spec["changes"])
presses = []
period = spec.get("period", 1)
t = now[0]
while t <= spec["end"]:
    while changes and changes[0][0] <= t:
        _, index, level = changes.pop(0)
        pins[index].value(level)
    now[0] = t
    pressed = buttons.poll()
    if pressed is not None:
        presses.append([t, pressed])
    t += period
print(json.dumps({"presses": presses}))
