"""Continuous backup with real Litestream (hostd/db/replica.py): `hostd run`
replicates hostd.db to a folder replica while ratings flow; the disk is lost
(Litestream and hostd SIGKILLed, the database, its WAL and Litestream's state
deleted); `hostd restore` rebuilds the home from the replica, and hostd runs
on it again.

What the restore must hold is fixed before the loss, not by a clock: at a
mark, the test reads every rating, work order and audit event committed so
far from the live database, waits until the replica holds them (a restore
into a scratch file shows them), and lets ratings flow on after that. After
the loss those rows must all be back, the database whole (integrity_check),
and nothing must be back that was never sent. How many seconds of acked
ratings the loss cost is printed, and measured by `make bench`
(tests/test_bench_replica.py).
"""

import json
import os
import signal
import sqlite3
import time

import pytest
from hostd_helpers import HostdProcess, db_rows, sql_rows, wait_for
from hostd_support import hostd, make_home
from sftp_server import SftpServer
from streaming import Streamer

from conftest import mosquitto_binary
from hostd.db import replica
from hostd.db.store import open_database
from hostd.devices import registry

pytestmark = [
    pytest.mark.skipif(mosquitto_binary() is None, reason="mosquitto not installed"),
    pytest.mark.skipif(replica.find_binary() is None, reason="litestream not installed (make install)"),
]

DEVICE = "r01"
RATINGS_SQL = "SELECT device_id, seq, level FROM ratings ORDER BY device_id, seq"
ORDERS_SQL = "SELECT order_id, rating_id, state FROM work_orders ORDER BY order_id"
EVENTS_SQL = "SELECT id, order_id, at, actor, from_state, to_state, note FROM work_order_events ORDER BY id"


def replicating_home(tmp_path, **backup):
    home = make_home(tmp_path / "home")
    backup = {"replica": str(tmp_path / "replica"), "sync_interval_s": 1, **backup}
    for key, value in backup.items():
        home.set("backup", key, value)
    assert hostd(home, "device", "add", DEVICE, "--window", "01").exit_code == 0
    db = open_database(home.db_path)
    key = registry.device_key(db, DEVICE)
    db.conn.close()
    return home, key


def streamer(home, key, pace_s=0.02, first=1):
    config = home.config()
    hall, port = config["hall"]["id"], config["broker"]["port"]
    return Streamer(port, hall, DEVICE, key, 10**6, pace_s, first).start()


def restored_rows(tmp_path, home, sql):
    """`sql` on the database the replica holds now (restored into a scratch file)."""
    out = tmp_path / "probe.db"
    conf = replica.write_config(tmp_path / "probe.yml", home.db_path, home.config()["backup"])
    try:
        replica.restore(out, conf, home.db_path, timeout=60)
    except replica.ReplicaError:
        return None  # nothing replicated yet
    return sql_rows(out, sql)


def litestream_pid(daemon):
    """The pid of the Litestream that `daemon` started (its child)."""
    children = open("/proc/%d/task/%d/children" % (daemon.proc.pid, daemon.proc.pid)).read().split()
    for pid in children:
        if "litestream" in open("/proc/%s/cmdline" % pid, "rb").read().decode(errors="replace"):
            return int(pid)
    raise AssertionError("hostd started no litestream: %s" % daemon.text()[-2000:])


def lose_the_disk(home, daemon):
    """Everything stops at once and nothing more reaches the replica."""
    os.kill(litestream_pid(daemon), signal.SIGKILL)
    assert daemon.stop(signal.SIGKILL) == -signal.SIGKILL
    for name in ("hostd.db", "hostd.db-wal", "hostd.db-shm"):
        (home.path / name).unlink(missing_ok=True)
    state = home.path / ".hostd.db-litestream"
    assert state.is_dir()  # Litestream kept its state beside the database
    for root, dirs, files in os.walk(state, topdown=False):
        for name in files:
            os.unlink(os.path.join(root, name))
        for name in dirs:
            os.rmdir(os.path.join(root, name))
    state.rmdir()


