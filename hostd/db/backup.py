"""A consistent copy of hostd.db while hostd runs, and a home rebuilt from one.

copy() uses SQLite's online backup API: one read transaction on the live
database (WAL mode: writers go on), every page copied, the copy checked
(PRAGMA integrity_check) and only then renamed into place, so a backup file
is whole or absent. restore() puts a copy back (a backup file, or a database
rebuilt from a Litestream replica by hostd/db/replica.py): never over the database of a
running hostd (its run lock is held), and the database it replaces is kept
beside it (hostd.db.before-restore-<time>): nothing is lost by a restore.
"""

import os
import shutil
import sqlite3
import time
from pathlib import Path

from hostd.base.errors import UserError


class BackupError(UserError):
    pass


def _check(path):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        result = db.execute("PRAGMA integrity_check").fetchone()[0]
        tables = db.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
    finally:
        db.close()
    if result != "ok" or not tables:
        raise BackupError("%s is not a whole hostd database (integrity_check: %s)" % (path, result))


def copy(db_path, out):
    """Write a checked copy of `db_path` to `out` (atomically); return its size."""
    out = Path(out)
    if not Path(db_path).exists():
        raise BackupError("no database at %s: is this a hostd home?" % db_path)
    if out.exists() and out.is_dir():
        raise BackupError("%s is a folder: give a file name, e.g. %s/hostd-backup.db" % (out, out))
    tmp = out.with_name(out.name + ".partial")
    tmp.unlink(missing_ok=True)
    source = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True, timeout=30)
    target = sqlite3.connect(tmp)
    try:
        source.backup(target)  # one step: a single consistent snapshot, writers unblocked (WAL)
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    except sqlite3.Error as exc:
        raise BackupError("the backup of %s failed: %s" % (db_path, exc))
    finally:
        target.close()
        source.close()
    _check(tmp)
    os.chmod(tmp, 0o600)  # it holds the device keys, as hostd.db does
    tmp.replace(out)
    return out.stat().st_size


def restore(source, db_path, move=False):
    """Replace `db_path` (hostd not running) by a checked copy of `source` (or by
    `source` itself, renamed, with `move`); the database it replaces is moved
    aside. Returns the aside path or None."""
    source = Path(source)
    if not source.is_file():
        raise BackupError("no backup file %s" % source)
    _check(source)
    db_path = Path(db_path)
    aside = None
    if db_path.exists():
        aside = db_path.with_name("%s.before-restore-%d" % (db_path.name, int(time.time())))
        db_path.replace(aside)
        for suffix in ("-wal", "-shm"):
            extra = db_path.with_name(db_path.name + suffix)
            if extra.exists():
                extra.replace(aside.with_name(aside.name + suffix))
    # Litestream's state describes the database being replaced: it goes too, and
    # Litestream takes up the restored one afresh (the replica is kept).
    state = db_path.with_name(".%s-litestream" % db_path.name)
    if state.exists():
        shutil.rmtree(state)
    tmp = db_path.with_name(db_path.name + ".restoring")
    if move:
        source.replace(tmp)
    else:
        shutil.copyfile(source, tmp)
    os.chmod(tmp, 0o600)
    tmp.replace(db_path)
    return aside
