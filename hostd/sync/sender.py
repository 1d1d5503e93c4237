"""Drain the upstream outbox: each record confirmed once, never lost, never stuck.

One Sender per target ('province', '12345'). `step()` sends one batch:
  1. pick up to batch_size due rows (pending / sent / rejected, not blocked,
     next_attempt <= now), oldest schedule first;
  2. settle those that do not travel: in upstream.service_records =
     "business-system" mode a service record is left to the business
     system (external: its ratings go at once) and a record whose projectNo
     hostd made is kept home (held, not reportable); so is a kind the
     adapter has no call for;
  3. mark the rest sent (attempts + 1) and commit;
  4. translate each neutral record to the interface's fields (wire.py) and
     post them through the adapter;
  5. a "repeat" answer is not a failure: the platform holds a record of that
     identity, maybe ours from a send whose reply was lost. The adapter's
     query reads it back; the same content is confirmed, other content is a
     dead letter that keeps both versions (remote_body). A service record
     held in another version (the business system's) still lets its ratings go;
  6. commit the answers: ok -> confirmed (rows waiting on it unblocked);
     invalid -> dead (and rows waiting on it dead too); no service data ->
     retried with backoff, for service_wait_s when the business system sends
     service records, else up to max_rejections; other refusals -> rejected,
     retried with backoff, dead after max_rejections; no usable answer ->
     pending with backoff (a whole-batch failure also pauses the sender).
A crash between 3 and 6 leaves rows 'sent': recover() (at start) makes them
pending again; their resend meets "repeat" and is confirmed by the query.

`write(op)` runs op(db) in one transaction (Store.run in the daemon);
`read()` is a context manager giving a db to read from.
"""

import json
import logging
import random
import time

from hostd.base import clock
from hostd.sync import wire
from hostd.sync.http_link import TransportError

log = logging.getLogger("hostd.upstream")

OPEN = "('pending', 'sent', 'rejected')"
MISMATCH = "MISMATCH"


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


def _passthrough(kind, body):
    return body


def release(db, key):
    """Rows waiting on `key` may go (it is confirmed, or left to the business system)."""
    db.conn.execute("UPDATE upstream_outbox SET blocked = 0 WHERE depends_on = ? AND blocked = 1", (key,))


