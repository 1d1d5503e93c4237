"""The board around one simulated device: its power, its USB-serial port, its panel.

The device itself is a MicroPython process (the unix port with a 100 KB heap
and the firmware's ROMFS image, simulator/launch.py) running
simulator/board/boot.py. This CPython object plays the hardware around it:

- **Serial port.** It owns a pseudo-terminal; `mpremote` opens the slave
  side (/dev/pts/N) as it opens /dev/ttyUSB0. One thread relays bytes
  between the pty master and the process's stdin/stdout pipes, turns a bare
  "\\n" into "\\r\\n" as a board's HAL does, and turns Ctrl-C into SIGINT so
  it interrupts whatever runs (simulator/board/console.py has the REPL).
  Output nobody reads is dropped, as a UART drops it; the device never blocks.
- **ROM.** The board's own modules are one ROMFS image (build/board.romfs,
  simulator/build.py), as frozen into a board's MicroPython; the device's
  romfs partition is the file <flash dir>/romfs.img, written through
  `vfs.rom_ioctl` (simulator/board/rom_partition.py) by `mpremote romfs
  deploy` or `hostd device provision`. A blank one boots to the REPL;
  `firmware="auto"` preloads the repo's firmware (preload_firmware).
- **Console.** Until the REPL runs, or a Ctrl-C brings it up, host bytes are
  dropped (nothing reads the UART); after a second of host silence, output
  the host never read is dropped too, so a new client never mistakes an old
  "raw REPL" banner for an answer.
- **Power.** A soft or hard reset ends the process; the supervisor starts a
  fresh one on the same pty (raw mode after a raw-REPL soft reset). A power
  cut is SIGKILL, then the same. The littlefs image on disk is the flash.
- **Buttons** go down a control pipe; **the panel's SPI stream** comes up a
  pipe and is decoded into pixels (simulator/panel_decode.py) on demand.
- **Events** from the board (ready, firmware, repl, reset ...) come up a
  third pipe; `on_event` sees them, with "crash N" when the process died.
"""

import ctypes
import os
import pty
import signal
import subprocess
import threading
import time
import tty
from pathlib import Path

from simulator import build, launch
from simulator.panel_decode import PanelDecoder
from simulator.relay import PWRON_RESET, Relay, close_fd

ROOT = Path(__file__).resolve().parent.parent
BOARD = ROOT / "simulator" / "board"
HEAP = "100K"
SPEAKER_FILE = "speaker.wav"  # what the board's I2S amplifier played (board/machine.py I2S)
PARTITION_FILE = build.PARTITION_FILE


def micropython_command(partition=None, heap=HEAP, *args):
    """The unix port with the board's ROM image mapped, and the device's romfs
    partition file `partition` (None: a board without one), running boot.py
    with `args` in the working folder (simulator/launch.py)."""
    return launch.command(partition, heap, *args)


def micropython_env(autorun=False):
    return launch.environment(autorun)


_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    # In the child before exec: the device loses power when its supervisor
    # (the thread that started it) goes away, however that happens.
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _pipe():
    r, w = os.pipe()
    return r, w


def _nonblocking(fd):
    os.set_blocking(fd, False)
    return fd


