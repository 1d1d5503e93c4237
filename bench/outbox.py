"""Outbox append time on MicroPython (100 KB heap, file-backed littlefs),
against the raw littlefs file append on the same kind of image, same run.

  - outbox: tests/mpy/outbox_bench.py, firmware/outbox.py's append (record
    header + CRC, write, flush) followed by its ack, one at a time;
  - raw: tests/mpy/bench_raw_append.py, one open file, write + flush of the
    same rating bytes.
Both run on a fresh 512-block (2 MB) image in the unix port; times are
time.ticks_us() around each append. The unix port runs on this machine's
CPU and a file in /tmp, so these are ratios to trust more than absolutes.
"""

import json
import subprocess
import tempfile
from pathlib import Path

from bench.common import figure
from simulator import build, launch

ROOT = Path(__file__).resolve().parent.parent
MPY = ROOT / "tests" / "mpy"


def _micropython(workdir, script, *args):
    """tests/mpy/`script` on the 100 KB heap as on a board: in place from the
    script image, in `workdir`, files by relative names (simulator/launch.py)."""
    image = build.script_image(MPY, ROOT / "build" / "tests")
    proc = subprocess.run(
        launch.command(image, launch.HEAP, "-m", script.stem, *[str(a) for a in args]),
        env=launch.environment(),
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        raise RuntimeError("%s failed: %s" % (script.name, (proc.stderr or proc.stdout).strip()[-300:]))
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(appends=500, full=1000):
    with tempfile.TemporaryDirectory(prefix="hostd-outbox-bench-") as tmp:
        outbox = _micropython(tmp, MPY / "outbox_bench.py", "outbox.img", 512, appends, full)
        raw = _micropython(tmp, MPY / "bench_raw_append.py", "raw.img", 512, appends)
    return {"outbox": outbox, "raw": raw}


def figures(result):
    o, r = result["outbox"], result["raw"]
    how = (
        "firmware/outbox.py append of a %d-byte rating (record header + CRC, write, flush; "
        "each followed by an untimed ack), %d times, on MicroPython "
        "(100 KB heap) over a 2 MB file-backed littlefs (tests/mpy/outbox_bench.py)"
        % (o["wire_bytes"], o["appends"])
    )
    raw_how = "write + flush of the same bytes to one open littlefs file (tests/mpy/bench_raw_append.py)"
    return {
        "outbox_append_ms_median": figure(
            o["append_median_us"] / 1000.0, "ms", how, baseline="littlefs_append_ms_median"
        ),
        "outbox_append_ms_p95": figure(
            o["append_p95_us"] / 1000.0, "ms", how, baseline="littlefs_append_ms_p95"
        ),
        "littlefs_append_ms_median": figure(r["append_median_us"] / 1000.0, "ms", raw_how),
        "littlefs_append_ms_p95": figure(r["append_p95_us"] / 1000.0, "ms", raw_how),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
