"""hostd's wall clock for the rules (sessions, rating periods, deadlines).

`now()` is time.time() plus an offset. Tests and drills move the clock
without touching the system's: set HOSTD_CLOCK_FILE to a file that holds the
offset in seconds (a float); the file is read again whenever it changes.
The collector stamps received_at with this clock too, so a moved clock moves
everything together.
"""

import os
import time

ENV = "HOSTD_CLOCK_FILE"
_cache = {"key": None, "offset": 0.0}


def offset():
    path = os.environ.get(ENV)
    if not path:
        return 0.0
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return 0.0
    key = (path, st.st_mtime_ns, st.st_size)
    if key != _cache["key"]:
        with open(path) as f:
            text = f.read().strip()
        _cache["offset"] = float(text or 0)
        _cache["key"] = key
    return _cache["offset"]


def now():
    """Seconds since the epoch, as the rules see them."""
    return time.time() + offset()


def set_offset(path, seconds):
    """Write an offset file atomically (for tests and drills)."""
    tmp = "%s.tmp" % path
    with open(tmp, "w") as f:
        f.write("%r\n" % float(seconds))
    os.replace(tmp, path)
