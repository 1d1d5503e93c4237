# Unix time on the device: the host's clock once heard, else the board's RTC.
#
# Ratings carry device time plus a `synced` flag. Until a host_time arrives
# (in an ack, session or idle message) the time comes from `rtc()`, the
# board's own seconds, plus `epoch_offset`: main.py passes 946684800 on the
# ESP32, whose epoch is 2000-01-01, so this module only ever deals in Unix
# time. After a sync, time runs on from the host's value by ticks_ms.
import time

from protocol.compat import const

_REBASE_MS = const(3600000)  # move the anchor hourly so ticks never wrap under it


class Clock:
    def __init__(self, ticks_ms, epoch_offset=0, rtc=None, ticks_diff=None, ticks_add=None):
        self.ticks_ms = ticks_ms
        self.epoch_offset = epoch_offset
        self.rtc = rtc or time.time
        self.ticks_diff = ticks_diff or getattr(time, "ticks_diff", None) or (lambda a, b: a - b)
        self.ticks_add = ticks_add or getattr(time, "ticks_add", None) or (lambda a, b: a + b)
        self.synced = False
        self._base = 0  # unix seconds at ticks self._at
        self._at = 0

    def sync(self, host_time):
        """Adopt the host's Unix time (seconds). Ignores nonsense values."""
        if not isinstance(host_time, int) or isinstance(host_time, bool) or host_time <= 0:
            return
        self._base = host_time
        self._at = self.ticks_ms()
        self.synced = True

    def now(self):
        """Unix time in whole seconds."""
        if not self.synced:
            return int(self.rtc()) + self.epoch_offset
        elapsed = self.ticks_diff(self.ticks_ms(), self._at)
        if elapsed >= _REBASE_MS:
            whole = elapsed // 1000
            self._base += whole
            self._at = self.ticks_add(self._at, whole * 1000)
            elapsed -= whole * 1000
        return self._base + elapsed // 1000
