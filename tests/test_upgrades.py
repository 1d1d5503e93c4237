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


def test_the_supervision_migrations_keep_and_count_the_ratings_already_stored(tmp_path):
    """hostd.supervision widens two CHECKs in place and backfills the 差评
    rollups: on a database that has ratings and work orders already."""
    from workorder_fixtures import T0, add_rating, add_session

    from hostd.db.schema import supervision

    path = tmp_path / "hostd.db"
    old = made_by_version(path, supervision.MIGRATIONS, "s001_classes_consults_fraud_review")
    with old.conn:
        old.execute("INSERT INTO units VALUES ('u-tax', '税务局', '', '')")
        old.execute(
            "INSERT INTO staff (staff_id, name, staff_no, unit_id, created_at)"
            " VALUES ('s1', '张三', '0001', 'u-tax', 0)"
        )
        old.execute(
            "INSERT INTO windows (hall, window, name, unit_id, staff_id, duty_since)"
            " VALUES ('h1', '1', '', 'u-tax', 's1', 0)"
        )
        add_session(old, "a1", "1", "s1", T0)
        bad = add_rating(old, 1, T0 + 60, session_id="a1")
        old.execute("UPDATE ratings SET reasons = '[2, 3]' WHERE id = ?", [bad])
        add_session(old, "a2", "1", "s1", T0 + 100)
        add_rating(old, 5, T0 + 160, session_id="a2")
    orders_before = old.execute("SELECT order_id, complexity, done_due FROM work_orders").fetchall()
    old.conn.close()
    db = open_database(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert (
            db.execute("SELECT order_id, complexity, done_due FROM work_orders").fetchall() == orders_before
        )
        assert db.execute("SELECT reason, n FROM bad_reasons_daily ORDER BY reason").fetchall() == [
            (2, 1),
            (3, 1),
        ]
        assert db.execute("SELECT staff_id, unit_id, n FROM bad_daily").fetchall() == [("s1", "u-tax", 1)]
        assert db.execute("SELECT dim, key, n FROM bad_monthly ORDER BY dim, key").fetchall() == [
            ("item", "I01", 1),
            ("reason", "2", 1),
            ("reason", "3", 1),
            ("staff", "s1", 1),
            ("unit", "u-tax", 1),
        ]
        with db.conn:
            db.execute("UPDATE work_orders SET complexity = 'general'")  # the widened CHECK takes it
            db.execute("UPDATE ratings SET excluded = '刷好评' WHERE level = 5")
        assert db.execute("SELECT SUM(n) FROM bad_daily").fetchone()[0] == 1
    finally:
        db.conn.close()
