"""The fleet curve: 1,000, 3,000 and 10,000 devices on one hostd.

A real `hostd run` with its own Mosquitto (bench/fleet_hall.py); the devices
are protocol-level clients (bench/fleet_clients.py), each with its own
login and ACL entry, a signed heartbeat every `heartbeat_s` (the firmware's
30 s) and its screen kept retained by hostd; 1% of them rate, one rating
every ~`rate_every_s` each. At each size, once every device is connected
and holds its screen:
  - CPU % (of one core) and RSS of hostd's process and of its Mosquitto over
    `measure_s` seconds;
  - ack latency, a rating's first publish to its verified ack, p50 and p99;
  - the time to push one screen to every device: POST /api/v1/screens/refresh
    until each device has received its new screen.
Ratios from the same run: hostd's CPU against Mosquitto's at the largest
size, and the ack p99 at the largest size against the smallest.

    python -m bench.fleet [sizes, e.g. 1000,3000,10000] [measure_s]
"""

import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench import fleet_hall, fleet_plot
from bench.common import Progress, figure, percentile

SIZES = (1000, 3000, 10000)
PLOT = Path(__file__).resolve().parent.parent / "docs" / "fleet-curve.png"
PER_PROCESS = 2500  # devices a worker process runs


def _measure_size(hall, devices, size, measure_s, heartbeat_s, rate_every_s, progress):
    raters = [d for d, _k in devices[: max(1, size // 100)]]
    processes = max(2, -(-size // PER_PROCESS))
    options = {"heartbeat_s": heartbeat_s, "rate_every_s": rate_every_s, "connect_at_once": 50}
    hostd = fleet_hall.Hostd(hall)
    started = time.monotonic()
    fleet = None
    try:
        fleet = fleet_hall.Devices(hostd.broker_port, devices, options, processes, raters)
        got = fleet.wait(
            lambda r: r["connected"] == size and min(r["screens"]) >= 1,
            120 + size / 20,
            progress,
            "%d devices connecting" % size,
        )
        connect_s = time.monotonic() - started
        time.sleep(min(5.0, measure_s / 4))  # the first heartbeats of the last ones in
        fleet.ask()  # latencies from here on
        buckets0 = hostd.ack_buckets()
        cpu0 = {name: fleet_hall.cpu_seconds(pid) for name, pid in _pids(hostd).items()}
        t0 = time.monotonic()
        while time.monotonic() - t0 < measure_s:
            progress.tick("%d devices: measuring (%.0f of %d s)" % (size, time.monotonic() - t0, measure_s))
            time.sleep(1.0)
        wall = time.monotonic() - t0
        cpu = {name: fleet_hall.cpu_seconds(pid) - cpu0[name] for name, pid in _pids(hostd).items()}
        rss = {name: fleet_hall.rss_mb(pid) for name, pid in _pids(hostd).items()}
        inside = _bucket_p99({le: n - buckets0.get(le, 0) for le, n in hostd.ack_buckets().items()})
        got = fleet.ask()
        latencies = got["latencies"]
        before = got["screens"]
        pushed0 = time.monotonic()
        answer = hostd.refresh_screens()
        after = fleet.wait(
            lambda r: all(a > b for a, b in zip(r["screens"], before)),
            120 + size / 10,
            progress,
            "%d devices: waiting for the new screens" % size,
        )
        push_s = max(after["screen_at"]) - pushed0  # the last device's new screen
        return {
            "devices": size,
            "processes": processes,
            "raters": len(raters),
            "connect_s": round(connect_s, 1),
            "measure_s": round(wall, 1),
            "hostd_cpu_pct": round(100 * cpu["hostd"] / wall, 1),
            "broker_cpu_pct": round(100 * cpu["broker"] / wall, 1),
            "hostd_rss_mb": round(rss["hostd"], 1),
            "broker_rss_mb": round(rss["broker"], 1),
            "acks": len(latencies),
            "ack_ms_p50": round(1000 * statistics.median(latencies), 1) if latencies else None,
            "ack_ms_p99": round(1000 * percentile(latencies, 99), 1) if latencies else None,
            "hostd_ack_ms_p99_at_most": inside,
            "push_s": round(push_s, 2),
            "refresh": answer,
            "bad_host_messages": after["bad"],
            "reconnects": after["connects"] - size,
        }
    finally:
        if fleet is not None:
            fleet.stop()
        hostd.stop()


def _bucket_p99(buckets):
    """The bucket bound (ms) under which 99% of hostd's own ack latencies fall
    (arrival at the collector to the ack sent); None without ratings."""
    total = buckets.get(float("inf"), 0)
    if not total:
        return None
    for le in sorted(buckets):
        if buckets[le] >= 0.99 * total:
            return None if le == float("inf") else round(le * 1000, 1)
    return None


def _pids(hostd):
    return {"hostd": hostd.proc.pid, "broker": hostd.broker_pid}


def run(sizes=SIZES, measure_s=60, heartbeat_s=30, rate_every_s=2.0, plot=None):
    """Measure each size in turn on one hall; return the raw numbers (and draw
    the curve into `plot`, a PNG path, if given)."""
    progress = Progress("fleet")
    limits = fleet_hall.raise_open_files()
    if limits[0] < max(sizes) + 1024:  # per process: the broker holds a socket per device
        raise RuntimeError(
            "bench: %d devices need about %d open files in the broker's process; the limit is %d:"
            " raise it (ulimit -n, or LimitNOFILE= in a systemd unit)"
            % (max(sizes), max(sizes) + 1024, limits[0])
        )
    workdir = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    try:
        hall = fleet_hall.make_home(workdir / "home")
        devices, out = [], []
        for size in sorted(sizes):
            progress.say("registering devices up to %d" % size)
            devices += fleet_hall.register(hall, len(devices), size)
            out.append(_measure_size(hall, devices, size, measure_s, heartbeat_s, rate_every_s, progress))
            progress.say(
                "%d devices: %s" % (size, json.dumps({k: v for k, v in out[-1].items() if k != "refresh"}))
            )
        result = {
            "sizes": out,
            "open_files_limit": limits[0],
            "heartbeat_s": heartbeat_s,
            "rate_every_s": rate_every_s,
        }
        if plot:
            result["plot"] = str(fleet_plot.plot(result, plot))
        return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def figures(raw):
    rows = {row["devices"]: row for row in raw["sizes"]}
    small, large = min(rows), max(rows)
    out = {}
    for n, row in sorted(rows.items()):
        shape = "%d devices (%d rating), heartbeat every %d s, %d worker processes" % (
            n,
            row["raters"],
            raw["heartbeat_s"],
            row["processes"],
        )
        out["fleet_%d_hostd_cpu_pct" % n] = figure(
            row["hostd_cpu_pct"],
            "% of a core",
            "hostd's process CPU over %.0f s with %s" % (row["measure_s"], shape),
            baseline="fleet_%d_broker_cpu_pct" % n,
            target="<= 1.0x the broker's" if n == large else None,
        )
        out["fleet_%d_broker_cpu_pct" % n] = figure(
            row["broker_cpu_pct"], "% of a core", "hostd's Mosquitto's CPU over the same seconds"
        )
        out["fleet_%d_hostd_rss_mb" % n] = figure(
            row["hostd_rss_mb"], "MB", "hostd's resident memory, %s" % shape
        )
        out["fleet_%d_broker_rss_mb" % n] = figure(row["broker_rss_mb"], "MB", "Mosquitto's resident memory")
        out["fleet_%d_ack_ms_p50" % n] = figure(
            row["ack_ms_p50"],
            "ms",
            "a rating's first publish to its verified ack, median of %d" % row["acks"],
        )
        out["fleet_%d_ack_ms_p99" % n] = figure(
            row["ack_ms_p99"],
            "ms",
            "the same, p99",
            baseline=None if n == small else "fleet_%d_ack_ms_p99" % small,
            target="<= 2x at %d devices" % small if n == large else None,
        )
        out["fleet_%d_push_s" % n] = figure(
            row["push_s"],
            "s",
            "POST /api/v1/screens/refresh until every one of the %d devices has its new screen" % n,
        )
        out["fleet_%d_connect_s" % n] = figure(
            row["connect_s"], "s", "hostd's start until all %d devices are connected and hold a screen" % n
        )
    return out


if __name__ == "__main__":
    sizes = tuple(int(n) for n in sys.argv[1].split(",")) if len(sys.argv) > 1 else SIZES
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    print(json.dumps(run(sizes, seconds), indent=1))