def cascade(db, key, status, reason):
    """Rows waiting on `key` (and theirs) share its fate: dead or held."""
    keys = [key]
    while keys:
        following = [
            row[0]
            for k in keys
            for row in db.conn.execute(
                "SELECT key FROM upstream_outbox WHERE depends_on = ? AND status NOT IN ('confirmed', ?)",
                (k, status),
            )
        ]
        for k in keys:
            db.conn.execute(
                "UPDATE upstream_outbox SET status = ?, blocked = 0, last_error = ?"
                " WHERE depends_on = ? AND status NOT IN ('confirmed', ?)",
                (status, "its prerequisite %s: %s" % (k, reason), k, status),
            )
        keys = following


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
        translate=None,
        service_records="send",
        service_wait_s=24 * 3600,
        sent_timeout=120.0,
        now=clock.now,
        after_confirm=None,
    ):
        self.adapter, self.write, self.read = adapter, write, read
        self.target, self.batch_size = target, batch_size
        self.backoff = backoff or Backoff()
        self.max_rejections = max_rejections
        self.translate = translate or _passthrough
        self.business_system = service_records == "business-system"
        self.service_wait_s = service_wait_s
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
                "SELECT id, key, kind, ref, body, attempts, created_at, local_case FROM upstream_outbox"
                " WHERE target = ? AND status IN %s AND blocked = 0 AND next_attempt <= ?"
                " ORDER BY next_attempt, id LIMIT ?" % OPEN,
                (self.target, now, self.batch_size),
            ).fetchall()

    def _settle(self, rows):
        """Split rows into (to send [(row, wire record)], settled {row id: (status, reason)})."""
        out, settled = [], {}
        name = getattr(self.adapter, "name", "")
        for row in rows:
            kind = row[2]
            if self.target == "province" and self.business_system:
                if row[7]:
                    settled[row[0]] = (
                        "held",
                        "not reportable: the session came without a case id, and in business-system"
                        " mode the platform knows only the business system's case ids",
                    )
                    continue
                if kind == "service":
                    settled[row[0]] = ("external", "left to the business system (upstream.service_records)")
                    continue
            supports = getattr(self.adapter, "supports", None)
            if supports is not None and not supports(kind):
                settled[row[0]] = (
                    "held",
                    "not reportable: the %s adapter has no call for %s records" % (name, kind),
                )
                continue
            try:
                out.append((row, self.translate(kind, json.loads(row[4]))))
            except KeyError as exc:
                settled[row[0]] = ("dead", "BAD_CODE: the code table has no code for %s" % exc)
        return out, settled

    def _apply_settled(self, db, rows, settled):
        for row in rows:
            if row[0] not in settled:
                continue
            status, reason = settled[row[0]]
            db.conn.execute(
                "UPDATE upstream_outbox SET status = ?, last_error = ? WHERE id = ?",
                (status, reason if status != "external" else None, row[0]),
            )
            if status == "external":
                release(db, row[1])
            else:
                cascade(db, row[1], status, reason)

    def step(self):
        """Send one batch. Return counts {sent, confirmed, rejected, dead,
        error}, or None when nothing is due (or the sender is pausing)."""
        now = self.now()
        if now < self.pause_until:
            return None
        rows = self._due(now)
        if not rows:
            return None
        outgoing, settled = self._settle(rows)
        ids = [(row[0],) for row, _record in outgoing]

        def mark(db):
            self._apply_settled(db, rows, settled)
            db.conn.executemany(
                "UPDATE upstream_outbox SET status = 'sent', attempts = attempts + 1,"
                " next_attempt = %r WHERE id = ?" % (now + self.sent_timeout),
                ids,
            )

        self.write(mark)
        counts = {"sent": 0, "confirmed": 0, "rejected": 0, "dead": 0, "held": 0, "error": None}
        for status, _reason in settled.values():
            counts["dead" if status == "dead" else "held"] += 1
        if not outgoing:
            return counts
        try:
            answers = self.adapter.send([(row[0], row[2], record) for row, record in outgoing])
        except TransportError as exc:
            return self._failed([row for row, _r in outgoing], str(exc))
        self.failures, self.pause_until = 0, 0.0
        remote = self._confirm_repeats(outgoing, answers)
        result = self.write(lambda db: self._commit_answers(db, outgoing, answers, remote, self.now()))
        result["dead"] += counts["dead"]
        result["held"] = counts["held"]
        return result

    def _confirm_repeats(self, outgoing, answers):
        """Read back each record the platform called a repeat: {row id: stored
        record or None}; a query that got no answer leaves the row unanswered."""
        remote = {}
        for row, record in outgoing:
            answer = answers.get(row[0])
            if answer is None or answer.outcome != wire.REPEAT:
                continue
            try:
                remote[row[0]] = self.adapter.query(row[2], record)
            except TransportError as exc:
                log.info("upstream: cannot read back %s after a repeat (%s); will retry", row[1], exc)
                answers.pop(row[0])
        return remote

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
        return {"sent": len(rows), "confirmed": 0, "rejected": 0, "dead": 0, "held": 0, "error": error}

    def _verdict(self, row, record, answer, stored, now):
        """(status, reason) for one answered row."""
        attempts, kind = row[5] + 1, row[2]
        reason = "%s: %s" % (answer.code, answer.message)
        if answer.outcome == wire.OK:
            return "confirmed", None
        if answer.outcome == wire.REPEAT:
            if stored is not None and wire.same(self.adapter.outgoing(kind, record), stored):
                return "confirmed", None
            if stored is None:
                return "rejected", "%s, but the platform's query finds no such record" % reason
            diff = wire.differences(self.adapter.outgoing(kind, record), stored)
            return "dead", "%s: the platform holds another version of %s (%s)" % (
                MISMATCH,
                row[1],
                ", ".join(sorted(diff)),
            )
        if answer.outcome == wire.INVALID:
            return "dead", reason
        if answer.outcome == wire.NO_SERVICE and self.business_system:
            if now - row[6] >= self.service_wait_s:
                return "dead", "%s (no service record from the business system after %d h)" % (
                    reason,
                    self.service_wait_s // 3600,
                )
            return "rejected", reason
        if answer.outcome == wire.RETRY:
            return "pending", reason
        return ("dead" if attempts >= self.max_rejections else "rejected"), reason

    def _commit_answers(self, db, outgoing, answers, remote, now):
        conn = db.conn
        counts = {"sent": len(outgoing), "confirmed": 0, "rejected": 0, "dead": 0, "error": None}
        hooked = []
        for row, record in outgoing:
            row_id, key, attempts = row[0], row[1], row[5] + 1
            answer = answers.get(row_id)
            if answer is None:
                conn.execute(
                    "UPDATE upstream_outbox SET status = 'pending', next_attempt = ? WHERE id = ?",
                    (now + self.backoff.delay(attempts), row_id),
                )
                continue
            stored = remote.get(row_id)
            status, reason = self._verdict(row, record, answer, stored, now)
            if status == "confirmed":
                note = "confirmed by query after a repeat" if answer.outcome == wire.REPEAT else None
                conn.execute(
                    "UPDATE upstream_outbox SET status = 'confirmed', confirmed_at = ?, last_error = NULL,"
                    " note = COALESCE(?, note) WHERE id = ?",
                    (int(now), note, row_id),
                )
                if row[2] != "order":
                    release(db, key)
                hooked.append((row, answer))
                counts["confirmed"] += 1
            elif status == "dead":
                mismatch = (reason or "").startswith(MISMATCH)
                conn.execute(
                    "UPDATE upstream_outbox SET status = 'dead', last_error = ?, remote_body = ?"
                    " WHERE id = ?",
                    (reason, json.dumps(stored, ensure_ascii=False) if mismatch else None, row_id),
                )
                if mismatch and row[2] == "service":
                    release(db, key)  # the platform has a service record for it: ratings may go
                else:
                    cascade(db, key, "dead", reason)
                log.warning("upstream %s refused %s for good: %s", self.target, key, reason)
                counts["dead"] += 1
            else:
                conn.execute(
                    "UPDATE upstream_outbox SET status = ?, next_attempt = ?, last_error = ? WHERE id = ?",
                    (status, now + self.backoff.delay(attempts), reason, row_id),
                )
                counts["rejected"] += 1
        if self.after_confirm is not None and hooked:
            self.after_confirm(db, hooked)
        set_state(db, "last_success_%s" % self.target, int(now))
        return counts

    def drain(self, progress=None, stop=None, give_up_on_error=True, max_seconds=None):
        """Send batches until nothing is due; return the summed counts.
        `progress(counts)` after each batch. With give_up_on_error, the first
        transport failure ends the drain (its error is in the result)."""
        total = {"sent": 0, "confirmed": 0, "rejected": 0, "dead": 0, "held": 0, "error": None, "batches": 0}
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
            for name in ("sent", "confirmed", "rejected", "dead", "held"):
                total[name] += counts.get(name, 0)
            total["error"] = counts["error"]
            if progress is not None:
                progress(counts)
            if counts["error"] and give_up_on_error:
                break
        return total
