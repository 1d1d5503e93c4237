"""`make sim` (python -m simulator.dev): a developer hall whose one device
gets a service session from hostd's API every few seconds, and rates it.
Driven by a press script on stdin (--stdin), as a terminal's keys would."""

import sqlite3
import subprocess
import sys

from conftest import ROOT


def test_make_sim_shows_sessions_that_a_press_rates(tmp_path):
    home = tmp_path / "sim-home"
    script = "wait 8\npress 2\nwait 4\nquit\n"  # the first session comes 2 s after the start
    proc = subprocess.run(
        [sys.executable, "-m", "simulator.dev", "--home", str(home), "--every", "30", "--stdin"],
        input=script,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    with sqlite3.connect(home / "hostd.db") as db:
        rows = db.execute("SELECT level, binding, staff_id FROM ratings").fetchall()
        sessions = db.execute("SELECT state FROM sessions").fetchall()
    assert rows == [(4, "session", "s-0107")], (rows, sessions, proc.stderr[-2000:])
    assert ("rated",) in sessions
