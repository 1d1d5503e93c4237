# A flash chip for the MicroPython unix port: a block device kept in a host file.
#
# Runs on MicroPython. vfs.VfsLfs2 over this behaves like littlefs on the
# ESP32's flash: each writeblocks reaches the file before it returns, so a
# SIGKILL of the process is a power cut between two block writes.
import os

_IOCTL_BLOCK_COUNT = 4
_IOCTL_BLOCK_SIZE = 5
_IOCTL_BLOCK_ERASE = 6


class FileBlockDevice:
    def __init__(self, path, block_size=4096, block_count=512):
        self.block_size = block_size
        self.block_count = block_count
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
        self.file.seek(block * self.block_size + (offset or 0))
        self.file.write(buf)
        self.file.flush()

    def ioctl(self, op, arg):
        if op == _IOCTL_BLOCK_COUNT:
            return self.block_count
        if op == _IOCTL_BLOCK_SIZE:
            return self.block_size
        if op == _IOCTL_BLOCK_ERASE:
            return 0
        return None


def mount(image_path, mountpoint="/flash", block_count=512):
    """Mount (formatting on first use) a littlefs image at `mountpoint`."""
    import vfs

    device = FileBlockDevice(image_path, block_count=block_count)
    try:
        vfs.mount(vfs.VfsLfs2(device), mountpoint)
    except OSError:
        vfs.VfsLfs2.mkfs(device)
        vfs.mount(vfs.VfsLfs2(device), mountpoint)
    return device
