"""The long fuzz run: the property tests, round after round, for an hour.

    .venv/bin/python tools/fuzz.py [--minutes 60] [--profile long]

Each round runs the hypothesis properties of the wire protocol
(tests/test_protocol_props.py), the collector's message path
(tests/test_collector_props.py) and the host's fast rating decoder
(tests/test_rating_decode.py) under HYPOTHESIS_PROFILE=long (thousands of
examples per property) with a new seed, so each round explores new inputs;
hypothesis keeps any failure it finds in .hypothesis/ and replays it first.
Rounds go on until the time is spent; a failing round stops the run with
pytest's report and exit code. `make fuzz` runs this for 60 minutes; `make
test` runs the same properties with a few examples each.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ["tests/test_protocol_props.py", "tests/test_collector_props.py", "tests/test_rating_decode.py"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="time to spend (default 60)")
    parser.add_argument(
        "--profile",
        default="long",
        choices=["long", "ci"],
        help="examples per property: long (make fuzz) or ci (a few)",
    )
    args = parser.parse_args(argv)
    env = dict(os.environ, HYPOTHESIS_PROFILE=args.profile)
    started = time.monotonic()
    deadline = started + 60 * args.minutes
    rounds = 0
    while True:
        rounds += 1
        seed = int(time.time() * 1000) % 2**32
        t0 = time.monotonic()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "--hypothesis-seed=%d" % seed,
                *TESTS,
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        tail = (result.stdout.strip().splitlines() or ["(no output)"])[-1]
        print(
            "fuzz round %d (seed %d): %s in %.0f s; %.1f of %g min spent"
            % (rounds, seed, tail, time.monotonic() - t0, (time.monotonic() - started) / 60, args.minutes),
            flush=True,
        )
        if result.returncode != 0:
            print(result.stdout[-6000:] + result.stderr[-2000:])
            print("fuzz: round %d failed; rerun it with --hypothesis-seed=%d" % (rounds, seed))
            return result.returncode
        if time.monotonic() >= deadline:
            break
    print("fuzz: %d rounds in %.1f min, no failure" % (rounds, (time.monotonic() - started) / 60))
    return 0


if __name__ == "__main__":
    sys.exit(main())
