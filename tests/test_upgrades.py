"""Safe upgrades (issue 24): a database made at every earlier schema version
migrates to the current one with its data intact, a copy taken first; a
database a newer hostd made is refused in one line, by the CLI and by
`hostd run`."""

import sqlite3

import pytest
from hostd_support import hostd, make_home
from sqlite_utils import Database

from hostd.db import schema
from hostd.db.store import NewerDatabase, open_database


def versions():
    """(set, migration) before which each earlier version stopped: every
    prefix of the order in which migrate() applies them."""
    empty = Database(memory=True)
    return [(s, m.name) for s in schema.sets() for m in s.pending(empty)]


def made_by_version(path, stop_set, stop_name):
    db = Database(sqlite3.connect(path))
    db.execute("PRAGMA journal_mode=WAL")
    for migrations in schema.sets():
        if migrations is stop_set:
            migrations.apply(db, stop_before=stop_name)
            break
        migrations.apply(db)
    return db


@pytest.mark.parametrize("stop", versions(), ids=lambda v: "%s.%s" % (v[0].name, v[1]))
def test_every_earlier_version_migrates_with_its_data(tmp_path, stop):
    stop_set, stop_name = stop
    path = tmp_path / "hostd.db"
    old = made_by_version(path, stop_set, stop_name)
    has_devices = "devices" in old.table_names()
    had_data = schema.has_data(old)
    old_tables = old.table_names()
    if has_devices:
        old.execute(
            "INSERT INTO devices (device_id, hall, window, key_hex, created_at)"
            " VALUES ('w01-a', 'h1', '01', ?, 5)",
            ["ab" * 32],
        )
        old.conn.commit()
    old.conn.close()
    db = open_database(path)
    try:
        assert schema.pending(db) == [] and schema.unknown(db) == []
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        if has_devices:
            assert db.execute("SELECT device_id, key_hex FROM devices").fetchall() == [("w01-a", "ab" * 32)]
    finally:
        db.conn.close()
    saved = list(tmp_path.glob("hostd.db.pre-migrate-*"))
    assert len(saved) == (1 if had_data else 0)  # an upgrade keeps a copy; a new file needs none
    if had_data:
        assert Database(sqlite3.connect(saved[0])).table_names() == old_tables


def test_a_database_from_a_newer_hostd_is_refused(tmp_path):
    home = make_home(tmp_path / "home")
    db = open_database(home.db_path)
    with db.conn:
        db.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at)"
            " VALUES ('hostd', 'm999_future', '')"
        )
    db.conn.close()
    with pytest.raises(NewerDatabase, match="m999_future"):
        open_database(home.db_path)
    for args in (("device", "list"), ("run",)):
        result = hostd(home, *args)
        assert result.exit_code != 0 and "Traceback" not in result.output, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and "newer hostd" in lines[0] and "hostd restore" in lines[0], result.output
