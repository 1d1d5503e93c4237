"""Per-device message limits for the collector, and flood detection.

Each device has a token bucket of BURST messages refilled at RATE_PER_S. A
device empties its outbox after an outage well inside this; a flooding
device is refused before its signature is checked (cheap), so it cannot take
the host's time from the others. Its refused ratings get no ack: they stay in
its outbox and come again later.

A device refused FLOOD_REFUSALS times within FLOOD_WINDOW_S is flooding: for
FLOOD_HOLD_S all its messages are refused at once (what the broker has
queued for us clears fast), and `on_flood(device)` runs once, on a thread of
its own (hostd/broker/quarantine.py flood_guard takes its publish rights away at the
broker: Mosquitto has no per-client rate limit of its own).

Used from the collector's network thread only: no locking.
"""

import logging
import threading
import time

from hostd.base import hall_time

log = logging.getLogger("hostd.collector")

RATE_LIMITED = "rate_limited"  # rejection reason: over the device's message rate
RATE_PER_S = 500.0
BURST = 200.0
FLOOD_REFUSALS = 200
FLOOD_WINDOW_S = 5.0
FLOOD_HOLD_S = 30.0
MAX_DEVICES = 65536  # topics may name any device id: the table stays bounded


class DeviceLimits:
    def __init__(self, rate=RATE_PER_S, burst=BURST, on_flood=None):
        self.rate, self.burst = rate, burst
        self.on_flood = on_flood
        # device -> [tokens, last refill, refusals, their window's start, flood seen at]
        self._buckets = {}

    def admit(self, device, now=None):
        """Take a token from the device's bucket; False when it is refused."""
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(device)
        if bucket is None:
            if len(self._buckets) >= MAX_DEVICES:
                self._buckets.clear()
            bucket = self._buckets[device] = [self.burst, now, 0, now, now - FLOOD_HOLD_S]
        if now - bucket[4] < FLOOD_HOLD_S:
            return False  # flooding: refused until its hold ends
        tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return True
        bucket[0] = tokens
        if now - bucket[3] > FLOOD_WINDOW_S:
            bucket[2], bucket[3] = 0, now
        bucket[2] += 1
        if bucket[2] >= FLOOD_REFUSALS:
            bucket[2], bucket[4] = 0, now
            log.warning(
                "device %s sends over %d messages/s: all its messages are refused for %d s",
                device,
                self.rate,
                FLOOD_HOLD_S,
                extra=hall_time.about(device=device),
            )
            if self.on_flood is not None:
                threading.Thread(target=self._report, args=(device,), daemon=True).start()
        return False

    def _report(self, device):
        on_flood = self.on_flood
        if on_flood is None:
            return
        try:
            on_flood(device)
        except Exception:
            log.exception(
                "could not quarantine flooding device %s", device, extra=hall_time.about(device=device)
            )
