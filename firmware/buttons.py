# The five rating buttons, left to right under the screen's five options.
#
# Each pin is active low (pressed connects it to ground against the pull-up).
# poll() is called every few milliseconds by the UI loop; it reports a press
# once, when the pin has read "pressed" for debounce_ms after being released,
# so contact bounce and a held button give exactly one press.
import time

from protocol.compat import const

_BUTTONS = const(5)


class Buttons:
    def __init__(self, pins, ticks_ms, debounce_ms=30, ticks_diff=None):
        if len(pins) != _BUTTONS:
            raise ValueError("need %d button pins, got %d" % (_BUTTONS, len(pins)))
        self.pins = pins
        self.ticks_ms = ticks_ms
        self.ticks_diff = ticks_diff or getattr(time, "ticks_diff", None) or _diff
        self.debounce_ms = debounce_ms
        now = ticks_ms()
        # A button held down at boot is "stable pressed": it reports nothing
        # until it has been released and pressed again.
        self._raw = [not pin.value() for pin in pins]  # last reading, True = down
        self._stable = list(self._raw)  # debounced state
        self._since = [now] * _BUTTONS  # when the reading last changed

    def poll(self):
        """Index 0..4 of a button newly pressed (debounced), else None."""
        now = self.ticks_ms()
        raw = self._raw
        stable = self._stable
        since = self._since
        for i in range(_BUTTONS):
            down = not self.pins[i].value()
            if down != raw[i]:
                raw[i] = down
                since[i] = now
            elif down != stable[i] and self.ticks_diff(now, since[i]) >= self.debounce_ms:
                stable[i] = down
                if down:
                    return i  # the others are looked at on the next poll
        return None

    def pressed(self):
        """Debounced state of every button (True = held down)."""
        return tuple(self._stable)


def _diff(a, b):
    return a - b
