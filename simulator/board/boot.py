# Boots the real firmware on the virtual board (MicroPython unix port).
#
#   micropython -X heapsize=100K boot.py FLASH_IMAGE [MODE CONTROL_FD EVENTS_FD SPI_FD]
#
# This file runs from source, so its bytecode sits in the heap: it only maps
# the firmware's ROMFS image and hands over to startup.py, which runs in
# place from there (see startup.py for the arguments).
import os
import sys


def mount_rom():
    # The firmware's ROMFS image, mapped by simulator/launch.py (an ESP32
    # maps its romfs partition the same way). Without it, imports fall back
    # to MICROPYPATH and the code itself lands in the heap.
    where = os.getenv("HCP_ROMFS")
    if not where:
        return
    import uctypes
    import vfs

    addr, size = where.split(":")
    vfs.mount(vfs.VfsRom(uctypes.bytearray_at(int(addr), int(size))), "/rom")
    sys.path.insert(0, "/rom")


mount_rom()

if __name__ == "__main__":
    import startup

    startup.main(sys.argv[1:])
