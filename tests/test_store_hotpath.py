"""The writer's fast path for device ratings, on a real SQLite file: rows go in
attributed (no UPDATE after), lookups are cached only while nothing else
writes, savepoint-free batches fall back op by op, and the host's ack bytes
are the protocol's."""

import os
import threading
import time

import pytest

from hostd.base import config as config_schema
from hostd.db.store import Store
from hostd.recording.device_ratings import DUPLICATE, REPLAYED, STORED, store_rating
from hostd.rules import attribution, sessions, staff
from protocol import messages
from protocol.host.signing import HostMac, ack_wire

HALL = "h1"
T0 = int(time.time()) - 1000  # received_at is the real clock
CONFIG = config_schema.defaults()
KEY = bytes(range(32))
ROLLUP = (
    "SELECT day, hall, window, staff_id, unit_id, channel, total, good, middle, bad,"
    " not_counted FROM stats_daily WHERE total OR good OR middle OR bad OR not_counted"
    " ORDER BY 1, 2, 3, 4, 5, 6"
)


def fields(seq, device="w07-a", session=None, level=5, staff_id=None):
    return [1, "R", device, seq, session, level, [1] if level <= 2 else [], 1, staff_id, T0 + seq, True]


def put(store, f, wire=None):
    """Queue one rating; returns a box that gets (result, error) after its commit."""
    box = {}
    done = threading.Event()
    box["done"] = done
    store_rating(
        store,
        f,
        wire or messages.sign(KEY, f),
        HALL,
        lambda r, e: (box.update(result=r, error=e), done.set()),
    )
    return box


def wait(*boxes):
    for box in boxes:
        assert box["done"].wait(10)
    return [(box["result"], box["error"]) for box in boxes]


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "hostd.db", max_wait_ms=300)  # long: ops queued together share a batch

    def setup(db):
        for device, window in (("w07-a", "07"), ("w08-a", "08"), ("w09-a", "09")):
            db.execute(
                "INSERT INTO devices (device_id, hall, window, key_hex, created_at) VALUES (?, ?, ?, ?, 0)",
                [device, HALL, window, "00" * 32],
            )
        staff.add_unit(db, "u1", "市场监管局")
        staff.add_unit(db, "u2", "公安局")
        staff.add_staff(db, "s1", "张三", "0042", T0, unit_id="u1")
        staff.add_staff(db, "s2", "李四", "0043", T0)
        staff.add_window(db, HALL, "08", "", unit_id="u2")
        staff.on_duty(db, HALL, "07", "s1", T0 - 100)

    s.run(setup)
    yield s
    s.close()


def hold(store):
    """Keep the writer busy until the returned event is set, so what is queued
    meanwhile lands in one batch."""
    gate = threading.Event()
    store.submit(lambda db: gate.wait(10))
    return gate


def rows(store, sql, args=()):
    with store.read() as db:
        return db.execute(sql, args).fetchall()


