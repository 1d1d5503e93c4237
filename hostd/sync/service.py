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
from hostd.sync import adapters
from hostd.sync.sender import Backoff, Sender
from hostd.sync.twelve345 import Forwarder

log = logging.getLogger("hostd.upstream")


class SyncBusy(UserError):
    """Another process (hostd run) is syncing this home."""


class NoSecret(UserError):
    exit_code = 2


def secret_path(home, config):
    return config["upstream"]["secret_file"] or str(home.keys / "upstream-secret")


def read_secret(home, config):
    path = secret_path(home, config)
    try:
        with open(path, "rb") as f:
            secret = f.read().strip()
    except OSError:
        secret = b""
    if not secret:
        raise NoSecret(
            "upstream secret file %s is missing or empty: put the shared secret the"
            " platform gave you in it (or set upstream.secret_file)" % path
        )
    return secret


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


def build(home, config, write, read):
    """(province Sender or None, 12345 Forwarder or None) from the config."""
    up = config["upstream"]
    if not up["url"] and not up["twelve345_url"]:
        return None, None
    secret = read_secret(home, config)
    backoff = Backoff(base=2.0, cap=float(up["backoff_cap_s"]))
    sender = forwarder = None
    if up["url"]:
        sender = Sender(
            adapters.make_adapter(up, secret),
            write,
            read,
            batch_size=up["batch_size"],
            backoff=backoff,
            dept_code=up["dept_code"],
            area_code=up["area_code"],
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


def status(db, now):
    """The numbers `hostd sync --status` and the dashboard show."""
    q = db.conn.execute
    by_status = dict(q("SELECT status, COUNT(*) FROM upstream_outbox GROUP BY status").fetchall())
    by_target = dict(
        q(
            "SELECT target, COUNT(*) FROM upstream_outbox WHERE status IN"
            " ('pending', 'sent', 'rejected') GROUP BY target"
        ).fetchall()
    )
    oldest = q(
        "SELECT MIN(created_at) FROM upstream_outbox WHERE status IN ('pending', 'sent', 'rejected')"
    ).fetchone()[0]
    dead = q(
        "SELECT key, kind, last_error, attempts FROM upstream_outbox WHERE status = 'dead'"
        " ORDER BY id DESC LIMIT 20"
    ).fetchall()
    state = dict(q("SELECT name, value FROM upstream_state").fetchall())
    return {
        "by_status": by_status,
        "backlog": sum(by_target.values()),
        "backlog_by_target": by_target,
        "blocked": q(
            "SELECT COUNT(*) FROM upstream_outbox WHERE blocked = 1 AND status IN"
            " ('pending', 'sent', 'rejected')"
        ).fetchone()[0],
        "oldest_pending": oldest,
        "oldest_pending_age_s": None if oldest is None else max(0, int(now - oldest)),
        "dead": by_status.get("dead", 0),
        "dead_letters": [{"key": k, "kind": kind, "reason": e, "attempts": a} for k, kind, e, a in dead],
        "last_success": int(state["last_success_province"]) if "last_success_province" in state else None,
        "last_success_12345": int(state["last_success_12345"]) if "last_success_12345" in state else None,
        "last_error": state.get("last_error"),
    }
