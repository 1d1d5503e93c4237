"""A board in download mode, for tests: esp32-mock-bootloader answers the ESP32
ROM bootloader's protocol (sync, chip detection, stub upload, erase, write,
MD5) on a PTY, into an in-memory flash a test reads back. Real esptool talks
to it through hostd's own code.

What a real board adds and the stand-in does not, this module adds:
  - its own MAC (the stand-in derives one MAC from the chip name; every real
    board has its own), read by esptool from the efuse registers;
  - a cable pulled mid-write (`cut_after` flash blocks: the PTY closes);
  - the reset into MicroPython (`then`): once esptool has written the image
    and let go of the port, the same port relays to a simulator board's
    serial port, as a real board's USB port goes from the ROM to MicroPython.

The server runs in this process, on threads, so the flash image is a plain
bytearray here.
"""

import os
import pty
import select
import threading
import time
import tty

from esp32_mock_bootloader import registers, server

_local = threading.local()
_original_read_reg = server._read_reg_value_for_chip


def _read_reg(addr, chip):
    mac = getattr(_local, "mac", None)
    if mac is not None:
        value = registers._mac_registers(chip, mac).get(addr)
        if value is not None:
            return value
    return _original_read_reg(addr, chip)


server._read_reg_value_for_chip = _read_reg


class _Flash(server.FlashImage):
    def __init__(self, board):
        super().__init__()
        self.board = board
        self.blocks = 0
        self.written = 0

    def _block(self):
        self.blocks += 1
        if self.board.cut_after is not None and self.blocks >= self.board.cut_after:
            self.board.pull_cable()
            raise _Pulled()

    def write_defl_block(self, payload):
        super().write_defl_block(payload)
        self.written += 1
        self._block()

    def write_plain_block(self, payload):
        super().write_plain_block(payload)
        self.written += 1
        self._block()


class _Pulled(Exception):
    pass


class RomBoard:
    def __init__(self, chip="esp32", mac=None, cut_after=None, then=None):
        self.chip = chip
        self.mac = tuple(mac) if mac else None
        self.cut_after = cut_after
        self.then = then  # the simulator's serial port, after the reset
        self.flash = _Flash(self)
        self.master, slave = pty.openpty()
        tty.setraw(self.master)
        self.path = os.ttyname(slave)
        self._slave = slave
        self.stop_event = threading.Event()
        self.sessions = 0
        self.relaying = threading.Event()
        self.pulled = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def read(self, offset, length):
        return bytes(self.flash.data[offset : offset + length])

    def mac_text(self):
        mac = self.mac or registers.mac_bytes_for_chip(self.chip)
        return ":".join("%02x" % b for b in mac)

    def pull_cable(self):
        if not self.pulled:
            self.pulled = True
            os.close(self.master)

    def stop(self):
        self.stop_event.set()
        self.thread.join(5)
        if not self.pulled:
            self.pull_cable()

    def _serve(self):
        _local.mac = self.mac
        slave = self._slave
        try:
            while not self.stop_event.is_set() and not self.pulled:
                # A fresh slave reference each session: a client that closes
                # the port is then seen as EOF, and the next one is waited for.
                if slave is None:
                    slave = os.open(self.path, os.O_RDWR | os.O_NOCTTY)
                transport = server.PtyMasterTransport(self.master, slave, track_disconnect=True)
                slave = None
                before = self.flash.written
                server.handle_client(
                    server.BootloaderConnection(pty=transport),
                    self.stop_event,
                    self.chip,
                    exit_on_disconnect=True,
                    flash=self.flash,
                )
                self.sessions += 1
                if self.then is not None and self.flash.written > before:
                    self._relay()
                    return
        except (_Pulled, OSError):
            return

    def _relay(self):
        """The board has reset into MicroPython: pass bytes between this port and the simulator's."""
        sim = os.open(self.then, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(sim)
        self.relaying.set()
        try:
            while not self.stop_event.is_set():
                ready, _, _ = select.select([self.master, sim], [], [], 0.1)
                for fd in ready:
                    try:
                        data = os.read(fd, 4096)
                    except OSError:  # EIO: nobody has the port open right now
                        time.sleep(0.05)
                        continue
                    if data:
                        os.write(sim if fd == self.master else self.master, data)
        finally:
            os.close(sim)
