"""Power cuts: SIGKILL the MicroPython process while it appends and acks.

The child (tests/mpy/outbox_powercut.py) prints each step to a file, one
write per line, BEFORE and AFTER each call. After each kill a second
MicroPython remounts the same littlefs image (no formatting allowed) and
lists the pending records. What a kill may leave:

- "A s" printed (append returned s) and no "K s": s must be present.
- "k s" printed (ack(s) returned True): s must be gone, now and later.
- "B s" without "A s", or "K s" without "k s": the call was cut; s may be
  present or not, but a present s must read back intact.
- Anything present must have been appended and not acked; next_seq must be
  above every seq append ever returned, and no seq is returned twice.

The image carries over from run to run, so the pending set, the segment
files and the seq counter are tested across all the cuts.

Random kills rarely land in the short windows (sealing a segment, deleting
a drained one), so a second test cuts the power at every single block write
of a scenario that crosses them (tests/mpy/outbox_cutsweep.py).
"""

import json
import os
import random
import signal
import subprocess
import time

import pytest

from conftest import ROOT, run_micropython, start_micropython

SCRIPT = ROOT / "tests" / "mpy" / "outbox_powercut.py"
BLOCKS = 512
RUNS = 50  # power cuts in one test
SEED = 20260705


def _parse(log_text):
    """Complete lines only: a line without its newline was never printed."""
    steps = []
    for line in log_text.split("\n")[:-1]:
        kind, *numbers = line.split()
        steps.append((kind, [int(n) for n in numbers]))
    return steps


def _cut(image, rng, log_path, seed):
    with open(log_path, "w") as log:
        child = start_micropython(
            SCRIPT.stem, image, BLOCKS, "work", seed, cwd=image.parent, stdout=log, stderr=subprocess.STDOUT
        )
        if rng.random() < 0.2:
            time.sleep(rng.uniform(0.0, 0.15))  # maybe while it is still opening (recovery)
        else:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and "\n" not in log_path.read_text():
                assert child.poll() is None, log_path.read_text()
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.5))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    return _parse(log_path.read_text())


def _check(image):
    proc = run_micropython(SCRIPT, str(image), str(BLOCKS), "check", heap="4M")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_power_cuts_lose_nothing_and_resurrect_nothing(tmp_path):
    _power_cuts(tmp_path, RUNS, SEED)


@pytest.mark.slow
def test_one_hundred_power_cuts(tmp_path):
    """Issue 8: the flash mounts 100 of 100 times, every press is recorded
    exactly once, no sequence number is reused."""
    _power_cuts(tmp_path, 100, SEED + 1000)


def _power_cuts(tmp_path, runs, seed):
    rng = random.Random(seed)
    image = tmp_path / "flash.img"
    pending = set()  # present at the last remount and not acked since
    returned = set()  # every seq append ever returned
    acked_total = 0
    cut_mid_call = 0
    mounts = 0
    for run in range(runs):
        steps = _cut(image, rng, tmp_path / f"run{run}.log", seed + run)
        where = f"run {run} (seed {seed + run}), log {tmp_path / f'run{run}.log'}"
        must_have = set(pending)
        may_have = set()
        gone = set()
        in_flight = None
        for kind, numbers in steps:
            if kind == "R":
                continue
            assert kind in ("B", "A", "K", "k"), (where, kind)
            seq = numbers[0]
            if kind == "B":
                assert not returned or seq > max(returned), f"{where}: seq {seq} offered again"
                may_have.add(seq)
                in_flight = ("append", seq)
            elif kind == "A":
                assert seq not in returned, f"{where}: append returned {seq} twice"
                returned.add(seq)
                may_have.discard(seq)
                must_have.add(seq)
                in_flight = None
            elif kind == "K":
                assert seq in must_have, f"{where}: acking {seq}, which is not pending"
                must_have.discard(seq)
                may_have.add(seq)
                in_flight = ("ack", seq)
            else:  # "k": ack returned True
                may_have.discard(seq)
                gone.add(seq)
                acked_total += 1
                in_flight = None
        if in_flight is not None:
            cut_mid_call += 1

        state = _check(image)
        assert "mount_failed" not in state, f"{where}: {state}"
        mounts += 1
        present = set(state["pending"])
        assert len(present) == len(state["pending"]) == state["depth"], where
        assert state["bad"] == 0, f"{where}: {state['bad']} records read back wrong"
        assert must_have <= present, f"{where}: lost {sorted(must_have - present)}"
        assert not present & gone, f"{where}: acked records came back {sorted(present & gone)}"
        assert present <= must_have | may_have, f"{where}: phantom {sorted(present - must_have - may_have)}"
        highest = max(returned | present | {0})
        assert state["next_seq"] > highest, f"{where}: next_seq {state['next_seq']} <= {highest}"
        pending = present
    # The runs did real work: several segments' worth, and cuts inside calls.
    assert len(returned) > 2 * 250 and acked_total > 250, (len(returned), acked_total)
    assert cut_mid_call > 5, cut_mid_call
    print(
        "power cuts: %d runs, flash mounted %d/%d, %d seqs appended, %d acked, %d cuts inside"
        " a call, 0 lost, 0 resurrected, 0 seqs reused"
        % (runs, mounts, runs, len(returned), acked_total, cut_mid_call)
    )


def test_cut_at_every_block_write(tmp_path):
    proc = run_micropython(ROOT / "tests" / "mpy" / "outbox_cutsweep.py", str(tmp_path), timeout=300)
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    summary = lines[-1]
    assert lines[:-1] == [] and summary["failures"] == 0, lines
    assert summary["passes"] > 30  # one pass per block write of the scenario
