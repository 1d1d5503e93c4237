"""One `hostd run` per home: a lock held for the daemon's whole life.

<home>/hostd.pid is opened and locked (flock, released by the kernel when the
process ends, however it ends) and holds the daemon's pid. A second `hostd
run` on the same home is told, in one line, that one is already running and
which, rather than meeting a busy port or broker it did not start.
"""

import fcntl
import os

from hostd.base.errors import UserError

PID_FILE = "hostd.pid"


class AlreadyRunning(UserError):
    pass


def hold(home):
    """Lock the home for this process; return the open file (keep it) or raise AlreadyRunning."""
    path = os.path.join(str(home.path), PID_FILE)
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        pid = handle.read().strip() or "?"
        handle.close()
        raise AlreadyRunning(
            "hostd is already running on %s (pid %s): stop it first (kill -TERM %s, or "
            "`systemctl stop hostd`); `hostd device list` and the pages work meanwhile"
            % (home.path, pid, pid)
        )
    handle.seek(0)
    handle.truncate()
    handle.write("%d\n" % os.getpid())
    handle.flush()
    return handle
