"""The durable store on a real SQLite file: group commit, ordering, duplicates."""

import sqlite3
import threading

import pytest
import sqlite_utils
from hostd_helpers import rating_fields
from hostd_helpers import sql_rows as rows

from hostd.db import schema
from hostd.db.store import Store, StoreClosed, open_database
from hostd.recording.device_ratings import (
    DUPLICATE,
    REPLAYED,
    STORED,
    mark_offline,
    store_rating,
    update_status,
)
from protocol import messages

KEY = bytes(range(32))


def wire_for(seq, level=5, device="w01-a"):
    fields = rating_fields(device, seq, level, device_time=1795248000)
    return fields, messages.sign(KEY, fields)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "hostd.db")
    yield s
    s.close()


def test_wal_and_synchronous_full_are_set(store, tmp_path):
    assert store.run(lambda db: db.execute("PRAGMA journal_mode").fetchone()[0]) == "wal"
    # 2 = FULL, on the writer connection that does every commit
    assert store.run(lambda db: db.execute("PRAGMA synchronous").fetchone()[0]) == 2
    with store.read() as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert (tmp_path / "hostd.db-wal").exists()


def test_group_commit_batches_many_ops_into_few_commits(tmp_path):
    store = Store(tmp_path / "hostd.db", max_batch=64, max_wait_ms=20)
    done = threading.Event()
    results = []
    gate = threading.Event()
    # hold the writer so that all 300 ops are queued before it goes on
    store.submit(lambda db: gate.wait(10))
    for seq in range(1, 301):
        fields, wire = wire_for(seq)
        store_rating(
            store,
            fields,
            wire,
            "h1",
            lambda r, e: (results.append((r, e)), len(results) == 300 and done.set()),
        )
    commits_before = store.commits
    gate.set()
    assert done.wait(20)
    assert all(r == (STORED, None) for r in results)
    commits = store.commits - commits_before
    assert store.ops == 301
    assert 300 // 64 <= commits <= 300 // 64 + 2, commits  # ~5 commits for 300 ops
    assert store.largest_batch == 64
    store.close()
    assert len(rows(str(tmp_path / "hostd.db"))) == 300


def test_callback_runs_only_after_commit(store, tmp_path):
    path = str(tmp_path / "hostd.db")
    seen = []
    done = threading.Event()

    def callback(result, error):
        # another connection sees the row already: it is committed
        seen.append((result, error, rows(path)))
        done.set()

    fields, wire = wire_for(1)
    store_rating(store, fields, wire, "h1", callback)
    assert done.wait(10)
    assert seen == [(STORED, None, [("w01-a", 1, 5)])]


def test_failing_op_does_not_sink_its_batch(store, tmp_path):
    gate = threading.Event()
    store.submit(lambda db: gate.wait(10))
    out = {}
    done = threading.Event()
    fields, wire = wire_for(1)
    store_rating(store, fields, wire, "h1", lambda r, e: out.__setitem__("good", (r, e)))

    def bad(db):
        db.execute("INSERT INTO ratings (device_id, seq) VALUES ('x', 1)")  # NOT NULL fails

    store.submit(bad, lambda r, e: out.__setitem__("bad", (r, e)))
    store.submit(lambda db: None, lambda r, e: done.set())
    gate.set()
    assert done.wait(10)
    assert out["good"] == (STORED, None)
    assert isinstance(out["bad"][1], sqlite3.IntegrityError)
    assert rows(str(tmp_path / "hostd.db")) == [("w01-a", 1, 5)]


def test_unique_device_seq_is_enforced_by_the_schema(store):
    fields, wire = wire_for(1)
    assert store.run(lambda db: None) is None
    store_rating(store, fields, wire, "h1")

    def second_insert(db):
        db.execute(
            "INSERT INTO ratings (device_id, seq, hall, level, device_time,"
            " clock_synced, received_at, wire) VALUES ('w01-a', 1, 'h1', 3, 0, 1, 0, x'00')"
        )

    with pytest.raises(sqlite3.IntegrityError):
        store.run(second_insert)


