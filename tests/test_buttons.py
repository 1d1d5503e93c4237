"""The five-button debouncer (firmware/buttons.py) on real MicroPython.

A press counts when the button comes up again (debounced); one held for
1.5 s is a long press (5 + index), reported while still held."""

import json

from conftest import ROOT, run_micropython

SCRIPT = ROOT / "tests" / "mpy" / "ui_buttons.py"
DOWN, UP = 0, 1  # active low: pressed pulls the pin to ground
LONG = 5  # a long press of button i is reported as LONG + i


def presses(tmp_path, changes, end=1000, **extra):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(dict(changes=changes, end=end, **extra)))
    proc = run_micropython(SCRIPT, str(spec))
    return json.loads(proc.stdout)["presses"]


def bounce(t, index, final, toggles=6, step=2):
    """Contact bounce: the pin flips `toggles` times `step` ms apart, then settles."""
    other = UP if final == DOWN else DOWN
    out = []
    for i in range(toggles):
        out.append([t + i * step, index, other if i % 2 else final])
    out.append([t + toggles * step, index, final])
    return out


def test_clean_press_reported_once_on_release_after_debounce(tmp_path):
    got = presses(tmp_path, [[100, 2, DOWN], [400, 2, UP]])
    assert got == [[430, 2]]


def test_bouncy_press_and_release_give_one_press(tmp_path):
    got = presses(tmp_path, bounce(100, 0, DOWN) + bounce(300, 0, UP))
    assert got == [[342, 0]]  # released, settled at 312, stable 30 ms later


def test_glitch_shorter_than_debounce_is_ignored(tmp_path):
    got = presses(tmp_path, [[100, 4, DOWN], [120, 4, UP], [500, 4, DOWN], [529, 4, UP]])
    assert got == []


def test_held_button_is_one_long_press_and_its_release_counts_nothing(tmp_path):
    got = presses(tmp_path, [[10, 1, DOWN], [4000, 1, UP]], end=5000)
    assert got == [[1540, LONG + 1]]  # down from 40 (debounced), held 1.5 s


def test_a_press_just_short_of_long_is_a_press(tmp_path):
    got = presses(tmp_path, [[10, 3, DOWN], [1500, 3, UP]], end=2000)
    assert got == [[1530, 3]]


def test_a_glitch_while_held_neither_ends_the_hold_nor_counts_a_press(tmp_path):
    got = presses(tmp_path, [[10, 4, DOWN], [700, 4, UP], [710, 4, DOWN], [3000, 4, UP]], end=3500)
    assert got == [[2240, LONG + 4]]  # the long press counts from the glitch: 710 + 30 + 1500


def test_each_press_of_a_series_counts(tmp_path):
    changes = []
    for k in range(4):
        changes += bounce(100 + k * 200, 3, DOWN) + bounce(180 + k * 200, 3, UP)
    got = presses(tmp_path, changes)
    assert [p[1] for p in got] == [3, 3, 3, 3]


def test_two_buttons_at_once_are_both_reported_on_successive_polls(tmp_path):
    got = presses(tmp_path, [[100, 0, DOWN], [100, 4, DOWN], [300, 0, UP], [300, 4, UP]], period=5)
    assert got == [[330, 0], [335, 4]]


def test_button_held_at_boot_needs_release_first(tmp_path):
    got = presses(tmp_path, [[200, 2, UP], [400, 2, DOWN], [600, 2, UP]], start=[1, 1, 0, 1, 1], end=3000)
    assert got == [[630, 2]]  # the boot-time hold reports neither a press nor a long press


def test_ticks_wraparound_uses_ticks_diff():
    # MicroPython's ticks_ms wraps; Buttons must use time.ticks_diff, not "-".
    script = """
import time, json
from firmware.buttons import Buttons
from spi_recorder import DummyPin
pins = [DummyPin(1) for _ in range(5)]
start = time.ticks_add(0, -15)  # 15 ms before the wrap
t = [start]
b = Buttons(pins, lambda: t[0])
pins[1].value(0)
got = []
for i in range(100):
    if i == 50:
        pins[1].value(1)
    t[0] = time.ticks_add(start, i)
    r = b.poll()
    if r is not None:
        got.append([i, r])
print(json.dumps(got))
"""
    assert json.loads(run_micropython(script).stdout) == [[80, 1]]


def test_wrong_pin_count_is_refused():
    proc = run_micropython("""
from firmware.buttons import Buttons
try:
    Buttons([1, 2, 3], lambda: 0)
except ValueError as e:
    print("refused:", e)
""")
    assert "refused: need 5 button pins" in proc.stdout
