"""Run the MicroPython unix port with a ROMFS image mapped outside its heap.

    python -m simulator.launch ROMFS_IMAGE MICROPYTHON_ARGS...

The `micropython` console script that the unix-port wheel installs is a thin
CPython wrapper around `micropython_run.run_main`; this is the same wrapper
plus one thing an ESP32 has and the unix port lacks: a memory-mapped ROM
partition. The image is copied into a buffer that the MicroPython heap does
not contain, and its address goes to simulator/board/boot.py in the
environment variable HCP_ROMFS, where `vfs.VfsRom` mounts it. Bytecode then
runs in place, so the 100 KB heap holds what it holds on a board with a
romfs partition, not the code as well.
"""
import ctypes
import os
import sys

import micropython_run

ENV = "HCP_ROMFS"


def main(argv):
    if len(argv) < 2:
        print("usage: python -m simulator.launch ROMFS_IMAGE MICROPYTHON_ARGS...", file=sys.stderr)
        return 2
    with open(argv[0], "rb") as f:
        image = f.read()
    rom = ctypes.create_string_buffer(image, len(image))  # lives as long as this process
    os.environ[ENV] = f"{ctypes.addressof(rom)}:{len(image)}"
    return micropython_run.run_main(["micropython", *argv[1:]])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
