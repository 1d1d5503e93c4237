# The five rating buttons, left to right under the screen's five options.
#
# Each pin is active low (pressed connects it to ground against the pull-up).
# poll() is called every few milliseconds by the UI loop. A pin must read the
# same for debounce_ms before a change counts, so contact bounce gives one
# press. A press counts when the button comes up again; a button held down
# for _LONG_MS is a long press instead (it reads the choices aloud, for a
# citizen who cannot read the screen), reported at once, and its release
# then counts nothing.
import time

from protocol.compat import const

_BUTTONS = const(5)
_LONG_MS = const(1500)


class Buttons:
    def __init__(self, pins, ticks_ms, debounce_ms=30, ticks_diff=None):
        if len(pins) != _BUTTONS:
            raise ValueError("need %d button pins, got %d" % (_BUTTONS, len(pins)))
        self.pins = pins
        self.ticks_ms = ticks_ms
        self.ticks_diff = ticks_diff or getattr(time, "ticks_diff", None) or (lambda a, b: a - b)
        self.debounce_ms = debounce_ms
        now = ticks_ms()
        # A button held down at boot is "stable pressed": it reports nothing
        # until it has been released and pressed again.
        self._raw = [not pin.value() for pin in pins]  # last reading, True = down
        # Debounced state: 0 up, 1 down (a press to report on release, or as
        # a long press), 2 down with nothing to report (a long press already
        # reported, or held since boot).
        self._stable = [2 if down else 0 for down in self._raw]
        self._since = [now] * _BUTTONS  # when the reading last changed

    def poll(self):
        """Index 0..4 of a button pressed and let go (debounced), 5..9
        (5 + index) of one held down for _LONG_MS, else None."""
        now = self.ticks_ms()
        raw = self._raw
        stable = self._stable
        since = self._since
        for i in range(_BUTTONS):
            down = not self.pins[i].value()
            if down != raw[i]:
                raw[i] = down
                since[i] = now
            elif down != (stable[i] > 0) and self.ticks_diff(now, since[i]) >= self.debounce_ms:
                was = stable[i]
                stable[i] = 1 if down else 0
                if was == 1:
                    return i  # released: a press (the others are looked at on the next poll)
            elif stable[i] == 1 and self.ticks_diff(now, since[i]) >= self.debounce_ms + _LONG_MS:
                stable[i] = 2
                return _BUTTONS + i  # held down: a long press, reported at once
        return None

    def pressed(self):
        """Debounced state of every button (True = held down)."""
        return tuple(s > 0 for s in self._stable)
