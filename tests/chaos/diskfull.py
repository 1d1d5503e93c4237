"""A host disk that can be filled up and freed again.

As root (here, and in the CI container) a small tmpfs is mounted on a
directory: `fill()` writes a filler file until the kernel says ENOSPC, so
SQLite meets a real full disk (SQLITE_FULL on the WAL write). Where mounting
is not allowed, `PageCap` gives the same SQLite error with
`PRAGMA max_page_count` on the store's writer connection.
"""

import errno
import os
import subprocess


def can_mount():
    """Root can mount a tmpfs; CHAOS_NO_MOUNT=1 tries the PageCap path instead."""
    return os.geteuid() == 0 and not os.environ.get("CHAOS_NO_MOUNT")


class SmallDisk:
    def __init__(self, path, size_mb=16):
        self.path = str(path)
        os.makedirs(self.path, exist_ok=True)
        proc = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=%dm" % size_mb, "tmpfs", self.path],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise OSError("cannot mount a tmpfs on %s: %s" % (self.path, proc.stderr.strip()))
        self.filler = os.path.join(self.path, "filler")

    def fill(self):
        """Write until the disk is full; return the bytes written."""
        written = 0
        chunk = b"\0" * 65536
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            while True:
                try:
                    written += os.write(fd, chunk if written % 65536 == 0 else b"\0")
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    if len(chunk) == 1:
                        return written
                    chunk = b"\0"  # fill the last bytes too
        finally:
            os.close(fd)

    def free_bytes(self):
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize

    def free(self):
        os.unlink(self.filler)

    def close(self):
        subprocess.run(["umount", "-l", self.path], capture_output=True)


class PageCap:
    """The same SQLITE_FULL without a mount: cap the database's page count."""

    def __init__(self, store):
        self.store = store

    def fill(self):
        def cap(db):
            pages = db.execute("PRAGMA page_count").fetchone()[0]
            db.execute("PRAGMA max_page_count = %d" % pages)
            return pages * db.execute("PRAGMA page_size").fetchone()[0]  # the size it is held to

        return self.store.run(cap)

    def free(self):
        self.store.run(lambda db: db.execute("PRAGMA max_page_count = 1073741823"))
