# Boots the real firmware on the virtual board (MicroPython unix port).
#
#   micropython -X heapsize=100K boot.py FLASH_IMAGE [SPI_STREAM]
#
# Mounts the littlefs image at /flash and makes it the working directory, as
# the ESP32 has its flash at /, wires the control stream (stdin) to the
# buttons, then runs firmware/main.py unchanged.
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

import blockdev  # noqa: E402
import vboard  # noqa: E402

FLASH_BLOCKS = 512  # 2 MB of 4 KB blocks, like an ESP32's data partition


def boot(image, spi_path=None):
    blockdev.mount(image, "/flash", block_count=FLASH_BLOCKS)
    os.chdir("/flash")
    vboard.attach_control(sys.stdin)
    if spi_path:
        vboard.record_panel(spi_path)
    print("board: flash mounted, firmware starting")
    import firmware.main  # noqa: F401  (runs the device)


if __name__ == "__main__":
    boot(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
