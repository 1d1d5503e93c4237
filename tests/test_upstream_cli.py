"""`hostd sync`, the daemon's sync thread, and a SIGKILL in the middle of a batch."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from hostd_helpers import HostdProcess
from hostd_support import hostd, make_home
from upstream_fixtures import AREA, DEPT, open_db, outbox_counts, seed

from hostd.sync.service import take_lock
from peers.upstream_ref.server import RefPlatform

SECRET = b"cli-shared-secret"


@pytest.fixture
def ref(tmp_path):
    platform = RefPlatform(tmp_path / "ref.db", SECRET).start()
    yield platform
    platform.stop()


def upstream_home(tmp_path, url, batch_size=100):
    home = make_home(tmp_path / "home")
    home.set("upstream", "url", url)
    home.set("upstream", "batch_size", batch_size)
    home.set("upstream", "area_code", AREA)
    home.set("upstream", "dept_code", DEPT)
    home.keys.mkdir(exist_ok=True)
    (home.keys / "upstream-secret").write_bytes(SECRET + b"\n")
    return home


def seeded(home, sessions):
    db = open_db(home.db_path)
    seed(db, sessions)
    return db


def test_status_without_an_upstream_says_so_and_shows_no_backlog(tmp_path):
    home = make_home(tmp_path / "home")
    result = hostd(home, "sync", "--status")
    assert result.exit_code == 0, result.output
    assert (
        result.output.startswith("上报未配置 (upstream not configured)") and "upstream.url" in result.output
    )
    assert "backlog" not in result.output
    as_json = hostd(home, "sync", "--status", "--json")
    assert json.loads(as_json.output) == {"configured": False}


def test_status_of_an_empty_outbox(tmp_path):
    home = make_home(tmp_path / "home")
    text = home.config_path.read_text()
    home.config_path.write_text(
        text.replace('[upstream]\nurl = ""', '[upstream]\nurl = "http://127.0.0.1:9/"')
    )
    result = hostd(home, "sync", "--status")
    assert result.exit_code == 0, result.output
    assert "backlog: 0 record(s)" in result.output and "dead letters: 0" in result.output


def test_once_when_sync_is_off_says_what_to_set(tmp_path):
    home = make_home(tmp_path / "home")
    result = hostd(home, "sync", "--once")
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "set upstream.url" in result.output


def test_once_drains_and_status_reports(tmp_path, ref):
    home = upstream_home(tmp_path, ref.url)
    db = seeded(home, 150)
    before = hostd(home, "sync", "--status")
    assert "backlog: 300 record(s) to send (150 waiting for their service record)" in before.output
    assert "oldest pending: 2" in before.output
    result = hostd(home, "sync", "--once")
    assert result.exit_code == 0, result.output
    assert "sync to platform" in result.output
    assert "platform: 300 confirmed, 0 rejected (will retry), 0 dead" in result.output
    assert outbox_counts(db) == {"confirmed": 300}
    status = hostd(home, "sync", "--status")
    assert "backlog: 0" in status.output and "confirmed 300" in status.output
    assert "last success: platform 2" in status.output
    assert ref.stats()["ratings"] == 150


def test_once_with_the_platform_down_keeps_everything(tmp_path, ref):
    home = upstream_home(tmp_path, ref.url)
    db = seeded(home, 20)
    ref.stop()
    result = hostd(home, "sync", "--once")
    assert result.exit_code == 1
    assert "platform unreachable" in result.output and "stay queued" in result.output
    assert "Traceback" not in result.output
    assert outbox_counts(db) == {"pending": 40}
    status = hostd(home, "sync", "--status", "--json")
    assert '"backlog": 40' in status.output and "last_error" in status.output


def test_dead_letters_are_listed(tmp_path, ref):
    home = upstream_home(tmp_path, ref.url)
    db = seeded(home, 3)
    with db.conn:
        db.conn.execute(
            "UPDATE upstream_outbox SET body = replace(body, '\"serviceNumber\":1',"
            " '\"serviceNumber\":0') WHERE key = 'svc:C0000001:1'"
        )
    hostd(home, "sync", "--once")
    status = hostd(home, "sync", "--status").output
    assert "dead letters: 2" in status
    assert "svc:C0000001:1 (service): BAD_FIELD" in status
    assert "prerequisite svc:C0000001:1: BAD_FIELD" in status


def test_once_refuses_while_another_sender_holds_the_home(tmp_path, ref):
    home = upstream_home(tmp_path, ref.url)
    lock = take_lock(home)
    try:
        result = hostd(home, "sync", "--once")
    finally:
        lock.close()
    assert result.exit_code == 1 and "is syncing" in result.output


def _sync_process(home):
    return subprocess.Popen(
        [sys.executable, "-m", "hostd.cli", "--home", str(home.path), "sync", "--once"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_sigkill_during_batches_loses_and_doubles_nothing(tmp_path, ref):
    home = upstream_home(tmp_path, ref.url, batch_size=50)
    db = seeded(home, 400)
    ref.faults.set("slow", delay=0.05)  # every batch takes a while: kills land inside one
    kills_mid_batch = 0
    for extra in (0.0, 0.02, 0.045, 0.07):
        proc = _sync_process(home)
        deadline = time.monotonic() + 30
        confirmed = outbox_counts(db).get("confirmed", 0)
        while time.monotonic() < deadline:  # wait for a batch beyond the ones done before
            counts = outbox_counts(db)
            if counts.get("sent") and counts.get("confirmed", 0) > confirmed:
                break
            time.sleep(0.002)
        time.sleep(extra)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        kills_mid_batch += bool(outbox_counts(db).get("sent"))
    ref.faults.set("ok")
    final = subprocess.run(
        [sys.executable, "-m", "hostd.cli", "--home", str(home.path), "sync", "--once"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert final.returncode == 0, final.stderr
    assert kills_mid_batch >= 3  # the kills left batches sent and unanswered
    assert outbox_counts(db) == {"confirmed": 800}
    stats = ref.stats()
    assert stats["ratings"] == 400 and stats["services"] == 400  # the platform holds each once
    repeats = stats.get("refused_REPEAT_ASSESS", 0) + stats.get("refused_REPEAT_SERVICE", 0)
    assert repeats >= 1 and stats["queries"] >= 1  # a resent batch met its repeats, read them back


def test_hostd_run_syncs_and_survives_sigkill(tmp_path, ref):
    home = upstream_home(tmp_path, ref.url, batch_size=20)
    seeded(home, 300)
    ref.faults.set("slow", delay=0.03)
    run = HostdProcess(home)
    deadline = time.monotonic() + 30
    while ref.stats()["ratings"] < 20 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert run.stop(signal.SIGKILL) == -signal.SIGKILL
    assert "upstream sync on" in run.text()
    ref.faults.set("ok")
    again = HostdProcess(home)
    try:
        deadline = time.monotonic() + 60
        while ref.stats()["ratings"] < 300 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        again.stop()
    db = open_db(home.db_path)
    assert outbox_counts(db) == {"confirmed": 600}
    stats = ref.stats()
    assert stats["ratings"] == 300
