"""Shared parts of the benchmarks: a private Mosquitto, percentiles, figures.

Every benchmark returns a dict of *figures*. A figure is a dict with
`value`, `unit`, `how` (one sentence: what was measured, how) and, where the
same run measured a baseline, `baseline` (the name of that figure).
`bench/__main__.py` prints them as a table and writes bench/results.json.
"""
import math
import os
import shutil
import socket
import subprocess
import time


def figure(value, unit, how, baseline=None, target=None):
    out = {"value": value, "unit": unit, "how": how}
    if baseline is not None:
        out["baseline"] = baseline
    if target is not None:
        out["target"] = target
    return out

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values, p):
    """Nearest-rank percentile of `values` (p in 0..100); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(p / 100.0 * len(ordered)) - 1))
    return ordered[rank]


def mosquitto_binary():
    return shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def start_mosquitto(workdir, port=None, nodelay=True):
    """A Mosquitto on a free loopback port; returns (process, port).

    `nodelay`: set_tcp_nodelay (Nagle off on the broker's sockets; recommended
    for hostd's own broker config, see bench/README.md)."""
    binary = mosquitto_binary()
    if not os.path.exists(binary):
        raise RuntimeError("mosquitto is not installed: run `make install` "
                           "or `sudo apt-get install -y mosquitto`")
    port = port or free_port()
    conf = os.path.join(workdir, "mosquitto.conf")
    with open(conf, "w") as f:
        f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"
                "max_queued_messages 100000\nset_tcp_nodelay %s\n"
                % (port, "true" if nodelay else "false"))
    proc = subprocess.Popen([binary, "-c", conf], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, port
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("mosquitto did not start on port %d" % port)
            time.sleep(0.05)


def stop(proc):
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait()