def test_duplicate_and_replayed(store, tmp_path):
    results = []
    fields, wire = wire_for(7, level=5)
    other_fields, other_wire = wire_for(7, level=1)
    for f, w in ((fields, wire), (fields, wire), (other_fields, other_wire)):
        done = threading.Event()
        store_rating(store, f, w, "h1", lambda r, e: (results.append(r), done.set()))  # noqa: B023 (waited for below)
        assert done.wait(10)
    assert results == [STORED, DUPLICATE, REPLAYED]
    assert rows(str(tmp_path / "hostd.db")) == [("w01-a", 7, 5)]


def test_rating_columns(store, tmp_path):
    fields = [1, "R", "w02-b", 3, None, 2, [1, 3], 4, None, 1795248000, False]
    wire = messages.sign(KEY, fields)
    store.run(lambda db: None)
    done = threading.Event()
    store_rating(store, fields, wire, "hall-9", lambda r, e: done.set())
    assert done.wait(10)
    got = rows(
        str(tmp_path / "hostd.db"),
        "SELECT device_id, seq, hall, session_id, level, reasons, cases, staff,"
        " device_time, clock_synced, wire, synced FROM ratings",
    )
    assert got == [("w02-b", 3, "hall-9", None, 2, "[1,3]", 4, None, 1795248000, 0, wire, 0)]


def test_close_drains_the_queue_and_reopen_keeps_data(tmp_path):
    path = tmp_path / "hostd.db"
    store = Store(path, max_batch=8)
    called = []
    for seq in range(1, 101):
        fields, wire = wire_for(seq)
        store_rating(store, fields, wire, "h1", lambda r, e: called.append(r))
    store.close()  # returns only after everything queued has committed
    assert called == [STORED] * 100
    with pytest.raises(StoreClosed):
        store.submit(lambda db: None)
    again = Store(path)
    with again.read() as db:
        assert db.execute("SELECT COUNT(*) FROM ratings").fetchone()[0] == 100
    fields, wire = wire_for(100)
    assert again.run(lambda db: None) is None
    out = []
    done = threading.Event()
    store_rating(again, fields, wire, "h1", lambda r, e: (out.append(r), done.set()))
    assert done.wait(10)
    assert out == [DUPLICATE]  # the reopened store still knows seq 100
    again.close()


def test_migrations_are_idempotent(tmp_path):
    path = tmp_path / "hostd.db"
    open_database(path).conn.close()
    db = open_database(path)  # second open: nothing pending, nothing fails
    assert schema.MIGRATIONS.pending(db) == []
    names = [m.name for m in schema.MIGRATIONS.applied(db)]
    assert names[:4] == ["m001_devices", "m002_ratings", "m003_device_status", "m004_rejections"]
    count = len(db.execute("SELECT * FROM _sqlite_migrations").fetchall())
    schema.migrate(db)
    assert len(db.execute("SELECT * FROM _sqlite_migrations").fetchall()) == count
    assert {"devices", "ratings", "device_status", "rejections"} <= set(db.table_names())
    assert "fleet" in db.view_names()
    db.conn.close()


def test_migration_sets_keep_the_names_stored_in_existing_databases(tmp_path):
    """A migration set's name is stored in _sqlite_migrations: renamed, an
    existing hostd.db would run that set's migrations a second time."""
    assert [schema.MIGRATIONS.name] + [area.MIGRATIONS.name for area in schema.AREAS] == [
        "hostd",
        "hostd.sessions",
        "hostd.workorders",
        "hostd.upstream",
        "hostd.web",
        "hostd.devices",
        "hostd.alerts",
        "hostd.rollups",
        "hostd.channels",
        "hostd.supervision",
    ]
    db = open_database(tmp_path / "hostd.db")
    rows = db.execute("SELECT DISTINCT migration_set FROM _sqlite_migrations").fetchall()
    stored = {row[0] for row in rows}
    assert stored == {
        "hostd",
        "hostd.sessions",
        "hostd.workorders",
        "hostd.upstream",
        "hostd.web",
        "hostd.devices",
        "hostd.alerts",
        "hostd.rollups",
        "hostd.channels",
        "hostd.supervision",
    }
    db.conn.close()


def test_read_connection_is_read_only(store):
    with store.read() as db:
        assert isinstance(db, sqlite_utils.Database)
        with pytest.raises(sqlite3.OperationalError):
            db.execute("DELETE FROM ratings")


