"""Continuous backup (Litestream, hostd/db/replica.py): the recovery point of a
sudden disk loss, and the time to rebuild the `make bench` database.

Recovery point: a writer commits one rating-sized row every `every_ms` in a
WAL database, as hostd's store commits a rating before it acks it, with a
real `litestream replicate` (hostd's own config, sync every
`sync_interval_s`) copying it to a folder replica. After `seconds`, the
disk is lost: Litestream is SIGKILLed mid-stream, so nothing more reaches
the replica. The replica is restored (`litestream restore`) and the recovery
point is how long before the loss the oldest committed row missing from it
was committed (0 when none is missing). `rounds` losses; the figure is the
worst. Baseline: the sync interval set in hostd.toml (backup.sync_interval_s).

Restore: bench/stats.py's hall (2,000,000 ratings in the full run) is
replicated (`litestream replicate -once -force-snapshot`, the first snapshot
`hostd run` takes of an existing database), then rebuilt as `hostd restore`
does (hostd.db.replica.rebuild: litestream restore, integrity_check, moved in
place). Baseline: copying the same file (shutil.copyfile) in the same run.

    python -m bench.backup [ratings] [rounds] [seconds]
"""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import Progress, figure, seed_database
from bench.stats import TABLES, generate
from hostd.base.config import defaults
from hostd.db import replica

ROW = b"x" * 160  # about a signed rating and its row


def _backup_config(folder, sync_s):
    backup = dict(defaults()["backup"])
    backup.update(replica=str(folder), sync_interval_s=sync_s)
    return backup


