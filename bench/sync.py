"""Upstream drain benchmark: a backlog of N records (half service records,
half ratings) drained by hostd's Sender to the reference platform, against
raw signed HTTP POSTs of the same batches to the same platform, same run.

  - the backlog is seeded in bulk, in SQL (bench.common.bulk_load: the
    migrated schema with its indexes kept as rows go in; its triggers dropped
    and made again around the inserts, the daily rollups they keep filled by
    GROUP BY and checked against the rows): sessions, session_cases,
    device ratings and their outbox rows, as the hall would hold them after
    days offline. Each body is hostd.upstream.records' own output for a
    template row with the row's case, key, level and times put in; a sample
    is checked against the records built row by row. `sync_backlog_db_mb` is
    hostd.db (checkpointed) while it waits;
  - the reference platform runs in its own process (python -m
    peers.upstream_ref) on loopback with its own SQLite; it checks every
    record (service before rating, repeats, codes) and commits each batch;
  - drain: Sender.drain with the JSON/HMAC adapter; each batch = one commit
    marking it sent, one POST, one commit of the answers (WAL,
    synchronous=FULL); services confirm first, then their ratings;
  - baseline: the same record bodies (the stored JSON text the Sender sends),
    same batch size and order, POSTed signed over one keep-alive connection to
    a fresh platform database, no local bookkeeping; its time is the sum of
    the POSTs (reading the next batch from hostd.db is not counted).
records/s = records / wall time of the drain.

Usage: python -m bench.sync [records] [batch_size] [epoint_records] [concurrency]
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from bench.common import Progress, check_rollups, figure, fill_rollups, free_port, seed_database, stop
from bench.sync_raw import SECRET, raw_posts, raw_single_posts, upstream
from hostd.cli.sync import cli_writer
from hostd.db.store import open_database
from hostd.sync import adapters, codetable, wire
from hostd.sync.http_link import HttpLink
from hostd.sync.sender import Backoff, Sender
from hostd.upstream import records

DEPT, AREA = "11330100MB0000001X", "330100000000"
T0 = 1795219200
_DUMP = dict(ensure_ascii=False, separators=(",", ":"))


ITEM_CODE, ITEM_NAME, STAFF_NAME = "330100-001", "食品经营许可", "张三"
# Placeholders in the record templates; the three times are distinct so each
# formats to a text that appears once in a body.
_CASE, _AT, _UNTIL, _ASSESSED = "@CASE@", 946684801, 946684802, 946684803
TABLES = ("units", "sessions", "session_cases", "ratings", "upstream_outbox", "stats_daily", "sessions_daily")


def _parts(i, at, until, assessed):
    """Session, rating and case of backlog entry `i` (0-based), as the product sees them."""
    session = {
        "session_id": "s-%d" % i,
        "item_code": ITEM_CODE,
        "item_name": ITEM_NAME,
        "staff_name": STAFF_NAME,
        "created_at": at,
        "rate_until": until,
    }
    rating = {
        "channel": "device",
        "device_id": "d1",
        "seq": i + 1,
        "level": 5 - i % 3,
        "reasons": "[]",
        "received_at": assessed,
        "device_time": assessed,
        "clock_synced": 1,
    }
    return session, rating


def expected_bodies(i):
    """The two outbox bodies of entry `i`, built row by row by hostd.upstream.records."""
    at = T0 + i
    session, rating = _parts(i, at, at + 432000, at + 60)
    case = "C%09d" % i
    unit = {"dept_code": DEPT, "area_code": AREA}
    return (
        json.dumps(records.service_record(session, case, 1, unit), **_DUMP),
        json.dumps(records.rating_record(rating, session, case, 1, unit), **_DUMP),
    )


def _templates():
    """hostd.upstream.records' bodies with placeholders: one service, one rating per level."""
    unit = {"dept_code": DEPT, "area_code": AREA}
    session, row = _parts(0, _AT, _UNTIL, _ASSESSED)
    service = json.dumps(records.service_record(session, _CASE, 1, unit), **_DUMP)
    rating = {}
    for level in (5, 4, 3):
        row["level"] = level
        rating[level] = json.dumps(records.rating_record(row, session, _CASE, 1, unit), **_DUMP)
    for text in [service] + list(rating.values()):
        for mark in (_CASE,) + tuple(records.format_time(t) for t in (_AT, _UNTIL, _ASSESSED)):
            if text.count(mark) > 1:
                raise RuntimeError("bench: placeholder %r is not unique in %s" % (mark, text))
    return service, rating


