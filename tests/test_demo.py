"""`make demo` runs the main job: a hall whose ratings reach the platform."""

import re
import subprocess
import sys


def test_demo_hall_rates_and_syncs(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "simulator.demo",
            "--devices",
            "2",
            "--seconds",
            "20",
            "--home",
            str(tmp_path / "demo-home"),
            "--web-port",
            "0",  # not 8080: another test of the run may hold it for a moment
        ],
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    reports = re.findall(
        r"demo: (\d+) services \((\d+) cases\); ratings by level ([^;]*); "
        r"device outboxes (\d+); 差评 work orders (\d+); upstream confirmed (\d+),"
        r" waiting (\d+), dead (\d+)",
        proc.stdout,
    )
    assert reports, proc.stdout[-2000:]
    services, _cases, levels, _outboxes, _orders, confirmed, _waiting, dead = reports[-1]
    stored = sum(int(n) for n in re.findall(r"★:(\d+)", levels))
    assert int(services) >= 3 and stored >= 2, reports[-1]
    assert int(confirmed) > 0 and int(dead) == 0, reports[-1]  # the platform took them