class Supervisor(Relay):
    def __init__(
        self,
        flash_dir,
        log_path=None,
        spi_file=None,
        panel=True,
        on_event=None,
        firmware="auto",
        romfs=True,
        heap=HEAP,
    ):
        """firmware: "auto" or "none" (preload_firmware); romfs=False: a board
        whose MicroPython has no romfs partition (no vfs.rom_ioctl)."""
        self.flash_dir = Path(flash_dir)
        self.flash_dir.mkdir(parents=True, exist_ok=True)
        self.firmware = firmware if romfs else "none"
        self.romfs = romfs
        self.heap = heap
        self.partition = self.flash_dir / PARTITION_FILE
        self.image = self.flash_dir / "flash.img"
        self.log_path = Path(log_path) if log_path else self.flash_dir / "device.log"
        self.spi_file = Path(spi_file) if spi_file else None
        self.on_event = on_event
        self.panel = PanelDecoder() if panel else None
        self.panel_version = 0  # grows whenever the panel got new bytes
        self.port = None
        self.proc = None
        self.boots = 0
        self.events = []  # (monotonic time, word)
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._thread = None
        self._stopping = False
        self._cycle = False
        # What the board is powered up with: machine.reset_cause()'s code,
        # and the hall's access point (see wifi()).
        self.reset_cause = PWRON_RESET
        self.ap_up = True
        self.ap_password = None
        # The hardware watchdog (machine.WDT): its timeout and the monotonic
        # time by which the next feed must come; None while not started.
        self.wdt_ms = None
        self.wdt_due = None
        self.watchdog_resets = 0
        self.wifi_polls = 0  # the Wi-Fi station's status polls, told every 500: virtual time
        self._booted = threading.Event()
        self._ready = False
        self._pending_intr = False
        self._console = False  # the REPL reads the console (see _boot)
        self._to_device = bytearray()
        self._to_pty = bytearray()
        self._last_out = 0
        self._last_host = 0.0  # monotonic time of the last byte from the host
        self._fds = {}

    # -- public -----------------------------------------------------------
    def start(self):
        self.master, self._slave = pty.openpty()
        tty.setraw(self._slave)  # no echo or line editing before a client sets its own mode
        _nonblocking(self.master)
        self.port = os.ttyname(self._slave)
        self._wake_r, self._wake_w = (_nonblocking(fd) for fd in _pipe())
        self.log = open(self.log_path, "ab", buffering=0)
        # The relay thread starts every process, so that it is their parent
        # for as long as the board exists (see _die_with_parent).
        self._thread = threading.Thread(target=self._loop, name=f"sim {self.port}", daemon=True)
        self._thread.start()
        self._booted.wait(60)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def press(self, button, hold_ms=None):
        """Press button 1..5, counted from the left (1 = 非常满意); `hold_ms`:
        hold it down that long (a long press is 1.5 s), else a short press."""
        if not 1 <= int(button) <= 5:
            raise ValueError("buttons are numbered 1 to 5 from the left")
        if hold_ms is None:
            return self.control("press %d" % int(button))
        return self.control("press %d %d" % (int(button), int(hold_ms)))

    def control(self, line):
        """Send one line to the board's control pipe ("press 3", "fault");
        False if the board is off or the pipe is full."""
        with self._lock:
            fd = self._fds.get("control")
            if fd is None:
                return False
            try:
                os.write(fd, (line + "\n").encode())
            except (BlockingIOError, BrokenPipeError):
                return False
        return True

    def wifi(self, up=None, password=False):
        """The hall's access point: up or down, and its password (None: any
        password joins). Kept across the board's reboots."""
        with self._lock:
            if up is not None:
                self.ap_up = bool(up)
                self.control("wifi %s" % ("up" if up else "down"))
            if password is not False:
                self.ap_password = password
                self.control("wifi password %s" % (password if password is not None else "-"))

    def freeze(self):
        """Hang the firmware's loop (its next button read never returns): only
        the watchdog gets the board out."""
        return self.control("freeze")

    def power_cycle(self):
        """Cut the power (SIGKILL) and switch it on again from the same flash.

        Returns once the new process started, with the index in `events` of its
        boot (for wait_event(..., since=)).
        """
        with self._lock:
            boots = self.boots
            self._cycle = True
            self._wake()
            while self.boots == boots and self._thread.is_alive():
                self._changed.wait(0.2)
            return len(self.events) - 1

    def stop(self, kill=False):
        """Switch the device off (SIGKILL when `kill`: a power cut) and close the port."""
        with self._lock:
            self._stopping = True
            if self.running():
                if kill:
                    self.proc.kill()
                else:
                    self.proc.terminate()
        self._wake()
        if self._thread is not None:
            self._thread.join(10)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for fd in (self.master, self._slave, self._wake_r, self._wake_w):
            close_fd(fd)
        self.log.close()

    def wait_event(self, word, timeout=20, since=0):
        """Wait until the board reports `word` (after the `since`-th event); True if it did."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                if any(w == word for _, w in self.events[since:]):
                    return True
                left = deadline - time.monotonic()
                if left <= 0 or (self._stopping and not self.running()):
                    return False
                self._changed.wait(min(left, 0.2))

    def screenshot(self, path):
        """Save the panel as it is now to a PNG."""
        with self._lock:
            image = self.panel.image()
        image.save(path)
        return path

    # -- the device process ---------------------------------------------------
    def _boot(self, mode):
        """Start a fresh MicroPython process (caller holds the lock or owns the thread)."""
        stdin_r, stdin_w = _pipe()
        stdout_r, stdout_w = _pipe()
        control_r, control_w = _pipe()
        events_r, events_w = _pipe()
        child = [stdin_r, stdout_w, control_r, events_w]
        spi = "-"
        if self.panel is not None or self.spi_file is not None:
            spi_r, spi_w = _pipe()
            child.append(spi_w)
            spi = str(spi_w)
            self._fds["spi"] = _nonblocking(spi_r)
            if self.spi_file is not None:
                self._spi_out = open(self.spi_file, "wb")
        autorun = build.preload_firmware(self.flash_dir, self.firmware)
        args = [
            *micropython_command(self.partition if self.romfs else None, self.heap, self.image.name, mode),
            str(control_r),
            str(events_w),
            spi,
        ]
        env = micropython_env(autorun)
        env["VBOARD_RESET"] = str(self.reset_cause)
        env["VBOARD_WIFI_AP"] = "up" if self.ap_up else "down"
        env["VBOARD_AUDIO"] = str(Path(self.flash_dir).resolve() / SPEAKER_FILE)
        if self.ap_password is not None:
            env["VBOARD_WIFI_PASSWORD"] = self.ap_password
        self.proc = subprocess.Popen(
            args,
            env=env,
            stdin=stdin_r,
            stdout=stdout_w,
            stderr=subprocess.STDOUT,
            cwd=self.flash_dir,
            pass_fds=child[2:],
            preexec_fn=_die_with_parent,
            start_new_session=True,
        )
        for fd in child:
            os.close(fd)
        self._fds.update(
            stdin=_nonblocking(stdin_w),
            stdout=_nonblocking(stdout_r),
            control=_nonblocking(control_w),
            events=_nonblocking(events_r),
        )
        self._events_buf = b""
        self._ready = False
        self._pending_intr = False
        self._to_device.clear()
        # Until the REPL runs (or a Ctrl-C brings it up), nothing reads the
        # console: bytes from the host are dropped, so that a command sent
        # into a board that just lost power is not run later by its REPL.
        self._console = mode == "raw"
        self.boots += 1
        self._note(f"boot {mode}")

    def _kill(self):
        if self.running():
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait()
        self._drop_fds()

    def _drop_fds(self):
        for name in ("stdin", "stdout", "control", "events", "spi"):
            close_fd(self._fds.pop(name, None))
        if self.spi_file is not None and getattr(self, "_spi_out", None):
            self._spi_out.close()
            self._spi_out = None

    def _note(self, word):
        self.events.append((time.monotonic(), word))
        self._changed.notify_all()
        if self.on_event is not None:
            self.on_event(word)

    def _wake(self):
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass
