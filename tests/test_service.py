"""hostd as a system service (issue 24, part 1): the systemd unit, checked by
systemd-analyze (no systemd runs as PID 1 here); the sd_notify protocol on a
real datagram socket, with a watchdog fed only while the store's writer and
the collector make progress; and backups taken while hostd runs, restored
into a stopped home."""

import os
import signal
import socket
import sqlite3
import subprocess
import threading
import time

import pytest
from hostd_helpers import HostdProcess
from hostd_support import hostd, make_home

from hostd.db.store import Store
from hostd.service import notify


def verify(path):
    out = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True, timeout=60)
    return out.returncode, (out.stderr + out.stdout).strip()


def test_the_unit_is_what_systemd_accepts(tmp_path):
    home = make_home(tmp_path / "home")
    printed = hostd(home, "service", "install", "--print")
    assert printed.exit_code == 0, printed.output
    text = printed.output
    for line in (
        "Type=notify",
        "WatchdogSec=60",
        "Restart=always",
        "User=hostd",
        "ProtectSystem=strict",
        "ReadWritePaths=%s" % home.path.resolve(),
        "NoNewPrivileges=yes",
        "ExecStart=",
        "LimitNOFILE=65536",  # a socket per device in the broker, hostd's child
    ):
        assert line in text, line
    unit = tmp_path / "hostd.service"
    unit.write_text(text)
    assert verify(unit) == (0, "")
    # The check can fail: systemd says what it cannot parse.
    unit.write_text(text.replace("Type=notify", "Type=notified"))
    assert "Failed to parse service type" in verify(unit)[1]


def test_a_local_replica_folder_is_writable_by_the_service(tmp_path):
    home = make_home(tmp_path / "home")
    home.set("backup", "replica", str(tmp_path / "backup-disk"))
    text = hostd(home, "service", "install", "--print").output
    assert "ReadWritePaths=%s -%s" % (home.path.resolve(), tmp_path / "backup-disk") in text
    assert "EnvironmentFile=-%s" % (home.path / "backup.env") in text  # an s3:// replica's keys
    unit = tmp_path / "hostd.service"
    unit.write_text(text)
    assert verify(unit) == (0, "")
    dry = hostd(home, "service", "install", "--user", "no-such-user-x9", "--dry-run")
    assert (
        "would run: install -d -o no-such-user-x9 -g no-such-user-x9 -m 0700 %s" % (tmp_path / "backup-disk")
        in dry.output
    )


def test_install_says_what_it_does(tmp_path):
    home = make_home(tmp_path / "home")
    dry = hostd(home, "service", "install", "--user", "no-such-user-x9", "--dry-run")
    assert dry.exit_code == 0, dry.output
    steps = [line.split(": ", 1)[1] for line in dry.output.splitlines() if line.startswith("would run: ")]
    assert steps[0].startswith("useradd --system --home-dir %s" % home.path) and "no-such-user-x9" in steps[0]
    assert steps[1].startswith("chown -R no-such-user-x9:no-such-user-x9")
    assert steps[2:] == ["systemctl daemon-reload", "systemctl enable --now hostd.service"]
    assert "would write /etc/systemd/system/hostd.service" in dry.output


