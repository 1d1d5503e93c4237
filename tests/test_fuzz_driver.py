"""`make fuzz` (tools/fuzz.py) runs the property tests round after round."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_one_short_round_runs_every_property_file():
    out = subprocess.run(
        [sys.executable, "tools/fuzz.py", "--minutes", "0", "--profile", "ci"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-1000:]
    assert "fuzz round 1 (seed " in out.stdout
    passed = int(out.stdout.split("fuzz round 1")[1].split(" passed")[0].split()[-1])
    assert passed >= 15  # protocol, collector and fast-decoder properties all ran
    assert "fuzz: 1 rounds" in out.stdout
