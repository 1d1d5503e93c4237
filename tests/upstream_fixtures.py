"""Seed a hostd database with sessions and ratings for the upstream tests,
the way the daemon records them (rows + hostd.recording.pipeline in one transaction),
and run the reference platform. Used by tests/test_upstream_*.py and bench/sync.py."""

import contextlib

from hostd.base.config import defaults
from hostd.db.store import open_database
from hostd.recording import pipeline
from hostd.sync import adapters, codetable, wire
from hostd.sync.sender import Backoff, Sender
from hostd.upstream import outbox

DEPT = "11330100MB0000001X"  # 18-char 统一社会信用代码
AREA = "330100000000"  # 12-digit 区划
T0 = 1795219200  # 2026-11-21 08:00 Beijing (00:00 UTC)


def writer(db):
    """(write, read) for a Sender on a plain database: own transaction per write."""

    def write(op):
        with db.conn:
            db.conn.execute("BEGIN IMMEDIATE") if not db.conn.in_transaction else None
            return op(db)

    @contextlib.contextmanager
    def read():
        yield db

    return write, read


EPOINT_TABLE = codetable.shipped("epoint-example.toml")


def upstream_config(url, adapter="json", **settings):
    """hostd.toml's [upstream] with its defaults, for `url`."""
    up = dict(defaults()["upstream"], url=url, adapter=adapter, **settings)
    if adapter == "epoint" and not up["code_table"]:
        up["code_table"] = EPOINT_TABLE
    return up


def make_sender(db, url, adapter="json", secret=b"", batch_size=200, backoff=None, **settings):
    """A province Sender as hostd/sync/service.build makes one, on a plain database."""
    up = upstream_config(url, adapter, **settings)
    table = codetable.for_config(up)
    write, read = writer(db)
    return Sender(
        adapters.make_adapter(up, secret, table),
        write,
        read,
        batch_size=batch_size,
        backoff=backoff or Backoff(0.005, 0.05),
        translate=wire.Translator(table, up).to_wire,
        service_records=up["service_records"],
        service_wait_s=up["service_wait_hours"] * 3600,
    )


def open_db(path):
    db = open_database(str(path))
    with db.conn:
        db.conn.execute(
            "INSERT OR IGNORE INTO units (unit_id, name, dept_code, area_code)"
            " VALUES ('u1', '市场监管窗口', ?, ?)",
            (DEPT, AREA),
        )
        db.conn.execute("INSERT OR IGNORE INTO units (unit_id, name) VALUES ('u0', '无编码单位')")
    return db


def add_session(db, sid, cases=("C1",), visit=1, unit="u1", item_code="330100-001", at=T0):
    db.conn.execute(
        "INSERT INTO sessions (session_id, hall, window, device_id, item_code, item_name,"
        " staff_id, staff_name, staff_no, unit_id, cases, created_at, screen_until, rate_until)"
        " VALUES (?, 'h1', 'w01', 'd1', ?, '食品经营许可', 'st1', '张三', '0042', ?, ?, ?, ?, ?)",
        (sid, item_code, unit, len(cases), at, at + 120, at + 5 * 86400),
    )
    db.conn.executemany(
        "INSERT INTO session_cases (session_id, case_id, visit) VALUES (?, ?, ?)",
        [(sid, case, visit) for case in cases],
    )
    outbox.enqueue_session(db, sid)  # as hostd/rules/sessions.py does


def add_rating(
    db,
    sid,
    level=5,
    reasons="[]",
    channel="device",
    device="d1",
    seq=None,
    binding="session",
    comment=None,
    consent=0,
    name=None,
    mobile=None,
    at=T0 + 60,
):
    wire = b"signed" if channel == "device" else None
    rating_id = db.conn.execute(
        "INSERT INTO ratings (channel, device_id, seq, hall, window, session_id, binding, level,"
        " reasons, cases, staff, device_time, clock_synced, received_at, wire, comment,"
        " evaluator_name, evaluator_mobile, evaluator_consent)"
        " VALUES (?, ?, ?, 'h1', 'w01', ?, ?, ?, ?, 1, '0042', ?, 1, ?, ?, ?, ?, ?, ?)",
        (
            channel,
            device if channel == "device" else None,
            seq if channel == "device" else None,
            sid,
            binding,
            level,
            reasons,
            at,
            at,
            wire,
            comment,
            name,
            mobile,
            consent,
        ),
    ).lastrowid
    if binding == "session" and sid:
        db.conn.execute(
            "UPDATE sessions SET state = 'rated', rating_id = ? WHERE session_id = ?", (rating_id, sid)
        )
    pipeline.rating_recorded(db, rating_id)
    return rating_id


def seed(db, count, start=0, level_of=lambda i: 5 - i % 3, per_commit=5000):
    """`count` sessions of one case each, each rated once on device d1."""
    for lo in range(start, start + count, per_commit):
        with db.conn:
            for i in range(lo, min(start + count, lo + per_commit)):
                sid = "s-%d" % i
                add_session(db, sid, cases=("C%07d" % i,))
                level = level_of(i)
                add_rating(db, sid, level=level, reasons="[1]" if level <= 2 else "[]", seq=i + 1)


def outbox_counts(db, target="province"):
    return dict(
        db.conn.execute(
            "SELECT status, COUNT(*) FROM upstream_outbox WHERE target = ? GROUP BY status", (target,)
        ).fetchall()
    )