def test_a_lost_disk_is_rebuilt_from_the_replica(tmp_path, monkeypatch):
    home, key = replicating_home(tmp_path)
    daemon = HostdProcess(home)
    stream = None
    try:
        assert "continuous backup of" in daemon.text()
        stream = streamer(home, key)
        wait_for(lambda: len(stream.acked()) >= 30, timeout=60)
        orders = db_rows(home, ORDERS_SQL)
        assert orders, "a 差评 among the first ratings opens a work order"
        moved = hostd(home, "workorder", "move", str(orders[0][0]), "contacted", "--actor", "lee")
        assert moved.exit_code == 0, moved.output
        # The mark: all that is committed now must survive the loss.
        marked = {sql: db_rows(home, sql) for sql in (RATINGS_SQL, ORDERS_SQL, EVENTS_SQL)}
        assert any(row[5] == "contacted" for row in marked[EVENTS_SQL])

        def replica_holds_the_mark():
            for sql, rows in marked.items():
                got = restored_rows(tmp_path, home, sql)
                if got is None or not set(rows) <= set(got):
                    return False
            return True

        wait_for(replica_holds_the_mark, timeout=120, interval=0.5)
        flowing = len(stream.acked())
        wait_for(lambda: len(stream.acked()) >= flowing + 20, timeout=60)  # still flowing at the loss
        lose_the_disk(home, daemon)
        lost_at = time.monotonic()
        acked = dict(stream.dev.ack_arrival)
        sent = set(stream.sent)
    finally:
        if stream is not None:
            stream.close()
        daemon.stop(signal.SIGKILL)

    assert not home.db_path.exists()
    monkeypatch.setattr(replica, "PROGRESS_S", 0.001)  # a big database's restore says how far it is
    restored = hostd(home, "restore")
    assert restored.exit_code == 0, restored.output
    assert "MB restored" in restored.output and "checking the restored database" in restored.output
    assert "integrity_check ok" in restored.output
    with sqlite3.connect(home.db_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    back = {sql: db_rows(home, sql) for sql in marked}
    assert set(marked[RATINGS_SQL]) <= set(back[RATINGS_SQL])
    assert {seq for _device, seq, _level in back[RATINGS_SQL]} <= sent  # nothing made up
    for sql in (ORDERS_SQL, EVENTS_SQL):  # work orders and the audit trail, row for row
        assert back[sql][: len(marked[sql])] == marked[sql]
    newest = max(seq for _device, seq, _level in back[RATINGS_SQL])
    missing = [at for seq, at in acked.items() if seq > newest]
    print(
        "replica: %d acked, %d back after the loss; the oldest acked rating missing was acked %.2f s"
        " before the loss" % (len(acked), len(back[RATINGS_SQL]), lost_at - min(missing) if missing else 0)
    )

    # hostd runs again on the rebuilt home, and replicates on from there.
    again = HostdProcess(home)
    try:
        assert "continuous backup of" in again.text()
        stream = streamer(home, key, first=max(sent) + 1)  # the device's outbox goes on from there
        wait_for(lambda: len(stream.acked()) >= 5, timeout=60)
        stream.close()
    finally:
        assert again.stop() == 0


def test_an_sftp_replica_on_a_real_server(tmp_path):
    root = tmp_path / "sftp-root"
    root.mkdir()
    server = SftpServer(root, tmp_path)
    try:
        home, key = replicating_home(
            tmp_path,
            replica=server.url("backups/h1"),
            sftp_key=str(server.client_key),
            sftp_host_key=server.host_key,
        )
        daemon = HostdProcess(home)
        try:
            stream = streamer(home, key)
            wait_for(lambda: len(stream.acked()) >= 10, timeout=60)
            marked = db_rows(home, RATINGS_SQL)
            wait_for(
                lambda: set(marked) <= set(restored_rows(tmp_path, home, RATINGS_SQL) or ()),
                timeout=120,
                interval=0.5,
            )
            stream.close()
        finally:
            assert daemon.stop() == 0
        assert list((root / "backups" / "h1" / "ltx").rglob("*.ltx"))  # on the server, not here
        for name in ("hostd.db", "hostd.db-wal", "hostd.db-shm"):
            (home.path / name).unlink(missing_ok=True)
        restored = hostd(home, "restore")
        assert restored.exit_code == 0, restored.output
        assert set(marked) <= set(db_rows(home, RATINGS_SQL))
        # A server that is not the one pinned is refused (a man in the middle).
        home.set("backup", "sftp_host_key", SftpServer.other_host_key())
        checked = hostd(home, "doctor")
        line = [x for x in checked.output.splitlines() if x.split()[1:2] == ["replica"]][0]
        assert line.startswith("fix") and "host key mismatch" in line, checked.output
    finally:
        server.close()


def test_litestream_is_restarted_when_it_dies(tmp_path):
    home, _key = replicating_home(tmp_path)
    daemon = HostdProcess(home)
    try:
        first = litestream_pid(daemon)
        os.kill(first, signal.SIGKILL)
        daemon.wait_for("litestream restarted")
        assert "hostd.db is not being backed up" in daemon.text()
        assert litestream_pid(daemon) != first
    finally:
        assert daemon.stop() == 0
    assert "continuous backup stopped" in daemon.text()


def test_restore_from_a_replica_refuses_a_running_hostd_and_a_folder_without_one(tmp_path):
    home, _key = replicating_home(tmp_path)
    daemon = HostdProcess(home)
    try:
        refused = hostd(home, "restore")
        assert refused.exit_code != 0 and "already running" in refused.output
        assert "Traceback" not in refused.output
    finally:
        daemon.stop()
    empty = tmp_path / "empty"
    empty.mkdir()
    wrong = hostd(home, "restore", "--from", str(empty))
    assert wrong.exit_code != 0 and "no ltx/ folder" in wrong.output and "Traceback" not in wrong.output
    assert len(wrong.output.strip().splitlines()) == 2  # what it tried, and why it cannot
    assert db_rows(home, "SELECT device_id FROM devices") == [(DEVICE,)]  # untouched


def test_a_replica_that_cannot_be_reached_does_not_stop_hostd(tmp_path):
    home, _key = replicating_home(tmp_path)
    (tmp_path / "not-mounted").write_text("a file where the backup disk's folder should be")
    home.set("backup", "replica", str(tmp_path / "not-mounted" / "hostd"))
    home.set("alerts", "check_seconds", 10)
    daemon = HostdProcess(home)  # ready: ratings are taken without the backup
    try:
        assert "continuous backup not started" in daemon.text()
        daemon.wait_for("alert raised [backup_down:litestream]")
    finally:
        assert daemon.stop() == 0


def test_a_password_in_a_replica_url_is_refused(tmp_path):
    home = make_home(tmp_path / "home")
    text = home.config_path.read_text()
    home.config_path.write_text(text.replace('replica = ""', 'replica = "sftp://u:secret@host/x"'))
    result = hostd(home, "device", "list")
    assert result.exit_code == 2 and "backup.sftp_key" in result.output and "Traceback" not in result.output
    assert replica.shown("sftp://u:secret@host/x") == "sftp://u:***@host/x"


def test_restore_without_a_replica_or_a_file_says_what_to_give(tmp_path):
    home = make_home(tmp_path / "home")
    result = hostd(home, "restore")
    assert result.exit_code != 0 and "--from FILE" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("value", ["relative/folder", "http://example/x", "s3://", "ftp://h/x", "/a b"])
def test_a_replica_setting_that_cannot_work_is_refused(tmp_path, value):
    home = make_home(tmp_path / "home")
    text = home.config_path.read_text()
    home.config_path.write_text(text.replace('replica = ""', "replica = %s" % json.dumps(value)))
    result = hostd(home, "device", "list")
    assert result.exit_code == 2 and "backup.replica" in result.output and "Traceback" not in result.output


def test_the_litestream_config_names_the_replica_and_its_options(tmp_path):
    backup = {
        "replica": "s3://hall-backups/h1",
        "sync_interval_s": 5,
        "retention_days": 3,
        "s3_endpoint": "http://127.0.0.1:9000",
        "sftp_key": "",
        "sftp_host_key": "",
    }
    # --from names another replica: it is read with the same endpoint and keys
    conf = replica.source_config(tmp_path / "ls.yml", tmp_path / "hostd.db", backup, "s3://other/h1")
    other = json.loads(conf.read_text())["dbs"][0]["replica"]
    assert other["url"] == "s3://other/h1" and other["endpoint"] == "http://127.0.0.1:9000"
    doc = replica.config_document(tmp_path / "hostd.db", backup)
    db = doc["dbs"][0]
    assert db["path"] == str(tmp_path / "hostd.db")
    assert db["replica"] == {
        "url": "s3://hall-backups/h1",
        "sync-interval": "5s",
        "endpoint": "http://127.0.0.1:9000",
        "force-path-style": True,
    }
    assert doc["snapshot"]["retention"] == "72h"
    assert replica.url_of(str(tmp_path / "r")) == "file://%s" % (tmp_path / "r")
