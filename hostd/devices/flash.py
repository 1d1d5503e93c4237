"""Write MicroPython onto a blank ESP32 with esptool, used as a library.

The same conversation as MicroPython's download page gives
(`esptool --chip esp32 erase-flash`, then `write-flash -z 0x1000 X.bin`),
through esptool's documented scripting API so that each step can be shown
and each failure named:

    connect      detect_chip: sync with the ROM bootloader, read the chip and MAC
    check        the board's chip is the one the image was built for
    erase        the whole flash, 64 KB at a time (a progress line)
    write        compressed, at the chip's offset; esptool checks the MD5 itself
    reset        the board boots MicroPython (it makes its filesystem first)

Before esptool runs, the file is checked: it exists, is a .bin, is an ESP
firmware image (magic 0xE9), and names its chip in the header. Every failure
a person at the bench meets is one line saying what to do (see the classes).
"""

import contextlib
import os
import time
from collections import namedtuple
from pathlib import Path

from hostd.base.errors import UserError
from hostd.base.progress import Bar, human_bytes

# chip name -> (bootloader offset of a MicroPython .bin, chip id in the image header, esptool's name)
CHIPS = {
    "esp32": (0x1000, 0, "ESP32"),
    "esp32s2": (0x1000, 2, "ESP32-S2"),
    "esp32c3": (0x0, 5, "ESP32-C3"),
    "esp32s3": (0x0, 9, "ESP32-S3"),
    "esp32c6": (0x0, 13, "ESP32-C6"),
}
IMAGE_MAGIC = 0xE9
DEFAULT_BAUD = 460800
ROM_BAUD = 115200
ERASE_STEP = 0x10000
DEFAULT_FLASH = 4 * 1024 * 1024
DOWNLOAD_MODE = "hold BOOT, press and release EN (RST), then release BOOT"

Flashed = namedtuple("Flashed", "chip mac offset size flash_size erase_s write_s seconds")


class FlashError(UserError):
    pass


class BadFirmware(UserError):
    exit_code = 2


class NoAnswer(FlashError):
    """Nothing on the port speaks the ROM bootloader's protocol."""


class WrongChip(FlashError):
    """The board is another chip than the image's."""


class PortBusy(FlashError):
    """Another program holds the port."""


class ConnectionLost(FlashError):
    """The board went away mid-erase or mid-write: it must be flashed again."""


def image_chip(path):
    """The chip name an ESP image at `path` was built for; BadFirmware if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise BadFirmware(
            "no firmware file %s: download MicroPython for your board from "
            "https://micropython.org/download/ (a .bin file)" % path
        )
    if path.suffix.lower() != ".bin":
        raise BadFirmware(
            "%s is not a .bin: give the MicroPython firmware .bin from https://micropython.org/download/"
            % path
        )
    with open(path, "rb") as f:
        head = f.read(16)
    if len(head) < 16 or head[0] != IMAGE_MAGIC:
        raise BadFirmware(
            "%s is not an ESP firmware image (no 0xE9 header): download the "
            "MicroPython .bin for your board again" % path
        )
    chip_id = head[12] | (head[13] << 8)
    for name, (_offset, cid, _label) in CHIPS.items():
        if cid == chip_id:
            return name
    raise BadFirmware(
        "%s is built for chip id %d, which hostd does not flash: use one of %s"
        % (path, chip_id, ", ".join(CHIPS))
    )


def check_firmware(path, chip=None):
    """The chip to flash: the image's, which `chip` (when given) must match."""
    if chip is not None and chip not in CHIPS:
        raise BadFirmware("unknown chip %r: use one of %s" % (chip, ", ".join(CHIPS)))
    built_for = image_chip(path)
    if chip is not None and built_for != chip:
        raise BadFirmware(
            "%s is built for %s, not %s: download the MicroPython .bin for your chip, or pass --chip %s"
            % (path, built_for, chip, built_for)
        )
    return built_for


def holders(port):
    """'pid 123 (mpremote)' for each process with `port` open (those this user may see)."""
    target = os.path.realpath(port)
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir("/proc/%s/fd" % pid)
            if any(os.path.realpath("/proc/%s/fd/%s" % (pid, fd)) == target for fd in fds):
                with open("/proc/%s/comm" % pid) as f:
                    found.append("pid %s (%s)" % (pid, f.read().strip()))
        except OSError:
            continue
    return found