def _filled(template, at_sql):
    """SQL that fills a template's placeholders for the row of g (i, cs, at)."""
    text = "replace(%s, '%s', cs)" % (template, _CASE)
    for sentinel, offset in ((_AT, 0), (_UNTIL, 432000), (_ASSESSED, 60)):
        text = "replace(%s, '%s', strftime('%%Y-%%m-%%d %%H:%%M:%%S', %s + %d + %d, 'unixepoch'))" % (
            text,
            records.format_time(sentinel),
            at_sql,
            offset,
            records.CHINA,
        )
    return text


def seed(conn, sessions, progress=None, chunk=100_000):
    """Bulk-insert `sessions` rated sessions and their 2 outbox rows each into
    `conn` (a bench.common.bulk_load connection), in SQL: the bodies are
    hostd.upstream.records' own output with each row's case, key and times put in."""
    conn.execute(
        "INSERT OR IGNORE INTO units (unit_id, name, dept_code, area_code)"
        " VALUES ('u1', '市场监管窗口', ?, ?)",
        (DEPT, AREA),
    )
    service, rating = _templates()
    for lo in range(0, sessions, chunk):
        hi = min(sessions, lo + chunk) - 1
        conn.execute(
            """CREATE TEMP TABLE g AS
            WITH RECURSIVE n(i) AS (SELECT :lo UNION ALL SELECT i + 1 FROM n WHERE i < :hi)
            SELECT i, :t0 + i AS at, printf('C%09d', i) AS cs, 5 - i % 3 AS level FROM n""",
            {"lo": lo, "hi": hi, "t0": T0},
        )
        conn.execute(
            """INSERT INTO sessions (session_id, hall, window, device_id, item_code,
            item_name, staff_id, staff_name, staff_no, unit_id, cases, created_at, screen_until,
            rate_until, state, rating_id)
            SELECT 's-' || i, 'h1', 'w01', 'd1', :code, :name, 'st1', :staff, '0042', 'u1', 1,
                   at, at + 120, at + 432000, 'rated', i + 1 FROM g""",
            {"code": ITEM_CODE, "name": ITEM_NAME, "staff": STAFF_NAME},
        )
        conn.execute("INSERT INTO session_cases (session_id, case_id) SELECT 's-' || i, cs FROM g")
        conn.execute("""INSERT INTO ratings (id, channel, device_id, seq, hall, window, session_id,
            binding, level, device_time, clock_synced, received_at, wire)
            SELECT i + 1, 'device', 'd1', i + 1, 'h1', 'w01', 's-' || i, 'session', level,
                   at + 60, 1, at + 60, x'00' FROM g""")
        conn.execute(
            """INSERT INTO upstream_outbox (id, target, kind, key, ref, depends_on, blocked,
            body, created_at, identity)
            SELECT 2 * i + 1, 'province', 'service', skey, 's-' || i, NULL, 0, %s, at,
                   'service|' || cs || '|1'
            FROM (SELECT g.*, 'svc:' || cs || ':1' AS skey FROM g)"""
            % _filled(":service", "at"),
            {"service": service},
        )
        conn.execute(
            """INSERT INTO upstream_outbox (id, target, kind, key, ref, depends_on, blocked,
            body, created_at, identity)
            SELECT 2 * i + 2, 'province', 'rating', skey, CAST(i + 1 AS TEXT), 'svc:' || cs || ':1',
                   1, %s, at, 'assess|' || cs || '|1|1'
            FROM (SELECT g.*, 'dev:d1:' || (i + 1) || ':' || cs AS skey FROM g)"""
            % _filled("CASE level WHEN 5 THEN :r5 WHEN 4 THEN :r4 ELSE :r3 END", "at"),
            {"r5": rating[5], "r4": rating[4], "r3": rating[3]},
        )
        conn.execute("DROP TABLE g")
        if progress is not None:
            progress.say(
                "seeded %s of %s backlog records" % ("{:,}".format(2 * (hi + 1)), "{:,}".format(2 * sessions))
            )
    fill_rollups(conn)


