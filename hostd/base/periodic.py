"""A job that `hostd run` repeats in a thread of its own.

A subclass names its thread and gives `once()`; `start()` runs it at once
and then every `interval` seconds until `stop()`. A failing run is logged
with its traceback and tried again at the next interval: one bad run never
ends the job. Used by the default ratings (hostd/recording/defaults.py), the alert
watch (hostd/alerts/watch.py) and the planner statistics (hostd/db/upkeep.py).
"""

import logging
import threading


class Periodic:
    thread_name = "hostd-periodic"
    log = logging.getLogger("hostd")

    def __init__(self, interval):
        self.interval = interval
        self.runs = 0  # runs finished, failed ones included
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)

    def once(self):
        raise NotImplementedError

    def start(self):
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            try:
                self.once()
            except Exception:
                self.log.exception("%s failed; retrying in %ss", self.thread_name, self.interval)
            self.runs += 1
            self._stop.wait(self.interval)

    def stop(self, timeout=10.0):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
