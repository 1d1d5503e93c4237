"""The fraud scan (hostd/casework/fraud.py) of the last day, every day, in a
thread of `hostd run`: bursts, ratings without a session, outlier staff and
many ratings from one link or address are kept for review (`hostd fraud
list`) without anyone having to run the scan by hand. It runs once at start
and then every DAY_S; a flag found again refreshes its evidence.
"""

import logging

from hostd.base import clock
from hostd.base.periodic import Periodic
from hostd.casework import fraud

log = logging.getLogger("hostd.fraud")
DAY_S = 86400


def scan_last_day(store, now=None):
    """Scan the day before `now` and keep its flags; return how many are new."""
    now = int(clock.now() if now is None else now)
    with store.read() as db:
        flags = fraud.scan(db, now - DAY_S, now + 1)  # [start, end): this second included
    new = store.run(lambda db: fraud.record(db, flags, now=now))
    if new:
        log.warning("fraud scan: %d new flag(s) to review: hostd fraud list", new)
    return new


class DailyFraudScan(Periodic):
    thread_name = "hostd-fraud-scan"
    log = log

    def __init__(self, store, interval=DAY_S):
        self.store = store
        super().__init__(interval)

    def once(self):
        scan_last_day(self.store)