def test_status_upsert_and_offline(store):
    from hostd_helpers import status_fields

    store.run(lambda db: None)
    done = threading.Event()
    update_status(store, status_fields("w01-a", outbox=3, heap=51000, next_seq=9), "h1")
    mark_offline(store, "w01-a", lambda r, e: done.set())
    assert done.wait(10)
    with store.read() as db:
        row = db.execute(
            "SELECT state, outbox_depth, free_heap, next_seq, offline_at IS NOT NULL"
            " FROM device_status WHERE device_id = 'w01-a'"
        ).fetchone()
    assert row == ("offline", 3, 51000, 9, 1)


def test_heartbeats_alone_commit_without_a_disk_flush_ratings_never(store):
    """A batch of heartbeats only (soft state) commits with synchronous=NORMAL;
    a batch with a rating in it commits with FULL, and FULL is back after."""
    from hostd_helpers import status_fields

    seen = []
    store.run(lambda db: db.conn.set_trace_callback(seen.append))
    gate, done, running = threading.Event(), threading.Event(), threading.Event()

    def held(db):  # hold the writer in a batch of its own, so the next ops queue up into one
        running.set()
        gate.wait(10)

    store.submit(held)
    assert running.wait(10)
    beats = threading.Event()
    for n in range(3):
        update_status(
            store, status_fields("w0%d-a" % n), "h1", (lambda r, e: beats.set()) if n == 2 else None
        )
    gate.set()
    assert beats.wait(10)
    soft_batch = seen[seen.index("PRAGMA synchronous=NORMAL") :]
    assert soft_batch.index("COMMIT") < soft_batch.index("PRAGMA synchronous=FULL")
    assert store.soft_commits == 1
    seen.clear()
    gate.clear()
    running.clear()
    store.submit(held)
    assert running.wait(10)
    update_status(store, status_fields("w01-a"), "h1")
    fields, wire = wire_for(1)
    store_rating(store, fields, wire, "h1", lambda result, error: done.set())
    gate.set()
    assert done.wait(10)
    assert "PRAGMA synchronous=NORMAL" not in seen and store.soft_commits == 1  # a rating: FULL
    assert store.run(lambda db: db.execute("PRAGMA synchronous").fetchone()[0]) == 2
    seen.clear()
    offline = threading.Event()
    mark_offline(store, "w01-a", lambda r, e: offline.set())  # the last will is kept as durably as anything
    assert offline.wait(10) and "PRAGMA synchronous=NORMAL" not in seen


def test_read_connections_of_ended_threads_are_closed(store):
    def reader():
        with store.read() as db:
            db.execute("SELECT COUNT(*) FROM ratings").fetchone()

    for _ in range(20):
        t = threading.Thread(target=reader)
        t.start()
        t.join()
    assert len(store._readers) <= 1


def test_v1_ratings_survive_the_all_channels_rebuild(tmp_path):
    """A database made before m007 keeps every rating, now channel 'device'."""
    import sqlite_utils

    path = tmp_path / "old.db"
    db = sqlite_utils.Database(str(path))
    for name in ("m001_devices", "m002_ratings", "m003_device_status", "m004_rejections"):
        migration = next(m for m in schema.MIGRATIONS._migrations if m.name == name)
        migration.fn(db)
    db.execute("INSERT INTO devices VALUES ('d1', 'h', 'w1', 'aa', NULL, NULL, 1, NULL, NULL)")
    db.execute(
        "INSERT INTO ratings (device_id, seq, hall, session_id, level, device_time,"
        " clock_synced, received_at, wire) VALUES ('d1', 7, 'h', NULL, 2, 1, 1, 1, x'00')"
    )
    db.conn.commit()
    db.conn.close()
    # applied as if the first four had run already
    db = sqlite_utils.Database(str(path))
    db["_sqlite_migrations"].insert_all(
        [
            {"migration_set": "hostd", "name": n, "applied_at": "2026-11-01"}
            for n in ("m001_devices", "m002_ratings", "m003_device_status", "m004_rejections")
        ]
    )
    db.conn.close()
    db = open_database(path)
    row = next(db.query("SELECT channel, device_id, seq, window, binding, level FROM ratings"))
    assert row == {
        "channel": "device",
        "device_id": "d1",
        "seq": 7,
        "window": "w1",
        "binding": "window",
        "level": 2,
    }
    assert db.execute("SELECT last_rating_seq FROM fleet").fetchone()[0] == 7
    db.conn.close()