def _first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _connect(port, connect_attempts):
    # lazy: esptool loads only for hostd device flash
    from esptool.cmds import detect_chip

    try:
        return detect_chip(port, ROM_BAUD, "default-reset", connect_attempts=connect_attempts)
    except Exception as exc:  # esptool.FatalError, serial errors: one line, never a traceback
        text = str(exc)
        if "busy" in text or "lock" in text:
            held = [h for h in holders(port) if not h.startswith("pid %d " % os.getpid())]
            raise PortBusy(
                "%s is in use%s: close the program holding it (mpremote, a serial console, "
                "the Arduino IDE) and run the command again"
                % (port, " by " + ", ".join(held) if held else "")
            )
        if "Failed to connect" in text or "No serial data" in text or "Invalid head" in text:
            raise NoAnswer(
                "no answer from the board on %s: put it in download mode (%s), check the "
                "USB cable carries data, and run the command again" % (port, DOWNLOAD_MODE)
            )
        raise NoAnswer(
            "could not talk to the board on %s (%s): put it in download mode (%s) and run the command again"
            % (port, _first_line(exc), DOWNLOAD_MODE)
        )


def _flash_size(esp):
    # lazy: esptool loads only for hostd device flash
    from esptool.cmds import detect_flash_size

    text = detect_flash_size(esp) or ""
    if text.endswith("MB") and text[:-2].isdigit():
        return int(text[:-2]) * 1024 * 1024
    return DEFAULT_FLASH


def _mac(esp):
    return ":".join("%02x" % b for b in esp.read_mac())


def flash(
    port,
    firmware,
    chip=None,
    baud=DEFAULT_BAUD,
    say=print,
    verbose=False,
    tty=None,
    connect_attempts=7,
):
    """Erase the board and write MicroPython; return a Flashed. Each failure is a one-line FlashError."""
    chip = check_firmware(firmware, chip)
    offset, _cid, label = CHIPS[chip]
    data = Path(firmware).read_bytes()
    if not os.path.exists(port):
        raise FlashError(
            "no serial port %s: plug the board in and check the name (ls /dev/ttyUSB* /dev/ttyACM*)" % port
        )
    # lazy: esptool loads only for hostd device flash
    from esptool.cmds import attach_flash, erase_region, reset_chip, write_flash

    from hostd.devices.esptool_log import captured

    started = time.monotonic()
    with captured(say if verbose else None) as log:
        say("connecting to the board on %s (if it does not answer: %s)" % (port, DOWNLOAD_MODE))
        esp = loader = _connect(port, connect_attempts)
        stage = "connect"
        try:
            if esp.CHIP_NAME != label:
                raise WrongChip(
                    "the board on %s is an %s, but %s is built for %s: download the MicroPython "
                    ".bin for %s (https://micropython.org/download/)"
                    % (port, esp.CHIP_NAME, Path(firmware).name, label, esp.CHIP_NAME)
                )
            mac = _mac(esp)
            say("board: %s, MAC %s" % (esp.CHIP_NAME, mac))
            esp = esp.run_stub()
            if baud != ROM_BAUD:
                esp.change_baud(baud)
            attach_flash(esp)
            size = _flash_size(esp)
            stage = "erase"
            bar = Bar("erase", size, say=say, tty=tty)
            erase_started = time.monotonic()
            for start in range(0, size, ERASE_STEP):
                erase_region(esp, start, min(ERASE_STEP, size - start))
                bar.update(start + ERASE_STEP)
            bar.done()
            erase_s = time.monotonic() - erase_started
            stage = "write"
            bar = Bar("write", len(data), say=say, tty=tty)
            log.on_progress = lambda done, total: bar.update(done * len(data) // max(total, 1))
            write_started = time.monotonic()
            write_flash(esp, [(offset, data)], compress=True)
            bar.done()
            write_s = time.monotonic() - write_started
            say("verified: the board's MD5 of %s at 0x%x matches the file" % (human_bytes(len(data)), offset))
            stage = "reset"
            reset_chip(esp, "hard-reset")
        except FlashError:
            raise
        except Exception as exc:
            if stage == "connect":
                raise NoAnswer(
                    "the board on %s stopped answering (%s): put it in download mode (%s) and "
                    "run the command again" % (port, _first_line(exc), DOWNLOAD_MODE)
                )
            raise ConnectionLost(
                "lost the board on %s during %s (%s): it holds no complete firmware now; reconnect "
                "it, put it in download mode (%s) and run the same command again"
                % (port, stage, _first_line(exc), DOWNLOAD_MODE)
            )
        finally:
            with contextlib.suppress(Exception):
                loader.__exit__(None, None, None)  # closes the port (ESPLoader is a context manager)
    return Flashed(chip, mac, offset, len(data), size, erase_s, write_s, time.monotonic() - started)