def test_rows_go_in_attributed_as_attribute_would_fill_them(store):
    session = store.run(
        lambda db: sessions.create(db, CONFIG, HALL, "07", "A001", "户口迁移", "s1", ["c1"], T0)
    )["session_id"]
    gate = hold(store)
    boxes = [
        put(store, fields(1, session=session, level=1)),  # bound: the session's staff
        put(store, fields(2, session=session, level=2)),  # refused: still the session's staff
        put(store, fields(3, level=1)),  # window-level at 07: s1 on duty
        put(store, fields(4, device="w08-a", staff_id="0043", level=2)),  # names staff no.
        put(store, fields(5, device="w08-a", level=4)),  # nobody on duty: the window's unit
        put(store, fields(6, device="w09-a", staff_id="ghost")),  # unknown staff, bare window
    ]
    gate.set()
    assert [r for r, _ in wait(*boxes)] == [STORED] * 6
    assert store.largest_batch >= 6
    sql = "SELECT seq, binding, staff_id, unit_id, item_code, window FROM ratings ORDER BY seq"
    inserted = rows(store, sql)
    assert inserted == [
        (1, "session", "s1", "u1", "A001", "07"),
        (2, "refused", "s1", "u1", "A001", "07"),
        (3, "window", "s1", "u1", None, "07"),
        (4, "window", "s2", "u2", None, "08"),  # s2 has no unit: the window's
        (5, "window", None, "u2", None, "08"),
        (6, "window", None, None, None, "09"),
    ]
    rollup = rows(store, ROLLUP)
    # the generic path (attribute after the insert) agrees, row by row
    ids = [r[0] for r in rows(store, "SELECT id FROM ratings ORDER BY seq")]
    store.run(lambda db: [attribution.attribute(db, i) for i in ids])
    assert rows(store, sql) == inserted
    assert rows(store, ROLLUP) == rollup  # attribute's UPDATE changed nothing
    # the daily totals, kept by the triggers, equal the raw rows
    with store.read() as db:
        raw = db.execute(
            "SELECT (received_at + 28800) / 86400, hall, COALESCE(window, ''),"
            " COALESCE(staff_id, ''), COALESCE(unit_id, ''), channel, COUNT(*),"
            " SUM(level >= 4), SUM(level = 3), SUM(level <= 2), 0 FROM ratings"
            " WHERE binding IN ('session', 'window') GROUP BY 1, 2, 3, 4, 5, 6"
            " ORDER BY 1, 2, 3, 4, 5, 6"
        ).fetchall()
    assert rollup == raw
    # 差评 work orders for the counted ones only, assigned 谁办理谁负责
    assert rows(
        store,
        "SELECT r.seq, o.staff_id, o.unit_id, o.window FROM work_orders o"
        " JOIN ratings r ON r.id = o.rating_id ORDER BY r.seq",
    ) == [(1, "s1", "u1", "07"), (3, "s1", "u1", "07"), (4, "s2", "u2", "08")]
    # the bound rating went upstream, one record per case; the others stay home
    assert rows(store, "SELECT kind, key FROM upstream_outbox WHERE kind = 'rating'") == [
        ("rating", "dev:w07-a:1:c1")
    ]


def test_a_duty_change_between_ratings_of_one_batch_is_seen(store):
    gate = hold(store)
    first = put(store, fields(1, level=5))
    store.submit(lambda db: staff.on_duty(db, HALL, "07", "s2", T0))
    second = put(store, fields(2000, level=5))  # pressed after the change
    gate.set()
    wait(first, second)
    assert store.largest_batch >= 3
    assert rows(store, "SELECT seq, staff_id FROM ratings ORDER BY seq") == [(1, "s1"), (2000, "s2")]


def test_an_offline_rating_matched_to_its_session_is_marked(store):
    session = store.run(lambda db: sessions.create(db, CONFIG, HALL, "07", "A001", "户口迁移", "s1", [], T0))[
        "session_id"
    ]
    wait(put(store, fields(30, session=None)))
    assert rows(store, "SELECT session_id, binding, matched_offline, staff_id FROM ratings") == [
        (session, "session", 1, "s1")
    ]
    assert rows(store, "SELECT state FROM sessions") == [("rated",)]


def test_duplicates_and_replays_in_one_plain_batch(store):
    f = fields(7)
    wire = messages.sign(KEY, f)
    gate = hold(store)
    boxes = [
        put(store, f, wire),
        put(store, f, wire),
        put(store, fields(7, level=1)),
    ]  # same seq, other content
    gate.set()
    assert [r for r, _ in wait(*boxes)] == [STORED, DUPLICATE, REPLAYED]
    assert rows(store, "SELECT seq, level FROM ratings") == [(7, 5)]


def test_a_failing_rating_in_a_plain_batch_sinks_only_itself(store):
    gate = hold(store)
    good = [put(store, fields(seq)) for seq in (1, 2)]
    bad = fields(3)
    bad_box = put(store, {**messages.as_dict(bad), "level": 9}, messages.sign(KEY, bad))
    good.append(put(store, fields(4)))
    gate.set()
    results = wait(*good, bad_box)
    assert [r for r, _ in results[:3]] == [STORED] * 3
    assert results[3][0] is None and "CHECK" in str(results[3][1])
    assert rows(store, "SELECT seq FROM ratings ORDER BY seq") == [(1,), (2,), (4,)]
    assert len(rows(store, "SELECT * FROM work_orders")) == 0


@pytest.mark.parametrize("device", ["w01-a", "b000", "X_9-z" * 6 + "ab"])
@pytest.mark.parametrize("result", [STORED, DUPLICATE])
def test_ack_wire_is_the_signed_ack(device, result):
    mac = HostMac()
    for seq in (1, 17, 2**31 - 1):
        key = os.urandom(32)
        wire = ack_wire(key, device, seq, result, T0, mac)
        assert wire == messages.sign(key, [1, "A", device, seq, result, T0], mac)
        assert messages.decode(wire, [key], device, messages.MAX_HOST_MESSAGE)[3:5] == [seq, result]
