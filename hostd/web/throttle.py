"""Rate-later ratings per address: a token bucket of `burst` ratings refilled
at `per_minute` (web.ratelater_per_minute, default 20).

A hall's guest Wi-Fi puts every phone behind one address, so the limit is a
rate a busy hall can live with, not a count per day: 20 a minute is one
citizen every 3 s, all day, from one address. A post over it gets 429 and a
page asking to try again in a minute; nothing is recorded. The daily fraud
scan (hostd/casework/fraud_daily.py) still looks at what got through.
"""

import threading
import time

MAX_ADDRESSES = 65536  # the table stays bounded whatever addresses come


class PerAddress:
    def __init__(self, per_minute=20, burst=None, clock=time.monotonic):
        self.rate = per_minute / 60.0
        self.burst = float(burst if burst is not None else per_minute)
        self.clock = clock
        self._buckets = {}
        self._lock = threading.Lock()

    def admit(self, address):
        """Take one rating's token for `address`; False when it must wait."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(address, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if len(self._buckets) >= MAX_ADDRESSES and address not in self._buckets:
                self._buckets.clear()
            if tokens < 1.0:
                self._buckets[address] = (tokens, now)
                return False
            self._buckets[address] = (tokens - 1.0, now)
            return True
