"""The supervisor's relay thread: the serial console and the board's pipes.

One thread polls the pty master (the host side of the serial port), the
MicroPython process's stdin/stdout pipes, and the board's event and SPI
pipes, and moves bytes between them as a board's USB-serial bridge does
(simulator/supervisor.py describes the board). `Relay` is a part of
`Supervisor` (a mixin): its state (master, _fds, _to_pty, _to_device ...) is
set up there.
"""

import errno
import os
import select
import signal
import termios
import time

PTY_BACKLOG = 64 * 1024  # output kept for a slow reader; beyond it, dropped
STALE_S = 1.0  # host silent this long: the output it did not read is stale, dropped
_EXIT_MODES = {10: "friendly", 11: "raw", 12: "friendly"}
# machine.reset_cause() codes (the ESP32 port's): a power-on, the watchdog,
# and esp_restart() (machine.reset(), a panic), which the port reports as soft.
PWRON_RESET, WDT_RESET, SOFT_RESET = 1, 3, 5


class Relay:
    def _loop(self):
        poller = select.poll()
        with self._lock:
            self._boot("friendly")
        self._booted.set()
        while True:
            with self._lock:
                if self._stopping and not self.running():
                    self._drop_fds()
                    return
                if self._cycle and not self._stopping:
                    self._cycle = False
                    self._kill()
                    self._chip_reset(PWRON_RESET)
                    self._boot("friendly")
                if self.wdt_due is not None and time.monotonic() > self.wdt_due and not self._stopping:
                    self._kill()  # RAM and CPU state gone, flash kept: as a power cut
                    self.watchdog_resets += 1
                    self._note("watchdog")
                    self._chip_reset(WDT_RESET)
                    self._boot("friendly")
                watched = self._watch(poller)
            for fd, mask in poller.poll(200):
                with self._lock:
                    self._serve(watched.get(fd), fd, mask)
            for fd in watched:
                poller.unregister(fd)

    def _watch(self, poller):
        watched = {self._wake_r: "wake", self.master: "pty"}
        poller.register(self._wake_r, select.POLLIN)
        poller.register(self.master, select.POLLIN | (select.POLLOUT if self._to_pty else 0))
        for name in ("stdout", "events", "spi"):
            fd = self._fds.get(name)
            if fd is not None:
                watched[fd] = name
                poller.register(fd, select.POLLIN)
        fd = self._fds.get("stdin")
        if fd is not None and self._to_device:
            watched[fd] = "stdin"
            poller.register(fd, select.POLLOUT)
        return watched

    def _serve(self, name, fd, mask):
        if name in ("stdout", "events", "spi", "stdin") and self._fds.get(name) != fd:
            return  # the process was replaced while we polled
        if name == "wake":
            _read(fd)
        elif name == "pty":
            if mask & select.POLLIN:
                self._from_host(_read(fd))
            if mask & select.POLLOUT:
                self._flush_pty()
        elif name == "stdin":
            self._flush_device()
        elif name == "stdout":
            data = _read(fd)
            if data:
                self._from_device(data)
            elif data is not None:  # EOF: the process ended
                self._ended()
        elif name == "events":
            self._board_events(_read(fd) or b"")
        elif name == "spi":
            data = _read(fd)
            if data:
                self.panel and self.panel.feed_stream(data)
                self.panel_version += 1
                if self.spi_file is not None and self._spi_out:
                    self._spi_out.write(data)

    def _from_host(self, data):
        if not data:
            return
        now = time.monotonic()
        if now - self._last_host > STALE_S:
            # A new conversation (a program opened the port): output nobody
            # read meanwhile is gone, as a closed serial port loses it; a
            # client must not mistake an old "raw REPL" banner for an answer.
            self._to_pty.clear()
            termios.tcflush(self._slave, termios.TCIFLUSH)
        self._last_host = now
        start = 0
        for i, byte in enumerate(data):
            if byte == 3:
                if self._console:
                    self._to_device += data[start:i]
                self._flush_device()
                self._interrupt()
                self._console = True  # the interrupt brings the REPL up
                start = i + 1
        if self._console:
            self._to_device += data[start:]
        self._flush_device()

    def _interrupt(self):
        if self._ready and self.running():
            self.proc.send_signal(signal.SIGINT)
        else:
            self._pending_intr = True

    def _flush_device(self):
        fd = self._fds.get("stdin")
        if fd is None or not self._to_device:
            return
        try:
            n = os.write(fd, self._to_device)
            del self._to_device[:n]
        except BlockingIOError:
            pass
        except OSError:
            self._to_device.clear()

    def _from_device(self, data):
        self.log.write(data)
        cooked = bytearray()
        last = self._last_out
        for byte in data:
            if byte == 10 and last != 13:
                cooked.append(13)
            cooked.append(byte)
            last = byte
        self._last_out = last
        self._to_pty += cooked
        if len(self._to_pty) > PTY_BACKLOG:
            del self._to_pty[:-1024]  # nobody is reading: a UART would have lost it too
        self._flush_pty()

    def _flush_pty(self):
        if not self._to_pty:
            return
        try:
            n = os.write(self.master, self._to_pty)
            del self._to_pty[:n]
        except BlockingIOError:
            pass
        except OSError as e:
            if e.errno != errno.EIO:
                raise

    def _chip_reset(self, cause):
        """The chip resets: the watchdog stops, and the next boot reports `cause`."""
        self.reset_cause = cause
        self.wdt_ms = self.wdt_due = None

    def _board_events(self, data):
        self._events_buf += data
        *lines, self._events_buf = self._events_buf.split(b"\n")
        for line in lines:
            word = line.decode(errors="replace")
            if word.startswith("wifi polls "):
                self.wifi_polls = int(word.split()[2])
                continue  # the board's virtual time, not an event
            if word == "feed":
                if self.wdt_ms is not None:
                    self.wdt_due = time.monotonic() + self.wdt_ms / 1000
                continue  # not an event: one every quarter timeout
            if word.startswith("watchdog "):
                self.wdt_ms = int(word.split()[1])
                self.wdt_due = time.monotonic() + self.wdt_ms / 1000
            elif word == "ready":
                self._ready = True
                if self._pending_intr:
                    self._pending_intr = False
                    self.proc.send_signal(signal.SIGINT)
            elif word.startswith("reset"):
                self._ready = False
            elif word == "repl":
                self._console = True
            self._note(word)

    def _ended(self):
        code = self.proc.wait()
        self._drop_fds()
        if self._stopping:
            return
        mode = _EXIT_MODES.get(code)
        if mode is None:
            self._note(f"crash {code}")
            self._from_device(f"\nboard: MicroPython ended with code {code}; rebooting\n".encode())
            time.sleep(0.5)
            mode = "friendly"
            self._chip_reset(SOFT_RESET)  # a panic
        elif code == 12:
            self._chip_reset(SOFT_RESET)  # machine.reset(): esp_restart()
        # else a soft reboot (Ctrl-D): the chip was not reset, the watchdog runs on
        self._boot(mode)


def _read(fd):
    try:
        return os.read(fd, 65536)
    except BlockingIOError:
        return None
    except OSError as e:
        if e.errno == errno.EIO:
            return None
        raise


def close_fd(fd):
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass
