"""The heap a MicroPython test program sees does not depend on where the
project is checked out.

MicroPython keeps every module's file name, sys.path and argv in its heap.
When the checkout's path reached it, the heap's layout changed with the
folder's name, and a 4 KB block at the tightest point was free in one clone
and not in another (issue 14). Now programs run as on a board, with fixed
names only (simulator/launch.py). This test copies what runs a program
(firmware, protocol, the simulator, the test programs and their harness)
into three roots (a short path; one 100 characters longer; one past 255
characters, where MicroPython and mpy-cross refuse a path outright), runs
the same heap-sensitive programs from each, and asserts the same heap
figures.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

from test_display import session_fields, session_parts

from conftest import ROOT

COPIED = (
    "firmware",
    "protocol",
    "simulator",
    "tests/mpy",
    "tests/conftest.py",
    "hostd/__init__.py",
    "hostd/devices/firmware_image.py",
)

# Runs in the copied root, with that root's own modules (cwd first on sys.path).
PROBE = """
import json, sys, tempfile
from pathlib import Path
sys.path.insert(0, "tests")
import conftest, hostd
assert Path(hostd.__file__).resolve().is_relative_to(Path.cwd().resolve()), hostd.__file__
session = sys.argv[1]
with tempfile.TemporaryDirectory(prefix="probe-") as d:
    ev = conftest.run_micropython(conftest.MPY / "ui_evaluator.py", Path(d) / "flash.img", "100",
                                  "session:s1::3", "press:3", "wait:600", "press:2", "wait:4000",
                                  "idle:staff-7", "dump")
with tempfile.TemporaryDirectory(prefix="probe-") as d:
    shutil_target = Path(d) / "session.json"
    shutil_target.write_text(Path(session).read_text())
    memory = conftest.run_micropython(conftest.MPY / "ui_memory.py", Path(d) / "flash.img", shutil_target)
print(json.dumps({"evaluator_margin": ev.margin, "memory": json.loads(memory.stdout.splitlines()[-1])}))
"""


def _copy(root):
    for name in COPIED:
        source, target = ROOT / name, root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.mpy"))
        else:
            shutil.copy2(source, target)
    return root


def _figures(root, session):
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(session)], cwd=root, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def test_heap_figures_are_the_same_from_a_short_and_a_long_checkout_path(tmp_path):
    fields = session_fields(session_parts())
    session = tmp_path / "session.json"
    session.write_text(json.dumps(fields))
    short = _copy(tmp_path / "s")
    longer = _copy(tmp_path.joinpath(*["a-longer-checkout-folder"] * 5))
    longest = _copy(tmp_path.joinpath(*["a-much-longer-checkout-folder-name"] * 8))
    assert len(str(longer)) - len(str(short)) >= 100 and len(str(longest)) > 255
    at_short = _figures(short, session)
    # The figures are real ones: the programs ran and reported their heap.
    assert at_short["evaluator_margin"] > 4096
    assert at_short["memory"]["holding_session"] > 0 and at_short["memory"]["missing"] == 0
    assert _figures(longer, session) == at_short
    assert _figures(longest, session) == at_short
