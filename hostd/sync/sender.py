"""Drain the upstream outbox in batches: confirmed once, never lost, never stuck.

One Sender per target ('province', '12345'). `step()` sends one batch:
  1. pick up to batch_size due rows (pending / sent / rejected, not blocked,
     next_attempt <= now), oldest schedule first;
  2. mark them sent (attempts + 1) and commit;
  3. post them through the adapter, with their idempotency keys;
  4. commit the answers: ok -> confirmed (and rows waiting on it unblocked);
     a reason that will not change -> dead with the reason (and rows waiting
     on it dead too); any other refusal -> rejected, retried with backoff,
     dead after max_rejections; no usable answer (down, 5xx, timeout) ->
     pending with backoff, and the sender itself pauses.
A crash between 2 and 4 leaves rows 'sent': recover() (at start) makes them
pending again and they are resent; the platform takes a known key as a
duplicate, so nothing is lost and nothing is counted twice.

`write(op)` runs op(db) in one transaction (Store.run in the daemon);
`read()` is a context manager giving a db to read from.
"""

import json
import logging
import random
import time

from hostd.base import clock
from hostd.sync.adapters import TransportError
from hostd.upstream import records

log = logging.getLogger("hostd.upstream")

OPEN = "('pending', 'sent', 'rejected')"
# Refusals that no retry can change: the record itself is wrong.
PERMANENT = frozenset(("BAD_FIELD", "BAD_CODE", "NO_DETAIL", "REPEAT_ASSESS", "REPEAT_SERVICE", "NO_RATING"))


class Backoff:
    """Exponential backoff with jitter and a cap: base * 2**(n-1), at most
    cap, times a random factor in [0.5, 1)."""

    def __init__(self, base=2.0, cap=600.0, rng=random.random):
        self.base, self.cap, self.rng = base, cap, rng

    def delay(self, attempts):
        raw = min(self.cap, self.base * (2 ** min(max(attempts, 1) - 1, 30)))
        return raw * (0.5 + 0.5 * self.rng())


def set_state(db, name, value):
    db.conn.execute(
        "INSERT INTO upstream_state (name, value) VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        (name, str(value)),
    )


