"""Start MicroPython as a board starts it: ROM images mapped outside the
heap, boot.py in the working folder, and no host path in the heap.

    python -m simulator.launch BOARD_IMAGE PARTITION_FILE|- MICROPYTHON_ARGS...

The `micropython` console script that the unix-port wheel installs is a thin
CPython wrapper around `micropython_run.run_main`; this is the same wrapper
plus what an ESP32 has and the unix port lacks:

- BOARD_IMAGE, the virtual board's own modules (console, machine, network
  shims ...): on a board they are C code or frozen into the MicroPython
  firmware, so they cost no heap. Mapped read-only, address in HCP_BOARD_ROM.
- PARTITION_FILE, the device's romfs partition (PARTITION_SIZE bytes; a
  missing file is a blank, erased partition). Mapped writable, address, size
  and path in HCP_ROM; simulator/board/rom_partition.py gives it
  `vfs.rom_ioctl`, so `mpremote romfs deploy` and `hostd device provision`
  write it as they write a real board's. A partition file outside the
  working folder (the tests' script image) is mapped read-only.

Bytecode then runs in place, so the 100 KB heap holds what it holds on a
board with a romfs partition, not the code as well.

**Fixed names only.** MicroPython interns every module's file name, and
keeps sys.path and argv strings, in its heap. Were any of them the
checkout's path, the heap's layout (and whether a 4 KB block is free at the
tightest point) would change with the folder the project was cloned into.
So, as on a board, nothing MicroPython sees names a host folder:
- the modules come from the ROMs, mounted at /board and /rom;
- boot.py is copied into the working folder and run by that name, as a
  board runs boot.py from its filesystem;
- a partition file outside the working folder is mapped without its name,
  and callers pass their files by names relative to that folder (`command`);
- MICROPYPATH is "" (the working folder) and ".frozen" (`environment`).

`command` and `environment` are what the simulator, the tests and the
benches use to start a board; nothing else builds a MicroPython command.
"""

import ctypes
import os
import sys
from pathlib import Path

BOARD_ENV = "HCP_BOARD_ROM"
PARTITION_ENV = "HCP_ROM"
PARTITION_SIZE = 256 * 1024  # the romfs partition of our ESP32 partition table
ROOT = Path(__file__).resolve().parent.parent
BOOT = ROOT / "simulator" / "board" / "boot.py"
BOOT_NAME = "boot.py"  # its name in the working folder, as on a board
HEAP = "100K"  # a plain ESP32's free heap once Wi-Fi is up


def command(partition=None, heap=HEAP, *args):
    """The command that powers a board on: `partition` mapped as its romfs
    partition (None: a board without one), boot.py run with `args` (see
    simulator/board/boot.py). Run it in the board's working folder, with
    `environment()`, and pass files by names relative to that folder."""
    from simulator import build  # host side only: the launched process never builds

    return [
        sys.executable,
        "-m",
        "simulator.launch",
        str(build.board_image()),
        str(partition) if partition else "-",
        "-X",
        f"heapsize={heap}",
        BOOT_NAME,
        *args,
    ]


def environment(autorun=False):
    env = dict(os.environ)
    env["MICROPYPATH"] = ":.frozen"  # the working folder, then the port's frozen modules
    env["PYTHONPATH"] = str(ROOT)  # for `python -m simulator.launch` from any folder
    env["HCP_AUTORUN"] = "1" if autorun else "0"
    return env


def _map(data, size):
    buffer = ctypes.create_string_buffer(size)  # lives as long as this process
    ctypes.memset(buffer, 0xFF, size)
    ctypes.memmove(buffer, data, min(len(data), size))
    return buffer


def _place_boot():
    """boot.py into the working folder (rewritten only when it differs)."""
    source = BOOT.read_bytes()
    here = Path(BOOT_NAME)
    if not here.exists() or here.read_bytes() != source:
        tmp = Path(BOOT_NAME + ".tmp")
        tmp.write_bytes(source)
        tmp.replace(here)


def _partition_name(path):
    """The partition file as the board sees it: its host path when it lies in
    the working folder (the board's own folder: the path names that folder,
    never the checkout; the board writes it after it has changed its
    directory to /flash, so the path is absolute); "" (mapped read-only) when
    it lies elsewhere, as the tests' script image does."""
    absolute = os.path.abspath(path)
    return "" if os.path.relpath(absolute).startswith("..") else absolute


def main(argv):
    if len(argv) < 3:
        print(
            "usage: python -m simulator.launch BOARD_IMAGE PARTITION_FILE|- MICROPYTHON_ARGS...",
            file=sys.stderr,
        )
        return 2
    with open(argv[0], "rb") as f:
        board = f.read()
    board_rom = _map(board, len(board))
    os.environ[BOARD_ENV] = f"{ctypes.addressof(board_rom)}:{len(board)}"
    if argv[1] != "-":
        path = _partition_name(argv[1])
        data = b""
        if os.path.exists(argv[1]):
            with open(argv[1], "rb") as f:
                data = f.read(PARTITION_SIZE)
        partition = _map(data, PARTITION_SIZE)
        os.environ[PARTITION_ENV] = f"{ctypes.addressof(partition)}:{PARTITION_SIZE}:{path}"
    if BOOT_NAME in argv[2:]:
        _place_boot()
    import micropython_run

    return micropython_run.run_main(["micropython", *argv[2:]])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
