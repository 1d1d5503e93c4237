"""The sd_notify protocol for `hostd run` under systemd (Type=notify).

READY=1 once everything runs; STOPPING=1 when it stops; and, when systemd
set a watchdog (WATCHDOG_USEC), WATCHDOG=1 every half of its interval, but
only while hostd works: the store's writer commits a no-op within a quarter
of the interval, and no MQTT message has been in the collector's hands for
longer. When either is stuck, the feeding stops (and the log says which),
so systemd restarts hostd; the ratings wait meanwhile on the devices.

Outside systemd (no NOTIFY_SOCKET) nothing is sent. The datagrams go
through the `sdnotify` package (a kept implementation of the protocol).
take() reads systemd's variables at start and removes them from the
environment, as sd_notify(3)'s unset_environment does: hostd's Mosquitto
(Debian's speaks sd_notify too) must not tell systemd it is ready for us.
"""

import logging
import os
import threading

import sdnotify

log = logging.getLogger("hostd.service")


_VARIABLES = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")


def take():
    """(the notifier or None, seconds between WATCHDOG=1 or None), systemd's
    variables then removed from this process's environment."""
    notifier = sdnotify.SystemdNotifier() if os.environ.get("NOTIFY_SOCKET") else None
    usec, pid = os.environ.get("WATCHDOG_USEC"), os.environ.get("WATCHDOG_PID")
    for name in _VARIABLES:
        os.environ.pop(name, None)
    interval = None
    if usec and (not pid or pid == str(os.getpid())):
        try:
            interval = int(usec) / 2e6  # half of systemd's timeout
        except ValueError:
            interval = None
    return notifier, interval


def stuck(store, collector, limit):
    """What does not make progress ("" when everything does)."""
    try:
        store.run(lambda db: None, timeout=limit)
    except TimeoutError:
        return "the store's writer has not committed in %.0f s" % limit
    busy = collector.busy_for() if collector is not None else 0.0
    if busy > limit:
        return "the collector has held one message for %.0f s" % busy
    return ""


class Notifier:
    """Made at the very start of `hostd run` (before any child process), told
    what to watch once the store and the collector run (watch())."""

    def __init__(self):
        self._notifier, self.interval = take()
        self.enabled = self._notifier is not None
        self.store = self.collector = self.stop = None
        self._thread = None
        self.fed = 0  # WATCHDOG=1 sent

    def watch(self, store, collector, stop):
        self.store, self.collector, self.stop = store, collector, stop
        return self

    def send(self, line):
        if self._notifier is not None:
            self._notifier.notify(line)

    def ready(self, status=""):
        """READY=1, then the watchdog (when systemd asked for one)."""
        self.send("READY=1\nSTATUS=%s" % (status or "running").encode("ascii", "replace").decode())
        if self.enabled and self.interval:
            self._thread = threading.Thread(target=self._feed, name="hostd-watchdog", daemon=True)
            self._thread.start()
        return self

    def stopping(self):
        self.send("STOPPING=1")

    def _feed(self):
        interval = self.interval or 1.0
        complained = ""
        assert self.stop is not None  # watch() came first
        while not self.stop.wait(interval):
            why = stuck(self.store, self.collector, interval / 2)
            if why:
                if why != complained:
                    log.error("watchdog not fed: %s; systemd restarts hostd if it stays so", why)
                    self.send("STATUS=stuck: %s" % why)
                complained = why
                continue
            if complained:
                log.info("watchdog fed again: hostd works")
                self.send("STATUS=running")
                complained = ""
            self.fed += 1  # counted first: whoever sees the datagram sees the count
            self.send("WATCHDOG=1")
