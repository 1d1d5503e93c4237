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
import subprocess
import sys
from pathlib import Path

from hostd import firmware_image as device_image

ROOT = Path(__file__).resolve().parent.parent
BOARD = ROOT / "simulator" / "board"
DEFAULT_OUT = ROOT / "build" / "board"


def _tool(name):
    return str(Path(sys.executable).parent / name)


def _compile(source, target):
    if target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    proc = subprocess.run([_tool("mpy-cross"), "-o", str(tmp), "-s", source.name, str(source)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"mpy-cross failed on {source}: {proc.stderr.strip()}")
    tmp.replace(target)


def board_image(out=DEFAULT_OUT):
    """Build (if stale) the board's ROM image; return its path."""
    out = Path(out)
    tree = out / "mpy"
    for source in sorted(BOARD.glob("*.py")):
        if source.name != "boot.py":
            _compile(source, tree / (source.stem + ".mpy"))
    image = out / "board.romfs"
    newest = max(p.stat().st_mtime for p in tree.rglob("*.mpy"))
    if image.exists() and image.stat().st_mtime >= newest:
        return image
    tmp = image.with_suffix(".tmp")
    proc = subprocess.run([_tool("mpremote"), "romfs", "--no-mpy", "-o", str(tmp), "build", str(tree)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"mpremote romfs build failed: {proc.stderr.strip() or proc.stdout.strip()}")
    tmp.replace(image)
    return image


def firmware_image():
    """The repo's firmware as a ROMFS image (what provisioning deploys)."""
    return device_image.romfs_image()


if __name__ == "__main__":
    print(board_image())
    print(firmware_image())
