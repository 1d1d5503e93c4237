"""`hostd device station`: a flashing bench for a batch of boards.

It watches a glob of serial ports. Each board that appears is, in turn:

    flashed      MicroPython written with esptool (hostd.devices.flash)
    given an id  the next registered device with no board yet (or the next of
                 --ids); a board met before (same MAC) keeps the id it had
    provisioned  firmware, config and key, then its first heartbeat
    labelled     ID.png, and the PDF sheet of every label made in this run

and one line is printed for it: id, window, MAC, result. A board that fails
is reported and skipped; it never consumes an id before its firmware is
written, and never gets a second one after. The station keeps going until
stopped (Ctrl-C) or, with --boards N, after N boards.

A port is handled once while it stays present; unplug the board and plug in
the next one (or another into the same socket) to go on.
"""

import glob
import threading
import time
from collections import namedtuple
from pathlib import Path

from hostd.base.errors import UserError
from hostd.devices import boards, flash, label, label_sheet, provision, registry

Result = namedtuple("Result", "port device_id window mac ok detail seconds")

SHEET = "labels.pdf"


def line(result):
    """One line per board, in columns: id, window, MAC, result."""
    return "%-12s %-8s %-17s %s  %s (%.1f s)" % (
        result.device_id or "-",
        result.window or "-",
        result.mac or "-",
        "ok    " if result.ok else "FAILED",
        result.detail,
        result.seconds,
    )


class Station:
    def __init__(
        self,
        home,
        db,
        pattern,
        firmware,
        chip=None,
        baud=flash.DEFAULT_BAUD,
        ids=None,
        labels_dir="labels",
        wifi_ssid=None,
        wifi_password=None,
        say=print,
        tty=None,
        boot_wait=30.0,
        heartbeat_timeout=60,
        poll_s=0.5,
    ):
        self.home, self.db = home, db
        self.pattern = pattern
        self.firmware = firmware
        self.chip = flash.check_firmware(firmware, chip)  # before the first board
        self.baud = baud
        self.ids = list(ids) if ids else None
        self.labels_dir = Path(labels_dir)
        self.wifi = (wifi_ssid, wifi_password)
        self.say = say
        self.tty = tty
        self.boot_wait = boot_wait
        self.heartbeat_timeout = heartbeat_timeout
        self.poll_s = poll_s
        self.labels = []  # this run's label images, for the sheet
        self.results = []
        for device_id in self.ids or ():
            registry.device_key(db, device_id)  # unknown or revoked: refused before any board

    def run(self, stop=None, boards_max=None):
        """Handle boards as they appear until `stop` is set or `boards_max` are done; return the results."""
        stop = stop or threading.Event()
        seen = set()
        self.labels_dir.mkdir(parents=True, exist_ok=True)
        self.say("waiting for boards on %s (Ctrl-C to stop)" % self.pattern)
        while not stop.is_set():
            present = set(glob.glob(self.pattern))
            seen &= present  # a port that went away may bring the next board
            for port in sorted(present - seen):
                seen.add(port)
                result = self.one(port)
                self.results.append(result)
                self.say(line(result))
                if boards_max is not None and len(self.results) >= boards_max:
                    return self.results
                if stop.is_set():
                    break
            stop.wait(self.poll_s)
        return self.results

    def _next_id(self):
        free = boards.unassigned(self.db, self.ids)
        return free[0] if free else None

    def one(self, port):
        """Flash, assign, provision and label the board on `port`; return its Result."""
        started = time.monotonic()
        mac = device_id = window = None

        def result(ok, detail):
            return Result(port, device_id, window, mac, ok, detail, time.monotonic() - started)

        if self._next_id() is None:
            return result(
                False, "no device id left to give: add devices with `hostd device add ID --window W`"
            )
        self.say("board on %s:" % port)
        try:
            flashed = flash.flash(
                port, self.firmware, self.chip, self.baud, say=lambda t: self.say("  " + t), tty=self.tty
            )
        except UserError as exc:
            return result(False, "flash: %s" % exc)
        mac = flashed.mac
        candidate = self._next_id()
        if boards.assigned(self.db, mac) is None and candidate is None:
            return result(
                False, "flashed, but no device id is left to give: add one and plug the board in again"
            )
        device_id = boards.claim(self.db, mac, candidate, flashed.chip)
        window = registry.get_device(self.db, device_id)["window"]
        try:
            provision.wait_micropython(port, self.boot_wait)
            provision.provision(
                self.home,
                self.db,
                device_id,
                port,
                *self.wifi,
                timeout=self.heartbeat_timeout,
                say=lambda t: self.say("  " + t),
            )
        except UserError as exc:
            boards.record(self.db, mac, "failed: %s" % exc)
            return result(False, "provision: %s (plug it in again to retry as %s)" % (exc, device_id))
        info = registry.get_device(self.db, device_id)
        image = label.render(device_id, info["hall"], info["window"])
        png = label.save(self.labels_dir / ("%s.png" % device_id), image)
        self.labels.append(image)
        label_sheet.write(self.labels_dir / SHEET, self.labels)
        boards.record(self.db, mac, "ok")
        return result(
            True,
            "flash %.1f s, provisioned, label %s" % (flashed.seconds, png),
        )