class Listener:
    """The NOTIFY_SOCKET end systemd holds: a real AF_UNIX datagram socket."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.got = []

    def wait_for(self, words, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i, line in enumerate(self.got):
                if words in line:
                    del self.got[: i + 1]
                    return line
            try:
                self.got.append(self.sock.recv(4096).decode())
            except socket.timeout:
                pass
        raise AssertionError("no %r in %ss (got %r)" % (words, timeout, self.got))

    def drain(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                self.got.append(self.sock.recv(4096).decode())
            except socket.timeout:
                pass
        got, self.got = self.got, []
        return got


class Collector:
    busy = 0.0

    def busy_for(self):
        return self.busy


def test_the_watchdog_is_fed_only_while_hostd_works(tmp_path, monkeypatch):
    listener = Listener(tmp_path / "notify.sock")
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify.sock"))
    monkeypatch.setenv("WATCHDOG_USEC", "1000000")  # systemd's 1 s: fed every 0.5 s
    store = Store(tmp_path / "hostd.db")
    collector = Collector()
    stop = threading.Event()
    gate = threading.Event()
    try:
        notifier = notify.Notifier().watch(store, collector, stop).ready("hall h1")
        assert "NOTIFY_SOCKET" not in os.environ  # taken: no child process may speak for hostd
        assert listener.wait_for("READY=1") == "READY=1\nSTATUS=hall h1"
        for _ in range(3):
            listener.wait_for("WATCHDOG=1")
        store.submit(lambda db: gate.wait(30))  # the writer is stuck in one op
        listener.wait_for("STATUS=stuck: the store's writer")
        assert "WATCHDOG=1" not in listener.drain(2.0)  # systemd would restart hostd now
        gate.set()
        listener.wait_for("STATUS=running")
        listener.wait_for("WATCHDOG=1")
        collector.busy = 99.0  # one MQTT message in the collector's hands for 99 s
        listener.wait_for("STATUS=stuck: the collector has held one message")
        assert "WATCHDOG=1" not in listener.drain(1.5)
        collector.busy = 0.0
        listener.wait_for("WATCHDOG=1")
        assert notifier.fed >= 5
    finally:
        gate.set()
        stop.set()
        store.close()


def test_hostd_run_says_ready_and_stopping(tmp_path):
    listener = Listener(tmp_path / "n.sock")
    home = make_home(tmp_path / "home")
    daemon = HostdProcess(home, env={"NOTIFY_SOCKET": str(tmp_path / "n.sock")})
    try:
        ready = listener.wait_for("READY=1")
        assert "STATUS=hall h1" in ready
    finally:
        daemon.stop(signal.SIGTERM)
    listener.wait_for("STOPPING=1")


def test_backup_while_running_and_restore_into_a_stopped_home(tmp_path):
    home = make_home(tmp_path / "home")
    assert hostd(home, "device", "add", "w01-a", "--window", "01").exit_code == 0
    daemon = HostdProcess(home)
    copy = tmp_path / "usb" / "hostd-backup.db"
    copy.parent.mkdir()
    try:
        made = hostd(home, "backup", "now", "--out", str(copy))
        assert made.exit_code == 0 and "integrity_check ok" in made.output, made.output
        refused = hostd(home, "restore", "--from", str(copy))
        assert refused.exit_code != 0 and "already running" in refused.output
        assert "Traceback" not in refused.output and len(refused.output.strip().splitlines()) == 1
    finally:
        daemon.stop()
    assert oct(copy.stat().st_mode & 0o777) == "0o600"  # it holds the device keys
    with sqlite3.connect(copy) as db:
        assert db.execute("SELECT device_id FROM devices").fetchall() == [("w01-a",)]
    # The disk is lost: the database goes; the backup brings the device back.
    for suffix in ("", "-wal", "-shm"):
        (home.path / ("hostd.db" + suffix)).unlink(missing_ok=True)
    back = hostd(home, "restore", "--from", str(copy))
    assert back.exit_code == 0, back.output
    assert "w01-a" in hostd(home, "device", "list").output
    again = hostd(home, "restore", "--from", str(copy))  # over a database: it is kept aside
    assert again.exit_code == 0 and "hostd.db.before-restore-" in again.output
    assert [p.name for p in home.path.glob("hostd.db.before-restore-*")]
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"not a database")
    wrong = hostd(home, "restore", "--from", str(bad))
    assert wrong.exit_code != 0 and "Traceback" not in wrong.output
    assert "w01-a" in hostd(home, "device", "list").output  # the database in place is untouched


@pytest.mark.parametrize("out", ["folder"])
def test_backup_to_a_folder_says_to_name_a_file(tmp_path, out):
    home = make_home(tmp_path / "home")
    (tmp_path / out).mkdir()
    result = hostd(home, "backup", "now", "--out", str(tmp_path / out))
    assert result.exit_code != 0 and "give a file name" in result.output and "Traceback" not in result.output
    assert not os.listdir(tmp_path / out)
