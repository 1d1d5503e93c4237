"""Rejection counters: count every refused message by reason, log it once.

A refused message is counted in memory (per reason, for `Collector.counters`)
and in the `rejections` table (per device and reason). The first rejection of
each (device, reason) is logged as a warning; later ones are only counted,
so a misbehaving device cannot flood the log. Table writes are coalesced:
while one flush is queued in the store, new rejections join it.
"""

import logging
import threading
import time

from hostd.base import hall_time

log = logging.getLogger("hostd.collector")

UNKNOWN_DEVICE = "unknown_device"  # no such device in the registry, or revoked
INTERNAL_ERROR = "internal_error"  # a bug: logged with its traceback, once
NO_DEVICE = "-"  # device column when the topic names none


class RejectionCounters:
    def __init__(self, store=None):
        self.store = store
        self._lock = threading.Lock()
        self._by_reason = {}
        self._logged = set()
        self._pending = {}  # (device, reason) -> [count, first_at, last_at, detail]
        self._flush_queued = False

    def record(self, device, reason, detail="", exc_info=None):
        """Count one rejection; log it if it is the first of its (device, reason)."""
        device = device or NO_DEVICE
        detail = str(detail)[:200]
        now = int(time.time())
        with self._lock:
            self._by_reason[reason] = self._by_reason.get(reason, 0) + 1
            first = (device, reason) not in self._logged
            if first:
                self._logged.add((device, reason))
            entry = self._pending.get((device, reason))
            if entry is None:
                self._pending[(device, reason)] = [1, now, now, detail]
            else:
                entry[0] += 1
                entry[2] = now
                entry[3] = detail
            queue_flush = self.store is not None and not self._flush_queued
            if queue_flush:
                self._flush_queued = True
        if first:
            log.warning(
                "rejected message from device %s: %s (%s); further %s rejections"
                " from this device are counted, not logged",
                device,
                reason,
                detail,
                reason,
                exc_info=exc_info,
                extra=hall_time.about(device=device),
            )
        if queue_flush and self.store is not None:
            self.store.submit(self._flush, self._flushed)

    def _flush(self, db):
        with self._lock:
            pending, self._pending = self._pending, {}
            self._flush_queued = False
        for (device, reason), (count, first_at, last_at, detail) in pending.items():
            db.conn.execute(
                "INSERT INTO rejections (device_id, reason, count, first_at, last_at, last_detail)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (device_id, reason) DO UPDATE SET"
                " count = count + excluded.count, last_at = excluded.last_at,"
                " last_detail = excluded.last_detail",
                (device, reason, count, first_at, last_at, detail),
            )
        return len(pending)

    def _flushed(self, result, error):
        if error is not None:
            log.error("could not save rejection counters: %s", error)

    def snapshot(self):
        """Counts by reason since this process started."""
        with self._lock:
            return dict(self._by_reason)


def persisted(db):
    """Counts by reason from the `rejections` table (all processes, all time)."""
    return {row[0]: row[1] for row in db.execute("SELECT reason, SUM(count) FROM rejections GROUP BY reason")}
