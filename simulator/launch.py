"""Run the MicroPython unix port with ROM images mapped outside its heap.

    python -m simulator.launch BOARD_IMAGE PARTITION_FILE|- MICROPYTHON_ARGS...

The `micropython` console script that the unix-port wheel installs is a thin
CPython wrapper around `micropython_run.run_main`; this is the same wrapper
plus two things an ESP32 has and the unix port lacks:

- BOARD_IMAGE, the virtual board's own modules (console, machine, network
  shims ...): on a board they are C code or frozen into the MicroPython
  firmware, so they cost no heap. Mapped read-only, address in HCP_BOARD_ROM.
- PARTITION_FILE, the device's romfs partition (PARTITION_SIZE bytes; a
  missing file is a blank, erased partition). Mapped writable, address, size
  and path in HCP_ROM; simulator/board/rom_partition.py gives it
  `vfs.rom_ioctl`, so `mpremote romfs deploy` and `hostd device provision`
  write it as they write a real board's.

Bytecode then runs in place, so the 100 KB heap holds what it holds on a
board with a romfs partition, not the code as well.
"""
import ctypes
import os
import sys

import micropython_run

BOARD_ENV = "HCP_BOARD_ROM"
PARTITION_ENV = "HCP_ROM"
PARTITION_SIZE = 256 * 1024  # the romfs partition of our ESP32 partition table


def _map(data, size):
    buffer = ctypes.create_string_buffer(size)  # lives as long as this process
    ctypes.memset(buffer, 0xFF, size)
    ctypes.memmove(buffer, data, min(len(data), size))
    return buffer


def main(argv):
    if len(argv) < 3:
        print("usage: python -m simulator.launch BOARD_IMAGE PARTITION_FILE|- MICROPYTHON_ARGS...",
              file=sys.stderr)
        return 2
    with open(argv[0], "rb") as f:
        board = f.read()
    board_rom = _map(board, len(board))
    os.environ[BOARD_ENV] = f"{ctypes.addressof(board_rom)}:{len(board)}"
    if argv[1] != "-":
        path = os.path.abspath(argv[1])
        data = b""
        if os.path.exists(path):
            with open(path, "rb") as f:
                data = f.read(PARTITION_SIZE)
        partition = _map(data, PARTITION_SIZE)
        os.environ[PARTITION_ENV] = f"{ctypes.addressof(partition)}:{PARTITION_SIZE}:{path}"
    return micropython_run.run_main(["micropython", *argv[2:]])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