def check_bodies(conn, sessions, samples=200):
    """Compare `samples` seeded bodies (first, last, spread between) with the ones
    hostd.upstream.records builds row by row. Raises on any difference."""
    picks = sorted({0, sessions - 1} | {sessions * k // samples for k in range(samples)})
    for i in picks:
        got = tuple(
            b
            for (b,) in conn.execute(
                "SELECT body FROM upstream_outbox WHERE id IN (?, ?) ORDER BY id", (2 * i + 1, 2 * i + 2)
            )
        )
        if got != expected_bodies(i):
            raise RuntimeError("bench: seeded upstream body %d differs from hostd.upstream.records'" % i)
    return len(picks)


def db_bytes(path):
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))


def start_ref(workdir, name):
    port = free_port()
    secret_file = os.path.join(workdir, "secret")
    with open(secret_file, "wb") as f:
        f.write(SECRET)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "peers.upstream_ref",
            "--port",
            str(port),
            "--db",
            os.path.join(workdir, name),
            "--secret-file",
            secret_file,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    if "listening" not in line:
        stop(proc)
        raise RuntimeError("reference platform did not start: %r" % line)
    return proc, "http://127.0.0.1:%d" % port


def ref_stats(url):
    link = HttpLink(url)
    status, data = link.request("GET", "/stats")
    link.close()
    return json.loads(data)


def drain(path, url, batch_size, adapter="json", progress=None):
    db = open_database(path)
    done = [0]

    def batch_done(counts):
        done[0] += counts["confirmed"]
        if progress is not None:
            progress.tick(lambda: "drain (%s): %s confirmed" % (adapter, "{:,}".format(done[0])))

    up = upstream(url, adapter)
    table = codetable.for_config(up)
    write, read = cli_writer(db)
    sender = Sender(
        adapters.make_adapter(up, SECRET, table),
        write,
        read,
        batch_size=batch_size,
        backoff=Backoff(0.1, 1.0),
        translate=wire.Translator(table, up).to_wire,
    )
    started = time.monotonic()
    total = sender.drain(progress=batch_done, give_up_on_error=False)
    seconds = time.monotonic() - started
    sender.adapter.close()
    left = db.conn.execute("SELECT COUNT(*) FROM upstream_outbox WHERE status != 'confirmed'").fetchone()[0]
    db.conn.close()
    return total, seconds, left


