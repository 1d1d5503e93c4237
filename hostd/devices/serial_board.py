"""The one module in hostd that knows the serial port: a MicroPython board
reached through `mpremote` used as a library (SerialTransport, raw REPL).

It works the same on /dev/ttyUSB0 and on the simulator's pty. Every failure
to reach the board is a one-line UserError saying what to do:

    PortMissing     the port does not exist
    PortBusy        another program holds it (the exclusive open failed)
    NoMicroPython   nothing answers with a MicroPython raw REPL
    BoardError      the board answered, but a command failed

Paths are relative to the board's working directory: "/" on an ESP32,
/flash on the simulator.
"""

import ast
import binascii
import contextlib
import hashlib
import io
import os

from hostd.base.errors import UserError

ROM_CHUNK = 2048  # bytes per ROM write: small, so a 100 KB heap takes the command
ROM_PREPARE_STEP = 32768  # as mpremote erases a romfs partition


class PortMissing(UserError):
    exit_code = 2


class PortBusy(UserError):
    pass


class NoMicroPython(UserError):
    pass


class BoardError(UserError):
    pass


def _quiet():
    """mpremote prints what it read when the raw REPL fails; keep it off our output."""
    return contextlib.redirect_stdout(io.StringIO())


class Board:
    def __init__(self, port, transport):
        self.port = port
        self.transport = transport

    @classmethod
    def open(cls, port, timeout=5):
        """Open `port` exclusively and enter the raw REPL with a soft reset
        (it stops a running firmware; the board's heap starts empty)."""
        # lazy: mpremote loads only when a board is opened
        from mpremote.transport import TransportError
        from mpremote.transport_serial import SerialTransport

        if not os.path.exists(port):
            raise PortMissing(
                "no serial port %s: plug the board in and check the name "
                "(ls /dev/ttyUSB* /dev/ttyACM*)" % port
            )
        try:
            with _quiet():
                transport = SerialTransport(
                    port, baudrate=115200, exclusive=True, timeout=3
                )  # every read has a deadline
        except TransportError:
            raise PortBusy(
                "cannot open %s: is another program using it? Close it (mpremote, "
                "a serial console, the Arduino IDE) and try again" % port
            )
        board = cls(port, transport)
        try:
            with _quiet():
                transport.enter_raw_repl(soft_reset=True, timeout_overall=timeout)
        except (TransportError, OSError):
            board.close()
            raise NoMicroPython(
                "no MicroPython answers on %s: flash it first with "
                "`hostd device flash --port %s --firmware MICROPYTHON.bin`" % (port, port)
            )
        return board

    def close(self):
        with contextlib.suppress(Exception):
            self.transport.close()

    # -- commands ------------------------------------------------------------
    def exec(self, code):
        # lazy: mpremote loads only when a board is opened
        from mpremote.transport import TransportError

        try:
            return self.transport.exec(code)
        except TransportError as exc:
            detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else "no answer"
            raise BoardError("the board on %s failed (%s): run the command again" % (self.port, detail))
        except OSError as exc:
            raise BoardError(
                "the board on %s stopped answering (%s): check the cable, "
                "then run the command again" % (self.port, exc)
            )

    def eval(self, expression):
        return ast.literal_eval(self.exec("print(repr(%s))" % expression).decode().strip())

    def write_file(self, path, data, chunk=512):
        """Write bytes to `path` on the board (it is replaced, not renamed into place)."""
        self.exec("f=open(%r,'wb')\nw=f.write" % path)
        for at in range(0, len(data), chunk):
            self.exec("w(%r)" % data[at : at + chunk])
        self.exec("f.close()\ndel f,w")

    def rename(self, old, new):
        self.exec("import os\nos.rename(%r,%r)" % (old, new))

    def remove(self, path):
        self.exec("import os\ntry:\n os.remove(%r)\nexcept OSError:\n pass" % path)

    def makedirs(self, path):
        parts = [p for p in path.split("/") if p]
        for i in range(1, len(parts) + 1):
            self.exec("import os\ntry:\n os.mkdir(%r)\nexcept OSError:\n pass" % "/".join(parts[:i]))

    # -- the ROM partition -----------------------------------------------------
    def rom_size(self):
        """The size of romfs partition 0 if the board can write it (vfs.rom_ioctl), else 0."""
        self.exec("import vfs")
        if not self.eval("hasattr(vfs,'rom_ioctl')"):
            return 0
        if self.eval("vfs.rom_ioctl(1)") < 1:
            return 0
        self.exec("dev=vfs.rom_ioctl(2,0)")
        if self.eval("isinstance(dev,int) or hasattr(dev,'ioctl')"):
            return 0  # no partition, or a block device we do not write
        return self.eval("len(dev)")

    def rom_digest(self, length):
        """sha256 of the first `length` bytes of the partition, read in place."""
        return bytes.fromhex(
            self.eval(
                "__import__('binascii').hexlify(__import__('hashlib').sha256(memoryview(dev)[:%d])"
                ".digest()).decode()" % length
            )
        )

    def deploy_rom(self, image, progress=None):
        """Erase and write `image` into romfs partition 0, header last; verify it by sha256."""
        size = self.rom_size()
        if len(image) > size:
            raise BoardError(
                "the firmware image (%d bytes) does not fit the board's romfs "
                "partition (%d bytes): use a MicroPython build with a bigger one" % (len(image), size)
            )
        self.exec("import vfs\ntry:\n vfs.umount('/rom')\nexcept OSError:\n pass")
        block = self.eval("vfs.rom_ioctl(6,0)")
        if 0 < block < size:
            offset = 0
            while offset < len(image):
                step = min(len(image) - offset, ROM_PREPARE_STEP)
                step = (step + block - 1) // block * block
                self._rom_call("vfs.rom_ioctl(3,0,%d,%d)" % (offset, step))
                offset += step
        else:
            self._rom_call("vfs.rom_ioctl(3,0,%d)" % len(image))
        self.exec("from binascii import a2b_base64")
        # The first chunk, with the ROMFS header, goes last: a power cut
        # before it leaves an erased header, and the board boots without /rom
        # (to the REPL) rather than from a half-written image.
        offsets = list(range(ROM_CHUNK, len(image), ROM_CHUNK)) + [0]
        for done, offset in enumerate(offsets, 1):
            chunk = image[offset : offset + ROM_CHUNK]
            chunk += b"\xff" * (-len(chunk) % 4)
            self.exec("buf=a2b_base64(%r)" % binascii.b2a_base64(chunk, newline=False))
            self._rom_call("vfs.rom_ioctl(4,0,%d,buf)" % offset)
            if progress:
                progress(min(done * ROM_CHUNK, len(image)), len(image))
        self.exec("del buf")
        self._rom_call("vfs.rom_ioctl(5,0)")
        if self.rom_digest(len(image)) != hashlib.sha256(image).digest():
            raise BoardError("the firmware written to %s reads back wrong: run the command again" % self.port)

    def _rom_call(self, call):
        result = self.eval(call)
        if isinstance(result, int) and result < 0:
            raise BoardError(
                "the board's romfs partition refused %s (error %d): run the command "
                "again, or flash MicroPython again" % (call, result)
            )
        return result

    # -- power -----------------------------------------------------------------
    def hard_reset(self):
        """machine.reset(): the board boots and runs main.py (as `mpremote reset`)."""
        self.transport.exec_raw_no_follow("import time, machine; time.sleep_ms(100); machine.reset()")
        self.transport.in_raw_repl = False
        self.close()
