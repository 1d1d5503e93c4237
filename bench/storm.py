"""The reconnect storm: `devices` devices, each with `outbox` ratings waiting
in its outbox, connect to hostd's broker at once (as after a broker restart or
a network outage) and send them all, as the firmware does (8 in flight,
resent after 15 s unacked).

A real `hostd run` with its own Mosquitto (bench/fleet_hall.py) and
protocol-level devices (bench/fleet_clients.py). Measured: the time from
"go" until every rating is acked (the acks verified by each device), and
so the drain rate, beside ingest_per_s (bench/ingest.py) of the same run.
Checked in the database afterwards: one row per (device, seq) sent, none
missing, none twice.

    python -m bench.storm [devices] [outbox]
"""

import json
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

from bench import fleet_hall
from bench.common import Progress, figure


def run(devices=1000, outbox=50):
    progress = Progress("storm")
    fleet_hall.raise_open_files()
    workdir = Path(tempfile.mkdtemp(prefix="bench-storm-"))
    try:
        hall = fleet_hall.make_home(workdir / "home")
        made = fleet_hall.register(hall, 0, devices)
        hostd = fleet_hall.Hostd(hall)
        fleet = None
        expected = devices * outbox
        try:
            options = {"heartbeat_s": 30, "outbox": outbox, "wait_for_go": True}
            fleet = fleet_hall.Devices(hostd.broker_port, made, options, processes=max(2, devices // 500))
            cpu0 = fleet_hall.cpu_seconds(hostd.proc.pid)
            t0 = fleet.go()  # time.monotonic() as "go" went out: the devices' ack times use the same clock
            got = fleet.wait(
                lambda r: r["acked"] == expected and r["pending"] == 0,
                300 + expected / 100,
                progress,
                "%d devices draining %d ratings" % (devices, expected),
            )
            drain_s = max(at for at, _latency in got["timeline"]) - t0  # the last ack, not our last look
            cpu = fleet_hall.cpu_seconds(hostd.proc.pid) - cpu0
        finally:
            if fleet is not None:
                fleet.stop()
            hostd.stop()
        conn = sqlite3.connect(str(hall.db_path))
        try:
            # every device sent seq 1..outbox: a row for each, or it was lost; any
            # other row (a seq it never sent) would be a rating stored twice
            rows = conn.execute("SELECT COUNT(*) FROM ratings WHERE channel = 'device'").fetchone()[0]
            sent = conn.execute(
                "SELECT COUNT(*) FROM ratings WHERE channel = 'device' AND seq BETWEEN 1 AND ?", (outbox,)
            ).fetchone()[0]
        finally:
            conn.close()
        return {
            "devices": devices,
            "outbox": outbox,
            "ratings": expected,
            "drain_s": round(drain_s, 2),
            "drain_per_s": round(expected / drain_s, 1),
            "hostd_cpu_us_per_rating": round(cpu / expected * 1e6, 1),
            "acked": got["acked"],
            "resends": got["resends"],
            "duplicate_acks": got["duplicate_acks"],
            "reconnects": got["connects"] - devices,
            "bad_acks": got["bad"],
            "rows": rows,
            "lost": expected - sent,
            "duplicated": rows - expected,
        }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def figures(raw):
    shape = "%d devices x %d ratings in their outboxes, connecting at once" % (raw["devices"], raw["outbox"])
    return {
        "storm_drain_per_s": figure(
            raw["drain_per_s"],
            "ratings/s",
            "reconnect storm: %s; all %d stored and acked (verified by each device) in %.1f s;"
            " %d lost (acked, no row), %d stored twice (rows beyond one per device and seq), %d resent"
            " (%d answered 'duplicate')"
            % (
                shape,
                raw["ratings"],
                raw["drain_s"],
                raw["lost"],
                raw["duplicated"],
                raw["resends"],
                raw["duplicate_acks"],
            ),
            baseline="ingest_per_s",
        ),
        "storm_drain_s": figure(raw["drain_s"], "s", "the storm's 'go' until the last ack"),
    }


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    print(json.dumps(run(*args), indent=1))
