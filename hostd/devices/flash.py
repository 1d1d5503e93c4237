"""Write MicroPython onto a blank ESP32 with esptool (used as a library).

Arguments are checked before esptool runs: the file exists, is a .bin, is
an ESP firmware image (magic byte 0xE9), and was built for the chip given
(the image's extended header names its chip). Then two esptool calls, the
ones MicroPython's ESP32 download page gives:

    esptool --chip esp32 --port PORT --baud N erase-flash
    esptool --chip esp32 --port PORT --baud N write-flash -z 0x1000 FIRMWARE.bin
"""

import os
from pathlib import Path

from hostd.base.errors import UserError

# chip name -> (bootloader offset of a MicroPython .bin, chip id in the image header)
CHIPS = {
    "esp32": (0x1000, 0),
    "esp32s2": (0x1000, 2),
    "esp32c3": (0x0, 5),
    "esp32s3": (0x0, 9),
    "esp32c6": (0x0, 13),
}
IMAGE_MAGIC = 0xE9
DEFAULT_BAUD = 460800


class FlashError(UserError):
    pass


class BadFirmware(UserError):
    exit_code = 2


def check_firmware(path, chip):
    """Raise BadFirmware unless `path` is a MicroPython image for `chip`; return its bytes' length."""
    path = Path(path)
    if chip not in CHIPS:
        raise BadFirmware("unknown chip %r: use one of %s" % (chip, ", ".join(CHIPS)))
    if not path.is_file():
        raise BadFirmware(
            "no firmware file %s: download MicroPython for your board from "
            "https://micropython.org/download/ (a .bin file)" % path
        )
    if path.suffix.lower() != ".bin":
        raise BadFirmware(
            "%s is not a .bin: give the MicroPython firmware .bin from "
            "https://micropython.org/download/" % path
        )
    with open(path, "rb") as f:
        head = f.read(16)
    if len(head) < 16 or head[0] != IMAGE_MAGIC:
        raise BadFirmware(
            "%s is not an ESP firmware image (no 0xE9 header): download the "
            "MicroPython .bin for your board again" % path
        )
    image_chip = head[12] | (head[13] << 8)
    wanted = CHIPS[chip][1]
    if image_chip != wanted:
        names = [name for name, (_o, cid) in CHIPS.items() if cid == image_chip]
        raise BadFirmware(
            "%s is built for %s, not %s: download the MicroPython .bin for your "
            "chip, or pass --chip %s"
            % (path, names[0] if names else "chip %d" % image_chip, chip, names[0] if names else "...")
        )
    return path.stat().st_size


def esptool_calls(port, firmware, chip="esp32", baud=DEFAULT_BAUD):
    """The esptool argument lists, in order."""
    base = ["--chip", chip, "--port", port, "--baud", str(baud)]
    return [base + ["erase-flash"], base + ["write-flash", "-z", "0x%x" % CHIPS[chip][0], str(firmware)]]


def flash(port, firmware, chip="esp32", baud=DEFAULT_BAUD, say=print):
    """Erase the chip and write MicroPython; raise a one-line UserError on failure."""

    # lazy: esptool loads only for hostd device flash
    import esptool

    check_firmware(firmware, chip)
    if not os.path.exists(port):
        raise FlashError(
            "no serial port %s: plug the board in and check the name (ls /dev/ttyUSB* /dev/ttyACM*)" % port
        )
    for argv in esptool_calls(port, firmware, chip, baud):
        command = argv[6]
        say("esptool %s" % " ".join(argv))
        try:
            esptool.main(argv)
        except SystemExit as exc:
            if exc.code not in (0, None):
                raise FlashError(
                    "esptool %s failed (exit %s): hold BOOT while it connects, "
                    "or try --baud 115200" % (command, exc.code)
                )
        except Exception as exc:  # esptool.FatalError, serial errors: one line, never a traceback
            raise FlashError(
                "esptool could not %s on %s (%s): is another program using the "
                "port? Hold BOOT while it connects, or try --baud 115200"
                % (
                    command,
                    port,
                    str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                )
            )
