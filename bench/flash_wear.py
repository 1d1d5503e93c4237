"""How long a device's flash lasts, and how long it holds ratings offline.

tests/mpy/flash_wear.py runs the firmware's own Outbox and PartStore on
MicroPython (100 KB heap) over a littlefs image of the ESP32's data
partition: 512 blocks of 4 KB, the 2 MiB `vfs` partition at 0x200000 of
MicroPython's standard 4 MiB ESP32 table, all of it the device's (the
firmware lives in the ROMFS partition, not on the filesystem). The block
device counts the erases littlefs asks of each block (simulator/board/
blockdev.py). MicroPython fixes littlefs' block_cycles at 100: a metadata
block is moved after 100 erases, which levels the wear.

  - erases per rating (append, ack, and the segment's deletion once all its
    records are acked), per session screen (its bitmaps into parts.bin) and
    per heartbeat (the firmware's App building and sending its status, with
    a stand-in for the MQTT link);
  - a run of days at 500 ratings and 500 screens a day; the erase count of
    every block after it: max / mean says how well the wear is levelled;
  - the worst block's erases per day of that run, against 100,000 cycles
    (Espressif's figure for the ESP32's NOR flash): years until the worst
    block reaches them, a bound on the low side (the hot blocks of a short
    run have not yet been moved as often as a longer run moves them);
  - the ratings an outbox holds before it refuses one (its capacity, or the
    flash reserve), and the days that covers at 200 ratings a day.

The years and days beside their goals (10 years; 30 days); the erases per
rating against the same bytes appended to one plain littlefs file, and per
screen against the same bytes rewritten in place in one file, in the same
run on the same image (the baselines).
"""

import json
import tempfile

from bench.common import figure
from bench.outbox import MPY, _micropython

CYCLES = 100_000
GOAL_YEARS = 10
GOAL_DAYS = 30
PER_DAY = 500
OFFLINE_PER_DAY = 200


def run(ratings=2000, screens=2000, days=20, fill=10000):
    with tempfile.TemporaryDirectory(prefix="hostd-wear-bench-") as tmp:
        return _micropython(
            tmp, MPY / "flash_wear.py", "wear.img", 512, ratings, screens, days, PER_DAY, fill
        )


def projection(result):
    """(worst-block erases a day, years to CYCLES on it, years at the mean)."""
    d = result["days"]
    simulated_days = d["days"] + d["ratings_before"] / float(d["per_day"])
    worst_per_day = d["erase_max"] / simulated_days
    mean_per_day = d["erase_mean"] / simulated_days
    years = CYCLES / worst_per_day / 365.0 if worst_per_day else float("inf")
    mean_years = CYCLES / mean_per_day / 365.0 if mean_per_day else float("inf")
    return worst_per_day, years, mean_years


def figures(result):
    r, s, d, f = result["rating"], result["screen"], result["days"], result["fill"]
    worst_per_day, years, mean_years = projection(result)
    where = "MicroPython (100 KB heap), littlefs on 512 x 4 KB blocks (the ESP32's 2 MiB vfs partition)"
    raw_r, raw_s, b, i = result["raw_rating"], result["raw_screen"], result["beat"], result["idle"]
    return {
        "flash_erases_per_idle_screen": figure(
            i["erases"] / float(i["count"]),
            "erases",
            "firmware/app.py's own message handler given the same idle screen %d times with a newer "
            "host time each (hostd sends one after every session; %d programs in all): the first is "
            "stored and kept for the next boot, the rest write nothing; %s"
            % (i["count"], i["programs"], where),
        ),
        "flash_erases_per_heartbeat": figure(
            b["erases"] / float(b["count"]),
            "erases",
            "firmware/app.py's own _heartbeat, %d times a heartbeat period apart (%d programs in all); "
            "the MQTT link a stand-in; %s" % (b["count"], b["programs"], where),
        ),
        "flash_erases_per_rating": figure(
            r["erases"] / r["count"],
            "erases",
            "firmware/outbox.py append + ack of a %d-byte rating, %d times, segment files deleted as "
            "they drain; %s (tests/mpy/flash_wear.py)" % (result["rating_bytes"], r["count"], where),
            baseline="littlefs_erases_per_append",
        ),
        "littlefs_erases_per_append": figure(
            raw_r["erases"] / raw_r["count"],
            "erases",
            "the same rating bytes appended to one plain littlefs file (write + flush), %d times"
            % raw_r["count"],
        ),
        "flash_erases_per_screen": figure(
            s["erases"] / s["count"],
            "erases",
            "firmware/hostmsg.py PartStore.store of a session's bitmaps (%d bytes of parts), %d times; %s"
            % (result["screen_bytes"], s["count"], where),
            baseline="littlefs_erases_per_rewrite",
        ),
        "littlefs_erases_per_rewrite": figure(
            raw_s["erases"] / raw_s["count"],
            "erases",
            "the same screen bytes rewritten in place in one plain littlefs file (seek 0, write, flush), "
            "%d times" % raw_s["count"],
        ),
        "flash_wear_max_over_mean": figure(
            d["erase_max"] / d["erase_mean"] if d["erase_mean"] else 0.0,
            "ratio",
            "max / mean erase count over the 512 blocks after %d days of %d ratings and %d screens a day "
            "(after the runs above); %d blocks never erased"
            % (d["days"], d["per_day"], d["per_day"], d["blocks_never_erased"]),
        ),
        "flash_worst_block_erases_per_day": figure(
            worst_per_day,
            "erases/day",
            "the most-erased block's count after that run, over its days (%d erases at most, %.1f mean)"
            % (d["erase_max"], d["erase_mean"]),
        ),
        "flash_years_at_500_per_day": figure(
            years,
            "years",
            "%d cycles / the worst block's erases a day at 500 ratings and 500 session screens a day "
            "(a low bound: the same erases levelled over every block give %.0f years)" % (CYCLES, mean_years),
            target=">= %d" % GOAL_YEARS,
        ),
        "offline_records": figure(
            f["held"],
            "ratings",
            "pending ratings on a new 2 MiB filesystem before the outbox refuses the next (%s); %d of %d "
            "bytes of flash still free" % (f["refused"], f["free_bytes"], f["total_bytes"]),
        ),
        "offline_days_at_200_per_day": figure(
            f["held"] / float(OFFLINE_PER_DAY),
            "days",
            "offline_records / 200 ratings a day",
            target=">= %d" % GOAL_DAYS,
        ),
    }


if __name__ == "__main__":
    print(json.dumps(run(ratings=200, screens=200, days=2, fill=1000), indent=2))