class Sender:
    def __init__(
        self,
        adapter,
        write,
        read,
        target="province",
        batch_size=200,
        backoff=None,
        max_rejections=20,
        dept_code="",
        area_code="",
        sent_timeout=120.0,
        now=clock.now,
        after_confirm=None,
    ):
        self.adapter, self.write, self.read = adapter, write, read
        self.target, self.batch_size = target, batch_size
        self.backoff = backoff or Backoff()
        self.max_rejections = max_rejections
        self.dept_code, self.area_code = dept_code, area_code
        self.sent_timeout, self.now = sent_timeout, now
        self.after_confirm = after_confirm  # (db, [(row, answer)]) in the confirm transaction
        self.failures = 0  # transport failures in a row
        self.pause_until = 0.0

    def recover(self):
        """Rows left 'sent' by a crash are due again now; return how many."""
        return self.write(
            lambda db: (
                db.conn.execute(
                    "UPDATE upstream_outbox SET status = 'pending', next_attempt = 0"
                    " WHERE status = 'sent' AND target = ?",
                    (self.target,),
                ).rowcount
            )
        )

    def retry_now(self):
        """Make every open row due now (`hostd sync --once`)."""
        return self.write(
            lambda db: (
                db.conn.execute(
                    "UPDATE upstream_outbox SET next_attempt = 0 WHERE status IN %s AND target = ?" % OPEN,
                    (self.target,),
                ).rowcount
            )
        )

    def next_due(self):
        """When the next row is due (None: nothing open and unblocked)."""
        with self.read() as db:
            row = db.conn.execute(
                "SELECT MIN(next_attempt) FROM upstream_outbox WHERE target = ? AND status IN %s"
                " AND blocked = 0" % OPEN,
                (self.target,),
            ).fetchone()
        return None if row[0] is None else max(row[0], self.pause_until)

    def _due(self, now):
        with self.read() as db:
            return db.conn.execute(
                "SELECT id, key, kind, ref, body, attempts FROM upstream_outbox"
                " WHERE target = ? AND status IN %s AND blocked = 0 AND next_attempt <= ?"
                " ORDER BY next_attempt, id LIMIT ?" % OPEN,
                (self.target, now, self.batch_size),
            ).fetchall()

    def step(self):
        """Send one batch. Return counts {sent, confirmed, rejected, dead,
        error}, or None when nothing is due (or the sender is pausing)."""
        now = self.now()
        if now < self.pause_until:
            return None
        rows = self._due(now)
        if not rows:
            return None
        ids = [(row[0],) for row in rows]
        self.write(
            lambda db: db.conn.executemany(
                "UPDATE upstream_outbox SET status = 'sent', attempts = attempts + 1,"
                " next_attempt = %r WHERE id = ?" % (now + self.sent_timeout),
                ids,
            )
        )
        batch = [self._encoded(row[4]) for row in rows]
        try:
            answers = self.adapter.send(batch)
        except TransportError as exc:
            return self._failed(rows, str(exc))
        self.failures, self.pause_until = 0, 0.0
        return self.write(lambda db: self._commit_answers(db, rows, answers, self.now()))

    def _encoded(self, body):
        """The stored JSON text, with the configured codes where the unit had none."""
        if '"deptCode":""' not in body and '"areaCode":""' not in body:
            return body
        return json.dumps(
            records.fill_defaults(json.loads(body), self.dept_code, self.area_code),
            ensure_ascii=False,
            separators=(",", ":"),
        )

    def _failed(self, rows, error):
        self.failures += 1
        now = self.now()
        self.pause_until = now + self.backoff.delay(self.failures)
        updates = [(now + self.backoff.delay(row[5] + 1), error[:500], row[0]) for row in rows]

        def op(db):
            db.conn.executemany(
                "UPDATE upstream_outbox SET status = 'pending', next_attempt = ?,"
                " last_error = ? WHERE id = ?",
                updates,
            )
            set_state(db, "last_error", "%d %s" % (int(now), error[:300]))

        self.write(op)
        if self.failures == 1 or self.failures % 50 == 0:
            log.warning(
                "upstream %s unreachable (%d in a row): %s; retrying with backoff",
                self.target,
                self.failures,
                error,
            )
        return {"sent": len(rows), "confirmed": 0, "rejected": 0, "dead": 0, "error": error}

    def _commit_answers(self, db, rows, answers, now):
        conn = db.conn
        confirmed, dead, rejected, unanswered, hooked = [], [], [], [], []
        for row in rows:
            row_id, key, attempts = row[0], row[1], row[5] + 1
            answer = answers.get(key)
            if answer is None:
                unanswered.append((now + self.backoff.delay(attempts), row_id))
            elif answer[0]:
                confirmed.append((int(now), row_id))
                hooked.append((row, answer))
            elif answer[1] in PERMANENT or attempts >= self.max_rejections:
                dead.append(("%s: %s" % (answer[1], answer[2]), row_id, key))
            else:
                rejected.append(
                    (now + self.backoff.delay(attempts), "%s: %s" % (answer[1], answer[2]), row_id)
                )
        conn.executemany(
            "UPDATE upstream_outbox SET status = 'confirmed', confirmed_at = ?,"
            " last_error = NULL WHERE id = ?",
            confirmed,
        )
        conn.executemany(
            "UPDATE upstream_outbox SET blocked = 0 WHERE depends_on = ? AND blocked = 1",
            [(row[1],) for row, _ in hooked if row[2] != "order"],
        )
        for reason, row_id, key in dead:
            conn.execute(
                "UPDATE upstream_outbox SET status = 'dead', last_error = ? WHERE id = ?", (reason, row_id)
            )
            conn.execute(
                "UPDATE upstream_outbox SET status = 'dead', blocked = 0, last_error = ?"
                " WHERE depends_on = ? AND status != 'confirmed'",
                ("its prerequisite %s is dead: %s" % (key, reason), key),
            )
            log.warning("upstream %s refused %s for good: %s", self.target, key, reason)
        conn.executemany(
            "UPDATE upstream_outbox SET status = 'rejected', next_attempt = ?, last_error = ? WHERE id = ?",
            rejected,
        )
        conn.executemany(
            "UPDATE upstream_outbox SET status = 'pending', next_attempt = ? WHERE id = ?", unanswered
        )
        if self.after_confirm is not None and hooked:
            self.after_confirm(db, hooked)
        set_state(db, "last_success_%s" % self.target, int(now))
        return {
            "sent": len(rows),
            "confirmed": len(confirmed),
            "rejected": len(rejected),
            "dead": len(dead),
            "error": None,
        }

    def drain(self, progress=None, stop=None, give_up_on_error=True, max_seconds=None):
        """Send batches until nothing is due; return the summed counts.
        `progress(counts)` after each batch. With give_up_on_error, the first
        transport failure ends the drain (its error is in the result)."""
        total = {"sent": 0, "confirmed": 0, "rejected": 0, "dead": 0, "error": None, "batches": 0}
        started = time.monotonic()
        while stop is None or not stop.is_set():
            if max_seconds is not None and time.monotonic() - started > max_seconds:
                break
            counts = self.step()
            if counts is None:
                if self.pause_until and not give_up_on_error:
                    time.sleep(max(0.0, min(1.0, self.pause_until - self.now())))
                    continue
                break
            total["batches"] += 1
            for name in ("sent", "confirmed", "rejected", "dead"):
                total[name] += counts[name]
            total["error"] = counts["error"]
            if progress is not None:
                progress(counts)
            if counts["error"] and give_up_on_error:
                break
        return total
