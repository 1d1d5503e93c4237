"""Compile the virtual board's modules and pack them into a ROM image.

On an ESP32 the REPL, `machine` and `network` are C code or modules frozen
into the MicroPython firmware: they cost no heap. The virtual board's
equivalents (simulator/board/*.py except boot.py) are compiled by `mpy-cross`
and packed into build/board.romfs, which simulator/launch.py maps outside
the heap for every simulated device.

The device's firmware is another image, the one `hostd device provision`
writes into the device's romfs partition (hostd/firmware_image.py builds it);
`firmware_image()` gives its path for the simulator's `--firmware auto`.
"""
from pathlib import Path

from hostd import firmware_image as device_image

ROOT = Path(__file__).resolve().parent.parent
BOARD = ROOT / "simulator" / "board"
DEFAULT_OUT = ROOT / "build" / "board"


def board_image(out=DEFAULT_OUT):
    """Build (if stale) the board's ROM image; return its path."""
    out = Path(out)
    tree = out / "mpy"
    for source in sorted(BOARD.glob("*.py")):
        if source.name != "boot.py":
            device_image.compile_file(source, tree / (source.stem + ".mpy"),
                                      "/board/%s.mpy" % source.stem)  # its __file__ (boot.py)
    return device_image.pack_romfs(tree, out / "board.romfs")


def firmware_image():
    """The repo's firmware as a ROMFS image (what provisioning deploys)."""
    return device_image.romfs_image()


if __name__ == "__main__":
    print(board_image())
    print(firmware_image())
