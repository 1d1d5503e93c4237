"""`python -m bench` (`make bench`): every benchmark in one go.

Prints a table and writes bench/results.json: for each figure its value,
unit, how it was measured, and the baseline from the same run where there is
one (as a ratio).

    python -m bench [--quick] [--out PATH]
        [--only ingest,latency,firmware,outbox,wear,render,sync,stats,heap32,backup,fleet,storm]

With --only, the figures of the benchmarks named replace theirs in the
results file and the others' stay (`make bench-fleet` is --only fleet,storm).
"""

import argparse
import json
import os
import platform
import sys
import threading
import time
import traceback
from pathlib import Path

from bench import (
    backup,
    common,
    firmware,
    flash_wear,
    fleet,
    heap32,
    ingest,
    latency,
    outbox,
    render,
    stats,
    storm,
    sync,
)

OUT = Path(__file__).resolve().parent / "results.json"
HEARTBEAT_S = 5.0  # a line at least this often while a benchmark runs

# name -> (module, full-size arguments, --quick arguments)
BENCHES = {
    "ingest": (
        ingest,
        dict(devices=20, per_device=500, window=10, rounds=3),
        dict(devices=10, per_device=100, window=10, rounds=1),
    ),
    "latency": (
        latency,
        dict(devices=100, rate=200.0, seconds=15.0),
        dict(devices=20, rate=50.0, seconds=3.0),
    ),
    "firmware": (firmware, dict(resolution_kb=2), dict(resolution_kb=8, timeout=15)),
    "outbox": (outbox, dict(appends=500, full=1000), dict(appends=50, full=1000)),
    "wear": (
        flash_wear,
        dict(ratings=2000, screens=2000, days=20, fill=10000),
        dict(ratings=100, screens=100, days=1, fill=500),
    ),
    "render": (render, dict(sessions=200, items=20, staff=10), dict(sessions=12, items=3, staff=2)),
    "sync": (
        sync,
        dict(records=1_000_000, batch_size=1000, epoint_records=40_000),
        dict(records=20000, batch_size=1000, epoint_records=2000),
    ),
    "stats": (stats, dict(ratings=2_000_000, repeats=5), dict(ratings=50_000, repeats=3)),
    "heap32": (heap32, {}, {}),
    "backup": (
        backup,
        dict(ratings=2_000_000, rounds=5, seconds=6.0),
        dict(ratings=20_000, rounds=2, seconds=3.0),
    ),
    "fleet": (
        fleet,
        dict(sizes=(1000, 3000, 10000), measure_s=60, plot=fleet.PLOT),
        dict(sizes=(50, 150), measure_s=3),
    ),
    "storm": (storm, dict(devices=1000, outbox=50), dict(devices=20, outbox=5)),
}


def heartbeat(log, running, done):
    """Every HEARTBEAT_S without a progress line: "bench: <name>: running (N s)"."""
    while not done.wait(HEARTBEAT_S / 5):
        now = time.monotonic()
        if running and now - common.LAST_LINE[0] >= HEARTBEAT_S:
            common.LAST_LINE[0] = now
            log("bench: %s: running (%.0f s)" % (running[0], now - running[1]))


def derived(results):
    """Figures made of two benchmarks' figures from this run."""
    out = {}
    peak, ratio = results.get("firmware_heap_peak_bytes"), results.get("heap32_ratio")
    if peak and ratio and peak["value"] and ratio["value"]:
        out["firmware_heap_peak_bytes_32bit"] = common.figure(
            int(peak["value"] * ratio["value"]),
            "B",
            "the firmware's peak on a 32-bit MicroPython (an ESP32): firmware_heap_peak_bytes (64-bit"
            " unix port) x heap32_ratio (the same path's live heap, 32-bit / 64-bit), both this run",
            baseline="firmware_heap_peak_bytes",
        )
    return out


def run(names, quick=False, log=print):
    results, raw, errors, took, owners = {}, {}, {}, {}, {}
    running, done = [], threading.Event()
    beat = threading.Thread(target=heartbeat, args=(log, running, done), daemon=True)
    beat.start()
    for name in names:
        module, full, small = BENCHES[name]
        t0 = time.monotonic()
        log("bench: %s ..." % name)
        common.LAST_LINE[0] = t0
        running[:] = [name, t0]
        try:
            raw[name] = module.run(**(small if quick else full))
            made = module.figures(raw[name])
            results.update(made)
            owners[name] = sorted(made)
        except Exception as e:  # one failed bench must not hide the others
            errors[name] = "%s: %s" % (type(e).__name__, e)
            log("bench: %s failed: %s" % (name, errors[name]))
            traceback.print_exc()
        running[:] = []
        took[name] = round(time.monotonic() - t0, 1)
        log("bench: %s took %.0f s" % (name, took[name]))
    done.set()
    beat.join()
    results.update(derived(results))
    ratios(results)
    return {
        "figures": results,
        "raw": raw,
        "errors": errors,
        "bench_seconds": took,
        "owners": owners,  # which benchmark made which figures (for --only)
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "quick": quick,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def merged(path, result, names):
    """`result` (of the benchmarks `names`) over the results already in `path`:
    their figures, raw numbers and errors replace those benchmarks' own; the
    derived figures and ratios are made again."""
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        return result
    if old.get("quick") != result["quick"]:
        return result  # a quick run never mixes with a full one
    mine = {fig for name in names for fig in old.get("owners", {}).get(name, [])}
    figures = {k: v for k, v in old["figures"].items() if k not in mine}
    figures.update(result["figures"])
    for key in ("raw", "bench_seconds", "owners"):
        result[key] = {**{k: v for k, v in old.get(key, {}).items() if k not in names}, **result[key]}
    result["errors"] = {
        **{k: v for k, v in old.get("errors", {}).items() if k not in names},
        **result["errors"],
    }
    figures.update(derived(figures))
    ratios(figures)
    result["figures"] = figures
    return result


def ratios(figures):
    for fig in figures.values():
        base = fig.get("baseline")
        if base and base in figures and fig["value"] is not None and figures[base]["value"]:
            fig["vs_baseline"] = round(fig["value"] / figures[base]["value"], 3)


def table(figures):
    rows = [("figure", "value", "unit", "vs baseline", "target")]
    for name, fig in figures.items():
        value = fig["value"]
        shown = "-" if value is None else ("%.3f" % value if isinstance(value, float) else str(value))
        rows.append((name, shown, fig["unit"], str(fig.get("vs_baseline", "")), str(fig.get("target", ""))))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    for name, fig in figures.items():
        lines.append("%s: %s" % (name, fig["how"]))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks that it all runs")
    parser.add_argument("--only", default=",".join(BENCHES), help="comma-separated: %s" % ",".join(BENCHES))
    parser.add_argument("--out", default=str(OUT), help="where to write the JSON results")
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n]
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        parser.error("unknown benchmark %s; choose from %s" % (", ".join(unknown), ", ".join(BENCHES)))
    t0 = time.monotonic()
    result = run(names, args.quick, log=lambda text: print(text, file=sys.stderr, flush=True))
    result["seconds"] = round(time.monotonic() - t0, 1)
    if set(names) != set(BENCHES):
        try:
            result = merged(Path(args.out), result, names)
        except Exception as exc:  # never lose this run's figures to an old file
            print(
                "bench: could not merge into %s (%s): writing this run's figures alone" % (args.out, exc),
                file=sys.stderr,
            )
    Path(args.out).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(table(result["figures"]))
    print("\nwrote %s in %.0f s" % (args.out, result["seconds"]))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
