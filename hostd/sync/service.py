"""Upstream sync as the daemon and the CLI run it: wiring, the sync thread,
the status summary, and the lock that keeps one sender per home.

`hostd run` starts a SyncThread when upstream.url (or twelve345_url) is set;
`hostd sync --once` drains from the CLI, and refuses while `hostd run`
holds the lock (two senders would race for the same rows).
"""

import fcntl
import logging
import os
import threading
import time

from hostd.base.errors import UserError
from hostd.base.home import read_secret as home_secret
from hostd.sync import adapters, codetable, wire
from hostd.sync.sender import Backoff, Sender
from hostd.sync.twelve345 import Forwarder

log = logging.getLogger("hostd.upstream")


class SyncBusy(UserError):
    """Another process (hostd run) is syncing this home."""


def secret_path(home, config):
    return config["upstream"]["secret_file"] or str(home.keys / "upstream-secret")


def read_secret(home, config):
    return home_secret(secret_path(home, config), "upstream", "upstream.secret_file")


def take_lock(home):
    """Hold <home>/upstream.lock; return the open file (keep it) or raise SyncBusy."""
    handle = open(os.path.join(str(home.path), "upstream.lock"), "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise SyncBusy(
            "another hostd (hostd run) is syncing %s now; it drains the backlog"
            " itself: see `hostd sync --status`" % home.path
        )
    return handle


def check(config):
    """Stop `hostd run` now, in one line, if the upstream settings cannot
    work (a code table missing or lacking a code); warn on an example table.
    Return the code table, or None when upstream sync is off."""
    up = config["upstream"]
    if not up["url"]:
        return None
    table = codetable.for_config(up)
    if table.example:
        log.warning(
            "upstream.code_table %s is an EXAMPLE (about.example = true): its codes are not your"
            " province's; replace them before the platform counts these ratings",
            table.path,
        )
    return table


def build(home, config, write, read):
    """(province Sender or None, 12345 Forwarder or None) from the config."""
    up = config["upstream"]
    if not up["url"] and not up["twelve345_url"]:
        return None, None
    secret = read_secret(home, config)
    backoff = Backoff(base=2.0, cap=float(up["backoff_cap_s"]))
    sender = forwarder = None
    if up["url"]:
        table = codetable.for_config(up)
        sender = Sender(
            adapters.make_adapter(up, secret, table),
            write,
            read,
            batch_size=up["batch_size"],
            backoff=backoff,
            translate=wire.Translator(table, up).to_wire,
            service_records=up["service_records"],
            service_wait_s=up["service_wait_hours"] * 3600,
        )
    if up["twelve345_url"]:
        forwarder = Forwarder(
            up["twelve345_url"], secret, write, read, backoff=backoff, timeout=up["timeout_s"]
        )
    return sender, forwarder


class SyncThread:
    """Drains the outbox while hostd runs; polls 12345 every poll_s."""

    def __init__(self, home, config, store, poll_s=5.0, idle_s=1.0):
        self.home, self.config, self.store = home, config, store
        self.poll_s, self.idle_s = poll_s, idle_s
        self._stop = threading.Event()
        self._thread = None
        self._lock = None

    def start(self):
        sender, forwarder = build(self.home, self.config, self.store.run, self.store.read)
        if sender is None and forwarder is None:
            return None
        self._lock = take_lock(self.home)
        self._thread = threading.Thread(
            target=self._run, args=(sender, forwarder), name="hostd-upstream-sync", daemon=True
        )
        self._thread.start()
        log.info(
            "upstream sync on: platform %s, 12345 %s",
            self.config["upstream"]["url"] or "off",
            self.config["upstream"]["twelve345_url"] or "off",
        )
        return self

    def _run(self, sender, forwarder):
        for part in (sender, forwarder and forwarder.sender):
            if part is not None:
                part.recover()
        last_poll = 0.0
        while not self._stop.is_set():
            try:
                busy = False
                if sender is not None:
                    busy = sender.step() is not None
                if forwarder is not None:
                    busy = (forwarder.sender.step() is not None) or busy
                    if time.monotonic() - last_poll >= self.poll_s:
                        last_poll = time.monotonic()
                        forwarder.poll()
            except Exception:  # keep syncing; the error is logged once per failure
                log.exception("upstream sync step failed")
                busy = False
            if not busy:
                self._stop.wait(self.idle_s)

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
        if self._lock is not None:
            self._lock.close()


OPEN_STATES = ("pending", "sent", "rejected")


def _counts(q, target):
    return dict(q("SELECT status, COUNT(*) FROM upstream_outbox WHERE target = ? GROUP BY status", (target,)))


def status(db, now):
    """The numbers `hostd sync --status` and the dashboard show. The top-level
    pending / confirmed / dead / held / external / oldest_pending_age_s are the
    provincial platform's; `twelve345` has the hotline's."""
    q = db.conn.execute
    by_status = dict(q("SELECT status, COUNT(*) FROM upstream_outbox GROUP BY status").fetchall())
    province, hotline = _counts(q, "province"), _counts(q, "12345")
    by_target = dict(
        q(
            "SELECT target, COUNT(*) FROM upstream_outbox WHERE status IN"
            " ('pending', 'sent', 'rejected') GROUP BY target"
        ).fetchall()
    )
    oldest = q(
        "SELECT MIN(created_at) FROM upstream_outbox WHERE target = 'province'"
        " AND status IN ('pending', 'sent', 'rejected')"
    ).fetchone()[0]
    dead = q(
        "SELECT id, target, key, kind, last_error, attempts FROM upstream_outbox WHERE status = 'dead'"
        " ORDER BY id DESC LIMIT 20"
    ).fetchall()
    state = dict(q("SELECT name, value FROM upstream_state").fetchall())
    return {
        "pending": sum(province.get(s, 0) for s in OPEN_STATES),
        "confirmed": province.get("confirmed", 0),
        "dead": province.get("dead", 0),
        "held": province.get("held", 0),
        "external": province.get("external", 0),
        "oldest_pending": oldest,
        "oldest_pending_age_s": None if oldest is None else max(0, int(now - oldest)),
        "twelve345": {
            "pending": sum(hotline.get(s, 0) for s in OPEN_STATES),
            "confirmed": hotline.get("confirmed", 0),
            "dead": hotline.get("dead", 0),
        },
        "by_status": by_status,
        "backlog": sum(by_target.values()),
        "backlog_by_target": by_target,
        "blocked": q(
            "SELECT COUNT(*) FROM upstream_outbox WHERE blocked = 1 AND status IN"
            " ('pending', 'sent', 'rejected')"
        ).fetchone()[0],
        "dead_letters": [
            {"id": i, "target": t, "key": k, "kind": kind, "reason": e, "attempts": a}
            for i, t, k, kind, e, a in dead
        ],
        "last_success": int(state["last_success_province"]) if "last_success_province" in state else None,
        "last_success_12345": int(state["last_success_12345"]) if "last_success_12345" in state else None,
        "last_error": state.get("last_error"),
    }
