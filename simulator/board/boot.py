# Powers on the virtual board (MicroPython unix port).
#
#   micropython -X heapsize=100K boot.py FLASH_IMAGE [MODE CONTROL_FD EVENTS_FD SPI_FD]
#   micropython -X heapsize=100K boot.py -m MODULE [ARG ...]
#
# The first powers the board on (startup.py). The second runs MODULE from
# the ROMs (or the working folder) as the main program, with sys.argv =
# [MODULE, ARG ...], as a test program deployed beside the firmware runs on
# a board; the tests and benches run their MicroPython scripts so.
#
# simulator/launch.py copies this file into the board's working folder and
# runs it by its bare name, so no host folder's name enters the heap.
# This file runs from source, so its bytecode sits in the heap: it only maps
# the ROM images that simulator/launch.py placed outside the heap and hands
# over to startup.py, which runs in place from there (see startup.py for the
# arguments):
#
#   /board  the board's own modules (on an ESP32: C code and frozen modules)
#   /rom    the device's romfs partition, when it holds a valid image; with
#           `vfs.rom_ioctl` (rom_partition.py) to write it, as on an ESP32
#           running MicroPython >= 1.25
import os
import sys


def _mapped(name):
    where = os.getenv(name)
    return where.split(":", 2) if where else None


def mount_roms():
    import uctypes
    import vfs

    board = _mapped("HCP_BOARD_ROM")
    if board:
        vfs.mount(vfs.VfsRom(uctypes.bytearray_at(int(board[0]), int(board[1]))), "/board")
        sys.path.insert(0, "/board")
    partition = _mapped("HCP_ROM")
    if partition:
        import rom_partition

        rom_partition.attach(int(partition[0]), int(partition[1]), partition[2])
        sys.modules["vfs"] = rom_partition
        try:
            vfs.mount(vfs.VfsRom(rom_partition.rom_ioctl(2, 0)), "/rom")
            sys.path.insert(1, "/rom")
        except OSError:
            pass  # blank or half-written: the board boots to the REPL
    sys.path.append("/flash/lib")  # /lib on a board whose flash is at /


mount_roms()

if __name__ == "__main__":
    if sys.argv[1:2] == ["-m"]:
        sys.argv[:] = sys.argv[2:]
        __import__(sys.argv[0])
    else:
        import startup

        startup.main(sys.argv[1:])