def _writer(path, every_ms, stop, commits):
    db = sqlite3.connect(path, isolation_level=None, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE IF NOT EXISTS acked (seq INTEGER PRIMARY KEY, body BLOB)")
    seq = 0
    while not stop.is_set():
        seq += 1
        db.execute("INSERT INTO acked VALUES (?, ?)", (seq, ROW))  # autocommit: durable when it returns
        commits.append((seq, time.monotonic()))  # the moment hostd would ack it
        stop.wait(every_ms / 1000.0)
    db.close()


def one_loss(workdir, sync_s, seconds, every_ms):
    """One stream, one loss; returns (recovery point s, committed, missing)."""
    workdir = Path(workdir)
    path, folder = workdir / "hostd.db", workdir / "replica"
    sqlite3.connect(path).execute("PRAGMA journal_mode=WAL").fetchone()
    conf = replica.write_config(workdir / "litestream.yml", path, _backup_config(folder, sync_s))
    proc = subprocess.Popen(
        [replica.find_binary() or "litestream", "replicate", "-config", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stop, commits = threading.Event(), []
    writer = threading.Thread(target=_writer, args=(str(path), every_ms, stop, commits), daemon=True)
    writer.start()
    time.sleep(seconds)
    proc.send_signal(signal.SIGKILL)  # the disk is gone: nothing more reaches the replica
    lost_at = time.monotonic()
    proc.wait()
    stop.set()
    writer.join()
    before = [(seq, at) for seq, at in commits if at <= lost_at]
    out = workdir / "restored.db"
    try:
        replica.restore(
            out, replica.source_config(workdir / "restore.yml", path, _backup_config(folder, sync_s)), path
        )
    except replica.ReplicaError:
        newest = 0  # nothing reached the replica
    else:
        db = sqlite3.connect(out)
        newest = db.execute("SELECT COALESCE(MAX(seq), 0) FROM acked").fetchone()[0]
        db.close()
    missing = [at for seq, at in before if seq > newest]
    return (lost_at - min(missing) if missing else 0.0), len(before), len(missing)


def _timed(fn):
    t0 = time.monotonic()
    fn()
    return time.monotonic() - t0


def run(ratings=2_000_000, rounds=5, seconds=6.0, sync_s=1, every_ms=10):
    progress = Progress("backup")
    if replica.find_binary() is None:
        raise RuntimeError("litestream is not installed (make install)")
    losses = []
    for i in range(rounds):
        with tempfile.TemporaryDirectory(prefix="bench-backup-") as workdir:
            losses.append(one_loss(workdir, sync_s, seconds, every_ms))
        progress.say(
            "loss %d of %d: recovery point %.2f s (%d of %d rows missing)"
            % (i + 1, rounds, losses[-1][0], losses[-1][2], losses[-1][1])
        )
    with tempfile.TemporaryDirectory(prefix="bench-backup-") as workdir:
        work = Path(workdir)
        path = work / "hostd.db"
        db, generate_s = seed_database(str(path), TABLES, progress, lambda c, p: generate(c, ratings, p))
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.conn.close()
        size = path.stat().st_size
        progress.say("seeded %d ratings (%.0f MB) in %.0f s" % (ratings, size / 1e6, generate_s))
        copy_s = _timed(lambda: shutil.copyfile(path, work / "copy.db"))
        os.remove(work / "copy.db")
        backup = _backup_config(work / "replica", sync_s)
        conf = replica.write_config(work / "litestream.yml", path, backup)
        snapshot_s = _timed(
            lambda: subprocess.run(
                [replica.find_binary(), "replicate", "-config", str(conf), "-once", "-force-snapshot"],
                check=True,
                capture_output=True,
                timeout=3600,
            )
        )
        progress.say("snapshot to the replica in %.1f s" % snapshot_s)
        target = work / "rebuilt" / "hostd.db"
        target.parent.mkdir()
        restore_s = _timed(lambda: replica.rebuild(target, backup, str(work / "replica")))
        check = sqlite3.connect(target)
        restored = check.execute("SELECT COUNT(*) FROM ratings").fetchone()[0]
        check.close()
        if restored != ratings:
            raise RuntimeError("the rebuilt database has %d ratings of %d" % (restored, ratings))
        progress.say("rebuilt from the replica in %.1f s" % restore_s)
    points = [p for p, _n, _m in losses]
    return {
        "ratings": ratings,
        "db_bytes": size,
        "sync_interval_s": sync_s,
        "recovery_point_s": [round(p, 2) for p in points],
        "committed": [n for _p, n, _m in losses],
        "missing": [m for _p, _n, m in losses],
        "every_ms": every_ms,
        "copy_s": round(copy_s, 2),
        "snapshot_s": round(snapshot_s, 2),
        "restore_s": round(restore_s, 2),
    }


def figures(raw):
    n = "{:,}".format(raw["ratings"])
    mb = raw["db_bytes"] / 1e6
    return {
        "backup_recovery_point_s": figure(
            max(raw["recovery_point_s"]),
            "s",
            "worst of %d sudden losses (Litestream SIGKILLed) while a row was committed every %d ms:"
            " how long before the loss the oldest committed row missing from the restored replica"
            " was committed; each loss %s s"
            % (len(raw["recovery_point_s"]), raw["every_ms"], raw["recovery_point_s"]),
            baseline="backup_sync_interval_s",
        ),
        "backup_sync_interval_s": figure(
            float(raw["sync_interval_s"]), "s", "baseline: backup.sync_interval_s, Litestream's sync interval"
        ),
        "backup_restore_s": figure(
            raw["restore_s"],
            "s",
            "hostd restore from a folder replica of the %s-rating database (%.0f MB): litestream restore,"
            " integrity_check, moved in place" % (n, mb),
            baseline="backup_copy_s",
        ),
        "backup_snapshot_s": figure(
            raw["snapshot_s"],
            "s",
            "the first snapshot of that database to the replica (litestream replicate -once -force-snapshot)",
            baseline="backup_copy_s",
        ),
        "backup_copy_s": figure(
            raw["copy_s"], "s", "baseline: shutil.copyfile of the same %.0f MB file" % mb
        ),
    }


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]] + [float(a) for a in sys.argv[3:4]]
    raw = run(*args)
    import json

    print(json.dumps(raw, indent=1))
    for name, fig in figures(raw).items():
        print(name, fig["value"], fig["unit"])
