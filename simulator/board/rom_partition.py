# The board's ROM partition and `vfs.rom_ioctl`, as MicroPython >= 1.25 has
# them on an ESP32 with a romfs partition.
#
# simulator/launch.py maps the device's partition file (<flash dir>/romfs.img)
# into memory outside the heap; boot.py calls attach() with its address, size
# and host path, then registers this module as sys.modules["vfs"], so
# `import vfs` (mpremote's `romfs deploy`, hostd's provisioning) finds the
# builtin vfs members plus rom_ioctl. Writes go to the mapped memory and to
# the host file at once: a SIGKILL mid-deploy leaves a half-written image,
# as a power cut leaves a half-written flash partition.
import vfs as _builtin


def __getattr__(name):  # the builtin vfs members, looked up on use (no copies)
    return getattr(_builtin, name)


from micropython import const  # noqa: E402 (after the __getattr__ it documents)

_BLOCK = const(4096)  # erase block of the ESP32's SPI flash
_ENODEV = const(19)
_EINVAL = const(22)
_EROFS = const(30)
_rom = None  # memoryview over the mapped partition
_path = None  # the host file that keeps it across power cycles
_marker = None  # <flash dir>/romfs.repo: "preloaded from the repo", dropped on a deploy


def attach(addr, size, path):
    global _rom, _path, _marker
    import uctypes

    _rom = memoryview(uctypes.bytearray_at(addr, size))
    _path = path or None
    _marker = path[: path.rfind("/") + 1] + "romfs.repo"  # beside the partition file


def _store(offset, data):
    try:
        f = open(_path, "r+b")
    except OSError:
        f = open(_path, "wb")
        blank = b"\xff" * _BLOCK
        for _ in range(len(_rom) // _BLOCK):
            f.write(blank)
        f.close()
        f = open(_path, "r+b")
    f.seek(offset)
    f.write(data)
    f.close()


def _erase(offset, length):
    end = min(len(_rom), (offset + length + _BLOCK - 1) // _BLOCK * _BLOCK)
    blank = b"\xff" * _BLOCK
    at = offset
    while at < end:
        n = min(_BLOCK, end - at)
        _rom[at : at + n] = blank[:n]
        _store(at, blank[:n])
        at += n


def rom_ioctl(op, *args):
    """1: partitions; 2 id: the partition buffer; 3 id [offset] length: erase;
    4 id offset data: write; 5 id: finish; 6 id: erase block size."""
    if _rom is None:
        return -_ENODEV
    if op == 1:
        return 1
    if not args or args[0] != 0:
        return -_EINVAL
    if op == 2:
        return _rom
    if _path is None and (op == 3 or op == 4):
        return -_EROFS
    if op == 3:
        try:
            _builtin.umount("/rom")
        except OSError:
            pass
        try:
            import os

            os.remove(_marker)
        except OSError:
            pass
        offset, length = (0, args[1]) if len(args) == 2 else (args[1], args[2])
        if offset < 0 or offset + length > len(_rom):
            return -_EINVAL
        _erase(offset, length)
        return 4  # the smallest write
    if op == 4:
        offset, data = args[1], args[2]
        if offset < 0 or offset + len(data) > len(_rom):
            return -_EINVAL
        _rom[offset : offset + len(data)] = data
        _store(offset, data)
        return 0
    if op == 5:
        return 0
    if op == 6:
        return _BLOCK
    return -_EINVAL
