"""Upstream drain benchmark: a backlog of N records (half service records,
half ratings) drained by hostd's Sender to the reference platform, against
raw signed HTTP POSTs of the same batches to the same platform, same run.

  - the backlog is seeded in bulk: sessions, session_cases, device ratings
    and their outbox rows (bodies from hostd.upstream.records), as the hall
    would hold them after days offline; `sync_backlog_db_mb` is hostd.db
    (checkpointed) while it waits;
  - the reference platform runs in its own process (python -m
    hostd.upstream_ref) on loopback with its own SQLite; it checks every
    record (service before rating, repeats, codes) and commits each batch;
  - drain: Sender.drain with the JSON/HMAC adapter; each batch = one commit
    marking it sent, one POST, one commit of the answers (WAL,
    synchronous=FULL); services confirm first, then their ratings;
  - baseline: the same record bodies, same batch size and order, POSTed
    signed over one keep-alive connection to a fresh platform database, no
    local bookkeeping.
records/s = records / wall time of the drain.

Usage: python -m bench.sync [records] [batch_size]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from bench.common import figure, free_port, stop
from hostd.store import open_database
from hostd.sync_commands import cli_writer
from hostd.upstream import adapters, records
from hostd.upstream.outbox import service_key
from hostd.upstream.sender import Backoff, Sender

SECRET = b"bench-secret"
DEPT, AREA = "11330100MB0000001X", "330100000000"
T0 = 1795219200
_DUMP = dict(ensure_ascii=False, separators=(",", ":"))


def seed(db, sessions, chunk=20000):
    """Bulk-insert `sessions` rated sessions and their 2 outbox rows each."""
    conn = db.conn
    with conn:
        conn.execute("INSERT OR IGNORE INTO units (unit_id, name, dept_code, area_code)"
                     " VALUES ('u1', '市场监管窗口', ?, ?)", (DEPT, AREA))
    unit = {"dept_code": DEPT, "area_code": AREA}
    for lo in range(0, sessions, chunk):
        hi = min(sessions, lo + chunk)
        s_rows, c_rows, r_rows, o_rows = [], [], [], []
        for i in range(lo, hi):
            sid, case, at = "s-%d" % i, "C%09d" % i, T0 + i
            session = {"session_id": sid, "item_code": "330100-001", "item_name": "食品经营许可",
                       "staff_name": "张三", "created_at": at, "rate_until": at + 432000}
            level = 5 - i % 3
            rating = {"channel": "device", "device_id": "d1", "seq": i + 1, "level": level,
                      "reasons": "[]", "received_at": at + 60, "device_time": at + 60,
                      "clock_synced": 1}
            s_rows.append((sid, at, at + 120, at + 432000, i + 1))
            c_rows.append((sid, case))
            r_rows.append((i + 1, sid, level, at + 60, at + 60))
            skey, rkey = service_key(case, 1), "dev:d1:%d:%s" % (i + 1, case)
            o_rows.append(("service", skey, sid, None, 0, json.dumps(
                records.service_record(skey, session, case, 1, unit), **_DUMP), at))
            o_rows.append(("rating", rkey, str(i + 1), skey, 1, json.dumps(
                records.rating_record(rkey, rating, session, case, 1, unit), **_DUMP), at))
        with conn:
            conn.executemany(
                "INSERT INTO sessions (session_id, hall, window, device_id, item_code, item_name,"
                " staff_id, staff_name, staff_no, unit_id, cases, created_at, screen_until, rate_until,"
                " state, rating_id) VALUES (?, 'h1', 'w01', 'd1', '330100-001', '食品经营许可', 'st1',"
                " '张三', '0042', 'u1', 1, ?, ?, ?, 'rated', ?)", s_rows)
            conn.executemany("INSERT INTO session_cases (session_id, case_id) VALUES (?, ?)", c_rows)
            conn.executemany(
                "INSERT INTO ratings (id, channel, device_id, seq, hall, window, session_id, binding,"
                " level, device_time, clock_synced, received_at, wire)"
                " VALUES (?1, 'device', 'd1', ?1, 'h1', 'w01', ?2, 'session', ?3, ?4, 1, ?5, x'00')",
                r_rows)
            conn.executemany(
                "INSERT INTO upstream_outbox (target, kind, key, ref, depends_on, blocked, body,"
                " created_at) VALUES ('province', ?, ?, ?, ?, ?, ?, ?)", o_rows)


def db_bytes(path):
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))


def start_ref(workdir, name):
    port = free_port()
    secret_file = os.path.join(workdir, "secret")
    with open(secret_file, "wb") as f:
        f.write(SECRET)
    proc = subprocess.Popen([sys.executable, "-m", "hostd.upstream_ref", "--port", str(port),
                             "--db", os.path.join(workdir, name), "--secret-file", secret_file],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if "listening" not in line:
        stop(proc)
        raise RuntimeError("reference platform did not start: %r" % line)
    return proc, "http://127.0.0.1:%d" % port


def ref_stats(url):
    link = adapters.HttpLink(url)
    status, data = link.request("GET", "/stats")
    link.close()
    return json.loads(data)


def drain(path, url, batch_size):
    db = open_database(path)
    write, read = cli_writer(db)
    sender = Sender(adapters.JsonHmacAdapter(url, SECRET, 60), write, read, batch_size=batch_size,
                    backoff=Backoff(0.1, 1.0))
    started = time.monotonic()
    total = sender.drain(give_up_on_error=False)
    seconds = time.monotonic() - started
    left = db.conn.execute("SELECT COUNT(*) FROM upstream_outbox WHERE status != 'confirmed'").fetchone()[0]
    db.conn.close()
    return total, seconds, left


def raw_posts(path, url, batch_size):
    """The same bodies, same batches and order (services, then ratings), POSTed signed."""
    db = open_database(path)
    bodies = {kind: [json.loads(b) for (b,) in db.conn.execute(
        "SELECT body FROM upstream_outbox WHERE kind = ? ORDER BY id", (kind,))]
        for kind in ("service", "rating")}
    db.conn.close()
    adapter = adapters.JsonHmacAdapter(url, SECRET, 60)
    started = time.monotonic()
    ok = 0
    for kind in ("service", "rating"):
        items = bodies[kind]
        for lo in range(0, len(items), batch_size):
            answers = adapter.send(items[lo:lo + batch_size])
            ok += sum(1 for a in answers.values() if a[0])
    seconds = time.monotonic() - started
    adapter.close()
    return ok, seconds


def run(records=1_000_000, batch_size=1000):
    workdir = tempfile.mkdtemp(prefix="bench-sync-")
    try:
        return _run(workdir, records // 2, batch_size)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _run(workdir, sessions, batch_size):
    path = os.path.join(workdir, "hostd.db")
    db = open_database(path)
    started = time.monotonic()
    seed(db, sessions)
    seed_s = time.monotonic() - started
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    waiting = db_bytes(path)
    outbox_rows = db.conn.execute("SELECT COUNT(*) FROM upstream_outbox").fetchone()[0]
    db.conn.close()
    raw = {"records": 2 * sessions, "outbox_rows": outbox_rows, "batch_size": batch_size,
           "seed_s": seed_s, "db_bytes_waiting": waiting}
    proc, url = start_ref(workdir, "ref-drain.db")
    try:
        total, seconds, left = drain(path, url, batch_size)
        raw.update(drain_s=seconds, confirmed=total["confirmed"], batches=total["batches"],
                   left=left, ref=ref_stats(url))
    finally:
        stop(proc)
    proc, url = start_ref(workdir, "ref-raw.db")
    try:
        ok, raw_s = raw_posts(path, url, batch_size)
        raw.update(raw_ok=ok, raw_s=raw_s)
    finally:
        stop(proc)
    raw["db_bytes_after"] = db_bytes(path)
    return raw


def figures(raw):
    n = raw["records"]
    return {
        "sync_drain_per_s": figure(
            round(n / raw["drain_s"]), "records/s",
            "a %d-record backlog (service records + ratings) drained by hostd's Sender to the"
            " reference platform (own process, loopback HTTP, HMAC-signed JSON, %d per batch,"
            " 2 local commits per batch); %d confirmed, %d left"
            % (n, raw["batch_size"], raw["confirmed"], raw["left"]),
            baseline="sync_raw_post_per_s", target=5000),
        "sync_raw_post_per_s": figure(
            round(raw["raw_ok"] / raw["raw_s"]), "records/s",
            "baseline: the same bodies and batches POSTed signed to a fresh reference platform,"
            " no local bookkeeping"),
        "sync_backlog_db_mb": figure(
            round(raw["db_bytes_waiting"] / 1e6, 1), "MB",
            "hostd.db (checkpointed) holding the %d sessions, ratings and %d outbox rows"
            " while the platform is away" % (n // 2, raw["outbox_rows"])),
        "sync_backlog_bytes_per_record": figure(
            round(raw["db_bytes_waiting"] / n), "B",
            "hostd.db size per queued upstream record (incl. its session and rating rows)"),
    }


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    result = run(*args)
    print(json.dumps(figures(result), ensure_ascii=False, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k != "ref"}, indent=1))
