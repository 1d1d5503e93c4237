"""Child processes hostd supervises (Mosquitto, Litestream) die with it.

`die_with_parent` runs in the child between fork and exec: PR_SET_PDEATHSIG
makes the kernel send it SIGTERM when hostd dies, even by SIGKILL, and its own
process group keeps a Ctrl-C at the terminal for hostd, which stops its
children in order.
"""

import ctypes
import os
import signal

_PR_SET_PDEATHSIG = 1


def die_with_parent():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: hostd stops its children itself on a clean exit
    os.setpgrp()
