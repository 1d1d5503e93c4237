# A flash chip for the MicroPython unix port: a block device kept in a host file.
#
# Runs on MicroPython. vfs.VfsLfs2 over this behaves like littlefs on the
# ESP32's flash: each writeblocks reaches the file (one write(2) on the unix
# port's unbuffered file) before it returns, so a SIGKILL of the process is a
# power cut between two block writes. fsync happens only on the sync ioctl:
# it matters for a host OS crash, not for killing the process, and an fsync
# per 32-byte program made every append ~20 ms.

try:
    from micropython import const
except ImportError:  # CPython (tests import this file too)

    def const(value):
        return value


_IOCTL_SYNC = const(3)
_IOCTL_BLOCK_COUNT = const(4)
_IOCTL_BLOCK_SIZE = const(5)
_IOCTL_BLOCK_ERASE = const(6)


class FileBlockDevice:
    def __init__(self, path, block_size=4096, block_count=512):
        self.block_size = block_size
        self.block_count = block_count
        self.writes = 0  # block writes that reached the file
        # Writes left before the power is cut; None: never. Once it reaches
        # 0 every later write is dropped, as if the chip had lost power
        # (tests sweep a cut over every write of a scenario).
        self.power_left = None
        try:
            self.file = open(path, "r+b")
        except OSError:
            self._create(path)
            self.file = open(path, "r+b")

    def _create(self, path):
        erased = b"\xff" * self.block_size
        with open(path, "wb") as f:
            for _ in range(self.block_count):
                f.write(erased)

    def readblocks(self, block, buf, offset=0):
        self.file.seek(block * self.block_size + offset)
        self.file.readinto(buf)

    def writeblocks(self, block, buf, offset=None):
        if self.power_left is not None:
            if self.power_left <= 0:
                return
            self.power_left -= 1
        self.writes += 1
        self.file.seek(block * self.block_size + (offset or 0))
        self.file.write(buf)

    def ioctl(self, op, arg):
        if op == _IOCTL_SYNC:
            self.file.flush()
            return 0
        if op == _IOCTL_BLOCK_COUNT:
            return self.block_count
        if op == _IOCTL_BLOCK_SIZE:
            return self.block_size
        if op == _IOCTL_BLOCK_ERASE:
            return 0
        return None


def mount(image_path, mountpoint="/flash", block_count=512, format_if_needed=True):
    """Mount (formatting on first use) a littlefs image at `mountpoint`.

    With format_if_needed=False an image that does not mount raises OSError
    instead of being formatted (power-cut tests must see that).
    """
    import vfs

    device = FileBlockDevice(image_path, block_count=block_count)
    try:
        vfs.mount(vfs.VfsLfs2(device), mountpoint)
    except OSError:
        if not format_if_needed:
            raise
        vfs.VfsLfs2.mkfs(device)
        vfs.mount(vfs.VfsLfs2(device), mountpoint)
    return device