def run(records=1_000_000, batch_size=1000, epoint_records=40_000, concurrency=4):
    workdir = tempfile.mkdtemp(prefix="bench-sync-")
    try:
        return _run(workdir, records // 2, batch_size, epoint_records // 2, concurrency)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _seeded(workdir, name, sessions, progress):
    path = os.path.join(workdir, name)
    db, seed_s = seed_database(path, TABLES, progress, lambda conn, progress: seed(conn, sessions, progress))
    checked = check_bodies(db.conn, sessions)
    check_rollups(db.conn)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    progress.say("seeded in %.0f s; %d sampled bodies equal hostd.upstream.records' own" % (seed_s, checked))
    outbox_rows = db.conn.execute("SELECT COUNT(*) FROM upstream_outbox").fetchone()[0]
    db.conn.close()
    return path, seed_s, checked, outbox_rows


def _run(workdir, sessions, batch_size, epoint_sessions, concurrency):
    progress = Progress("sync")
    path, seed_s, checked, outbox_rows = _seeded(workdir, "hostd.db", sessions, progress)
    raw = {
        "records": 2 * sessions,
        "outbox_rows": outbox_rows,
        "batch_size": batch_size,
        "seed_s": seed_s,
        "bodies_checked": checked,
        "db_bytes_waiting": db_bytes(path),
    }
    proc, url = start_ref(workdir, "ref-raw.db")
    try:  # the baseline first: it reads the records while they are all still waiting
        ok, raw_s = raw_posts(path, url, batch_size, progress)
        raw.update(raw_ok=ok, raw_s=raw_s)
    finally:
        stop(proc)
    proc, url = start_ref(workdir, "ref-drain.db")
    try:
        total, seconds, left = drain(path, url, batch_size, "json", progress)
        raw.update(drain_s=seconds, confirmed=total["confirmed"], batches=total["batches"], left=left)
        raw["ref"] = ref_stats(url)
    finally:
        stop(proc)
    raw["db_bytes_after"] = db_bytes(path)

    epath = _seeded(workdir, "hostd-epoint.db", epoint_sessions, progress)[0]
    raw.update(epoint_records=2 * epoint_sessions, concurrency=concurrency)
    proc, url = start_ref(workdir, "ref-epoint-raw.db")
    try:
        ok, raw_s = raw_single_posts(epath, url, concurrency, progress)
        raw.update(epoint_raw_ok=ok, epoint_raw_s=raw_s)
    finally:
        stop(proc)
    proc, url = start_ref(workdir, "ref-epoint.db")
    try:
        total, seconds, left = drain(epath, url, batch_size, "epoint", progress)
        raw.update(epoint_drain_s=seconds, epoint_confirmed=total["confirmed"], epoint_left=left)
        raw["epoint_ref"] = ref_stats(url)
    finally:
        stop(proc)
    return raw


def figures(raw):
    n = raw["records"]
    return {
        "sync_drain_per_s": figure(
            round(n / raw["drain_s"]),
            "records/s",
            "a %d-record backlog (service records + ratings) drained by hostd's Sender to the"
            " reference platform (own process, loopback HTTP, HMAC-signed JSON, %d per batch,"
            " 2 local commits per batch); %d confirmed, %d left"
            % (n, raw["batch_size"], raw["confirmed"], raw["left"]),
            baseline="sync_raw_post_per_s",
            target=5000,
        ),
        "sync_raw_post_per_s": figure(
            round(raw["raw_ok"] / raw["raw_s"]),
            "records/s",
            "baseline: the same records, translated beforehand, and batches POSTed signed to a fresh"
            " reference platform, no local bookkeeping; time of the POSTs",
        ),
        "sync_epoint_drain_per_s": figure(
            round(raw["epoint_records"] / raw["epoint_drain_s"]),
            "records/s",
            "a %d-record backlog drained by hostd's Sender through the epoint adapter: one record per"
            " POST, %d in flight on keep-alive connections; %d confirmed, %d left"
            % (raw["epoint_records"], raw["concurrency"], raw["epoint_confirmed"], raw["epoint_left"]),
            baseline="sync_epoint_raw_post_per_s",
            target="vs baseline >= 0.5",
        ),
        "sync_epoint_raw_post_per_s": figure(
            round(raw["epoint_raw_ok"] / raw["epoint_raw_s"]),
            "records/s",
            'baseline: the same records as raw one-record {"params"} POSTs, %d threads on keep-alive'
            " connections, to a fresh reference platform, no local bookkeeping" % raw["concurrency"],
        ),
        "sync_backlog_db_mb": figure(
            round(raw["db_bytes_waiting"] / 1e6, 1),
            "MB",
            "hostd.db (checkpointed) holding the %d sessions, ratings and %d outbox rows"
            " while the platform is away" % (n // 2, raw["outbox_rows"]),
        ),
        "sync_backlog_bytes_per_record": figure(
            round(raw["db_bytes_waiting"] / n),
            "B",
            "hostd.db size per queued upstream record (incl. its session and rating rows)",
        ),
    }


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    result = run(*args)
    print(json.dumps(figures(result), ensure_ascii=False, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k != "ref"}, indent=1))
