"""Flood quarantine: a device flooding the broker loses its publish rights.

Mosquitto has no per-client publish rate limit. When the collector finds a
device far over its rate (hostd/ingest/collector.py on_flood), hostd takes
the device's publish rights out of the ACL for QUARANTINE_S and reloads the
broker, so the flood stops at the broker instead of filling the collector's
queue. The device still gets its acks; what it sends meanwhile stays in its
outbox (no ack) and comes again once it is let back. The ACL is written
from the quarantine file by hostd/broker/files.py.
"""

import logging
import threading
import time

from hostd.base import hall_time
from hostd.base.home import write_atomic
from hostd.broker.files import QUARANTINE_FILE, QUARANTINE_S, apply_registry, quarantined

log = logging.getLogger("hostd.broker")


def quarantine(home, db, device_id, seconds=QUARANTINE_S):
    """Stop the broker taking `device_id`'s publishes for `seconds` (now)."""
    active = quarantined(home)
    active[device_id] = time.time() + seconds
    home.broker.mkdir(mode=0o700, exist_ok=True)
    write_atomic(
        home.broker / QUARANTINE_FILE, "".join("%s %.0f\n" % item for item in sorted(active.items())), 0o600
    )
    return apply_registry(home, db)


def flood_guard(home, store, seconds=QUARANTINE_S):
    """An on_flood(device_id) for the Collector on hostd's own Mosquitto:
    quarantine the device now and rewrite the ACL when it is let back."""

    def lift():
        try:
            with store.read() as db:
                apply_registry(home, db)
        except Exception as exc:  # hostd stopped meanwhile: the next start rewrites the ACL
            log.info("quarantine not lifted now (%s); hostd rewrites the ACL when it starts", exc)

    def on_flood(device_id):
        with store.read() as db:
            quarantine(home, db, device_id, seconds)
        log.warning(
            "device %s floods the broker: its publishes are dropped for %d s (its outbox keeps its ratings)",
            device_id,
            seconds,
            extra=hall_time.about(device=device_id),
        )
        timer = threading.Timer(seconds + 1, lift)
        timer.daemon = True
        timer.start()

    return on_flood
